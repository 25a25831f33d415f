// The README's main job's fallback (scripts/demo.sh uses it when no container engine can run):
// build an app dir (argv[2], default examples/flask-app) with this buildpack through the REAL CNB
// lifecycle (analyzer, detector, restorer, builder, exporter, on host directories, as the test
// harness does), then start its default `web` process with the lifecycle's launcher and serve it
// on localhost. This machine reaches no python.org/GitHub, so the CPython archive comes from the
// loopback mirror (BP_PYTHON_MANIFEST) and the packages from the loopback index filled from PyPI
// by test/setup/fill-index.sh — the same parts the tests use.
//
// Run through scripts/demo.sh (it installs what is needed first). Env: PORT (default 8080),
// DEMO_EXIT_AFTER_CHECK=1 to stop after the first successful request (used by CI smoke runs).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { BUILD_UID, CNB_GID, PLATFORM_API, REPO_ROOT, createScenario, lifecycleDir, runBuild } from '../test/helpers/lifecycle';
import { startMirror } from '../test/helpers/mirror';
import { useLoopbackSources } from '../test/helpers/sources';
import { startPackageIndex } from '../test/helpers/package-index';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT || 8080);
  const [mirror, index] = await Promise.all([startMirror(), startPackageIndex()]);
  const app = path.resolve(process.argv[2] ?? path.join(REPO_ROOT, 'examples', 'flask-app'));
  const s = createScenario(app);
  await useLoopbackSources(s, { mirror, index });

  console.log(`Building ${path.relative(process.cwd(), app) || app} with the buildpack (real lifecycle; workspace ${s.root})`);
  const build = await runBuild(s);
  process.stdout.write(build.log);
  if (!build.success) {
    console.error(`\nThe build failed in the ${build.failedPhase} phase.`);
    process.exit(1);
  }
  await Promise.all([mirror.close(), index.close()]);

  // The launcher reads <layers>/config/metadata.toml (written by the builder) and execs the
  // process with the layers' env, exactly as /cnb/process/web does in the exported image.
  // The launcher picks the process type from the name it is called by, like /cnb/process/web.
  const web = path.join(s.root, 'process', 'web');
  fs.mkdirSync(path.dirname(web), { recursive: true });
  fs.symlinkSync(path.join(lifecycleDir(), 'launcher'), web);
  const launcher = spawn('setpriv', [`--reuid=${BUILD_UID}`, `--regid=${CNB_GID}`, '--init-groups', '--', web], {
    cwd: s.appDir,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', CNB_LAYERS_DIR: s.layersDir, CNB_APP_DIR: s.appDir, CNB_PLATFORM_API: PLATFORM_API, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const stop = () => launcher.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  launcher.on('exit', (code) => process.exit(code ?? 0));

  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await get(url);
      console.log(`\nServing ${path.relative(process.cwd(), app) || app} at ${url} (HTTP ${r.status}: ${r.body.trim()})\nPress Ctrl-C to stop.`);
      if (process.env.DEMO_EXIT_AFTER_CHECK === '1') stop();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  console.error(`The app did not answer on ${url}`);
  stop();
  process.exit(1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
