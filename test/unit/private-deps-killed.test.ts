// Issue 17, item 5: a build killed with SIGKILL during the dependency install (no exit handler
// runs) must not leave an SSH private key behind for good: the next build's private-deps setup
// removes the directory of any build whose process is gone, and keeps a running build's.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Log } from '../../src/log';
import { preparePrivateDependencies, removeStaleSecretDirs, SECRETS_DIR_PREFIX } from '../../src/private-deps';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'private-deps-killed-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A process that writes a key into its private directory, as the install does, and is then killed -9. */
async function killedBuildDir(): Promise<string> {
  const child = spawn('sh', ['-c', `d="${tmp}/${SECRETS_DIR_PREFIX}$$-abcdef"; mkdir -m 700 "$d" && printf 'PRIVATE KEY' > "$d/key-1" && echo "$d" && exec sleep 60`]);
  const dir = await new Promise<string>((resolve) => child.stdout.once('data', (b: Buffer) => resolve(b.toString().trim())));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return dir;
}

it('the next build removes the private directory a killed build left, and keeps a running build’s', async () => {
  const left = await killedBuildDir();
  expect(fs.readFileSync(path.join(left, 'key-1'), 'utf8')).toBe('PRIVATE KEY'); // SIGKILL ran no cleanup
  const running = path.join(tmp, `${SECRETS_DIR_PREFIX}${process.pid}-running`);
  fs.mkdirSync(running);
  const out: string[] = [];
  const setup = await preparePrivateDependencies({ env: { PATH: process.env.PATH }, bindings: [], platformDir: tmp, log: new Log((t) => out.push(t)), tmpDir: tmp });
  await setup.cleanup();
  expect(fs.existsSync(left)).toBe(false);
  expect(fs.readdirSync(tmp)).toEqual([path.basename(running)]);
  expect(out.join('')).toContain(`Removed the private directory of a build that was killed (${path.basename(left)})`);
  expect(await removeStaleSecretDirs(tmp)).toEqual([]);
});
