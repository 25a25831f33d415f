// `npm run bench [-- --quick] [-- --buildpack-dir DIR] ...`: see bench/README.md.
//
// The harness is TypeScript (bench/bench.ts) because it drives the same helpers as the
// integration tests (test/helpers/lifecycle.ts, mirror.ts, package-index.ts). This launcher
// bundles it with esbuild into bench/runs/bench.cjs (git-ignored) and runs it. The bundle sits two
// levels below the repository root on purpose: the helpers find the repository (fixtures, the
// lifecycle, the run image) as `__dirname/../..`.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const outfile = path.join(here, 'runs', 'bench.cjs');
await build({
  entryPoints: [path.join(here, 'bench.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
});
const r = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
