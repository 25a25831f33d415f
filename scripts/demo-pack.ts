// The README's main job, as users run the buildpack: `pack build` of an app directory (default
// examples/flask-app) with the full builder (scripts/setup-pack.sh made it: debootstrapped Debian
// build and run images, the project's lifecycle, this buildpack) through podman, then
// `podman run --network host` of the image, served on http://127.0.0.1:${PORT:-8080}/. This
// machine reaches no python.org/GitHub, so CPython comes from the loopback mirror (mounted
// BP_PYTHON_MANIFEST) and packages from the loopback index, the parts the tests use.
//
// Run through scripts/demo.sh. Args: [APP_DIR]. Env: PORT, DEMO_EXIT_AFTER_CHECK=1 (stop after
// the first HTTP 200).
import * as path from 'node:path';
import { packBuild, packEnv, REPO_ROOT, runWeb, startPackSources } from '../test/pack/support';

async function main(): Promise<void> {
  const port = Number(process.env.PORT || 8080);
  const app = path.resolve(process.argv[2] ?? path.join(REPO_ROOT, 'examples', 'flask-app'));
  const image = `python-cnb-demo/${path.basename(app).toLowerCase().replace(/[^a-z0-9_.-]/g, '-')}`;
  const e = packEnv();
  const sources = await startPackSources();
  console.log(`pack build ${image} --path ${app} --builder ${e.PACK_BUILDER_FULL} (through podman)`);
  const build = await packBuild({ image, app, builder: e.PACK_BUILDER_FULL, trust: true, sources });
  await sources.close();
  process.stdout.write(build.output);
  if (build.status !== 0) {
    console.error(`\npack build failed (exit ${build.status}).`);
    process.exit(1);
  }
  console.log(`\nBuilt ${image} in ${(build.ms / 1000).toFixed(1)} s; podman run --network host -e PORT=${port} ${image}`);
  const web = await runWeb(image, { port });
  console.log(`Serving ${path.relative(process.cwd(), app) || app} at http://127.0.0.1:${port}/ (HTTP 200 after ${web.msToFirst200} ms: ${web.body.trim().slice(0, 200)})`);
  if (process.env.DEMO_EXIT_AFTER_CHECK === '1') {
    web.stop();
    return;
  }
  console.log('Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    process.on('SIGINT', resolve);
    process.on('SIGTERM', resolve);
  });
  process.stdout.write(web.stop());
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
