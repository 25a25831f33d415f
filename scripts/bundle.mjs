// Bundles src/main.ts and its dependencies into ONE CommonJS file (build/main.js).
// One file means start-up reads no node_modules tree, and the packaged executable
// (scripts/package.mjs) embeds exactly this file.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
await build({
  entryPoints: ['src/main.ts'],
  outfile: 'build/main.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  define: { __BUILDPACK_BUNDLED__: 'true' },
  logLevel: 'warning',
});
console.log(`bundled build/main.js (${pkg.name} ${pkg.version})`);
