/**
 * Jest globalSetup of the integration project: everything the lifecycle harness
 * (test/helpers/lifecycle.ts) needs, made once per run and idempotently.
 * - the build and run users (test/setup/users.sh; root only),
 * - the real lifecycle (scripts/install-lifecycle.sh) -> env CNB_LIFECYCLE_DIR for the workers,
 * - the run image (test/setup/run-image.sh) -> env CNB_RUN_IMAGE_DIR,
 * - a bundle build/main.js newer than src/ (`npm run build` otherwise), unless TEST_BUILDPACK_DIR
 *   points at another (packaged) buildpack,
 * - that the build user can reach the buildpack and the lifecycle: directories on the way that
 *   others cannot search (a clone under `mktemp -d`, which is 0700) get o+x, nothing more.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const BUILD_UID = 1001;
const CNB_GID = 1000;
const IS_ROOT = process.getuid?.() === 0;

function run(command: string, args: string[], what: string): string {
  const r = spawnSync(command, args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) {
    throw new Error(`${what} failed (${command} ${args.join(' ')}, exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

function ensureBundle(): void {
  const bundle = path.join(REPO_ROOT, 'build', 'main.js');
  const inputs = Math.max(
    newestMtime(path.join(REPO_ROOT, 'src')),
    fs.statSync(path.join(REPO_ROOT, 'package.json')).mtimeMs,
  );
  if (fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs >= inputs) return;
  process.stderr.write('globalSetup: build/main.js is missing or older than src/: npm run build\n');
  try {
    run('npm', ['run', 'build'], 'npm run build');
  } catch (err) {
    // Typechecking is `npm test`'s own gate (it runs `npm run build` before jest); here the tests
    // need a bundle of the current sources, so a type error alone does not stop them.
    process.stderr.write(`globalSetup: WARNING: ${(err as Error).message}\nglobalSetup: bundling without the typecheck\n`);
    run('node', ['scripts/bundle.mjs'], 'bundling src/ (node scripts/bundle.mjs)');
  }
}

/** Gives o+x to the directories from / down to `target` that others cannot search. */
function ensureSearchable(target: string): void {
  const parts = path.resolve(target).split(path.sep).filter(Boolean);
  let dir: string = path.sep;
  for (const part of parts) {
    dir = path.join(dir, part);
    const st = fs.statSync(dir);
    if (st.isDirectory() && (st.mode & 0o001) === 0 && st.uid !== BUILD_UID) {
      process.stderr.write(`globalSetup: chmod o+x ${dir} so that the build user (uid ${BUILD_UID}) can reach ${target}\n`);
      fs.chmodSync(dir, (st.mode & 0o7777) | 0o001);
    }
  }
}

/** Checks, as the build user, that it can read/execute what the lifecycle will need. */
function checkAsBuildUser(checks: Array<[string, string]>): void {
  const script = checks.map(([flag, file]) => `test ${flag} '${file.replace(/'/g, "'\\''")}' || { echo "cannot ${flag} ${file}"; exit 1; }`).join('\n');
  const r = spawnSync('setpriv', [`--reuid=${BUILD_UID}`, `--regid=${CNB_GID}`, '--init-groups', '--', 'sh', '-c', script], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new Error(`the build user (uid ${BUILD_UID}) cannot use the buildpack or the lifecycle: ${r.stdout}${r.stderr}`);
  }
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  if (IS_ROOT) run('bash', [path.join(REPO_ROOT, 'test/setup/users.sh')], 'creating the build users');

  const lifecycleBinary = run('bash', [path.join(REPO_ROOT, 'scripts/install-lifecycle.sh')], 'installing the lifecycle')
    .trim()
    .split('\n')
    .pop()!;
  process.env.CNB_LIFECYCLE_DIR = path.dirname(lifecycleBinary);

  const runImage = run('bash', [path.join(REPO_ROOT, 'test/setup/run-image.sh')], 'making the run image').trim().split('\n').pop()!;
  process.env.CNB_RUN_IMAGE_DIR = runImage;

  const buildpackDir = path.resolve(process.env.TEST_BUILDPACK_DIR || REPO_ROOT);
  if (!process.env.TEST_BUILDPACK_DIR) ensureBundle();

  if (IS_ROOT) {
    ensureSearchable(buildpackDir);
    ensureSearchable(process.env.CNB_LIFECYCLE_DIR);
    const checks: Array<[string, string]> = [
      ['-r', path.join(buildpackDir, 'buildpack.toml')],
      ['-x', path.join(buildpackDir, 'bin', 'detect')],
      ['-x', path.join(buildpackDir, 'bin', 'build')],
      ['-x', lifecycleBinary],
    ];
    if (!process.env.TEST_BUILDPACK_DIR) checks.push(['-r', path.join(buildpackDir, 'build', 'main.js')], ['-r', path.join(buildpackDir, 'build', 'build.js')]);
    checkAsBuildUser(checks);
  }
  process.stderr.write(
    `\nglobalSetup: lifecycle ${process.env.CNB_LIFECYCLE_DIR}, run image ${runImage}, buildpack ${buildpackDir} (${Date.now() - started} ms)\n`,
  );
}
