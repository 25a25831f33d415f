// Bundles the buildpack into two CommonJS files, every dependency inside and Node's builtins left
// as require()s (all a single executable application's require can load):
//   main.js   src/entry/main.ts: the entry point and the detect phase (small, so detect compiles little)
//   build.js  src/entry/build-phase.ts: the build phase, loaded by main.js only for bin/build
// One file per phase means start-up reads no node_modules tree. `node scripts/bundle.mjs` writes
// build/ for the repository form (bin/main); scripts/package.mjs calls bundle() for the packaged one.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Writes main.js and build.js into outdir; `minify` for the packaged form. Returns their paths. */
export async function bundle(outdir, { minify = false } = {}) {
  await build({
    absWorkingDir: REPO,
    entryPoints: { main: 'src/entry/main.ts', build: 'src/entry/build-phase.ts' },
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify,
    // Class names appear in messages and stack traces.
    keepNames: minify,
    sourcemap: false,
    legalComments: 'none',
    define: { __BUILDPACK_BUNDLED__: 'true' },
    // @cyclonedx/cyclonedx-library's optional validators and XML writers: it requires them lazily,
    // inside a try, and the buildpack uses neither (it writes JSON and validates nothing at build time).
    external: ['libxmljs2', 'xmlbuilder2', 'ajv', 'ajv-formats', 'ajv-formats-draft2019'],
    logLevel: 'warning',
  });
  return { main: path.join(outdir, 'main.js'), build: path.join(outdir, 'build.js') };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  await bundle(path.join(REPO, 'build'));
  console.log(`bundled build/main.js and build/build.js (${pkg.name} ${pkg.version})`);
}
