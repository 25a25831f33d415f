/**
 * A real OpenSSH server on loopback serving a git repository, for the private dependency tests.
 *
 * startSshGitServer() (root only):
 *   - runs test/setup/ssh-git.sh (idempotent): the account `pygit` (shell git-shell) and the bare
 *     repository /srv/git/private-pkg.git (setuptools package `private-pkg`, tag v1.0.0);
 *   - generates, in a temp dir, a host key and a deploy key pair (ssh-keygen -t ed25519 -N ''),
 *     and a second "wrong" key that the server does not know;
 *   - starts Debian's sshd: `/usr/sbin/sshd -D -e -f <temp sshd_config> -p <free port> -h <host key>`
 *     on 127.0.0.1, public-key only, AuthorizedKeysFile = the temp file holding the deploy key,
 *     StrictModes no, UsePAM no, AllowUsers pygit; waits until it answers (ssh-keyscan).
 *
 * Nothing here touches ~/.ssh or the machine's sshd configuration.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from './lifecycle';
import { freePort } from './registry';

export const GIT_USER = 'pygit';
export const REPO_PATH = '/srv/git/private-pkg.git';

export interface KeyPair {
  /** The private key file (OpenSSH PEM). */
  privateKeyFile: string;
  /** Its text ("-----BEGIN OPENSSH PRIVATE KEY-----..."). */
  privateKey: string;
  publicKey: string;
}

export interface SshGitServer {
  port: number;
  /** The deploy key the server accepts. */
  deployKey: KeyPair;
  /** A valid key the server does not accept. */
  wrongKey: KeyPair;
  /** known_hosts lines for the server (`[127.0.0.1]:<port> ssh-ed25519 AAAA...`). */
  knownHosts: string;
  /** The requirement line for the private package at v1.0.0. */
  requirement: string;
  /** sshd's stderr so far (-e: its log). */
  log(): string;
  close(): Promise<void>;
}

function must(command: string, args: string[], what: string): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${what} failed (${command} ${args.join(' ')}, exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export function generateKey(dir: string, name: string, passphrase = ''): KeyPair {
  const file = path.join(dir, name);
  must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', `${name}@python-cnb-tests`, '-f', file], `ssh-keygen ${name}`);
  return { privateKeyFile: file, privateKey: fs.readFileSync(file, 'utf8'), publicKey: fs.readFileSync(`${file}.pub`, 'utf8').trim() };
}


async function waitForKeyscan(port: number, child: ChildProcess, log: () => string): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}:\n${log()}`);
    const r = spawnSync('ssh-keyscan', ['-T', '2', '-t', 'ed25519', '-p', String(port), '127.0.0.1'], { encoding: 'utf8' });
    const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
    if (lines.length) return `${lines.join('\n')}\n`;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`sshd did not answer on 127.0.0.1:${port} within 15 s:\n${log()}`);
}

export async function startSshGitServer(): Promise<SshGitServer> {
  if (process.getuid?.() !== 0) throw new Error('the SSH git server needs root (sshd, the pygit account)');
  if (!fs.existsSync('/usr/sbin/sshd')) throw new Error('no /usr/sbin/sshd: install openssh-server (scripts/setup.sh does)');
  must('bash', [path.join(REPO_ROOT, 'test', 'setup', 'ssh-git.sh')], 'test/setup/ssh-git.sh');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-sshd-'));
  // sshd reads AuthorizedKeysFile as the user being logged in: pygit must reach it.
  fs.chmodSync(dir, 0o755);
  const hostKey = generateKey(dir, 'host_ed25519');
  const keysDir = fs.mkdtempSync(path.join(dir, 'keys-'));
  const deployKey = generateKey(keysDir, 'deploy_key');
  const wrongKey = generateKey(keysDir, 'wrong_key');
  const authorizedKeys = path.join(dir, 'authorized_keys');
  fs.writeFileSync(authorizedKeys, `${deployKey.publicKey}\n`, { mode: 0o644 });
  fs.chmodSync(authorizedKeys, 0o644);
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      'ListenAddress 127.0.0.1',
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      `AllowUsers ${GIT_USER}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );

  const port = await freePort();
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config, '-p', String(port), '-h', hostKey.privateKeyFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => (stderr += c));
  const log = () => stderr;
  let knownHosts: string;
  try {
    knownHosts = await waitForKeyscan(port, child, log);
  } catch (err) {
    child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    deployKey,
    wrongKey,
    knownHosts,
    requirement: `private-pkg @ git+ssh://${GIT_USER}@127.0.0.1:${port}${REPO_PATH}@v1.0.0`,
    log,
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
