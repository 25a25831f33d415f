// Private dependencies through the real lifecycle, with real parts: a git repository served by
// Debian's OpenSSH server on loopback (test/helpers/ssh-server.ts; the package private-pkg, tag
// v1.0.0, for the account pygit) and a loopback package index that needs basic auth
// (test/helpers/package-index.ts). After every successful build a secret scan
// (test/helpers/secret-scan.ts) proves that no 32-character slice of the private key (its base64
// and its PEM body) and no password is in the layers, the layer TOML, launch.toml, the cache, the
// exported image's layers (gunzipped) or the build log; a planted slice shows the scan can fail.
// The private temporary directory that holds the key is gone after every build, good or bad.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILD_UID, CNB_GID, createScenario, layerPath, readLaunchToml, runBuild, type BuildResult, type Scenario } from '../helpers/lifecycle';
import { startMirror, type Mirror } from '../helpers/mirror';
import { startPackageIndex, type PackageIndex } from '../helpers/package-index';
import { keySecrets, passwordSecrets, pemBody, scanForSecrets, type Secret } from '../helpers/secret-scan';
import { useLoopbackSources } from '../helpers/sources';
import { generateKey, startSshGitServer, type SshGitServer } from '../helpers/ssh-server';

// The build user's os.tmpdir() (the phases get no TMPDIR).
const BUILD_TMP = '/tmp';
const SECRETS_PREFIX = 'python-cnb-secrets-';
const INDEX_USER = 'ci-user';
const INDEX_PASSWORD = 'idx-Pa55-7f3a9c1e2b4d';
const NETRC_USER = 'netrc-user';
const NETRC_PASSWORD = 'netrc-Pa55-5e8b2a7c9d01';

let mirror: Mirror;
let openIndex: PackageIndex;
let authIndex: PackageIndex;
let netrcIndex: PackageIndex;
let sshd: SshGitServer;
beforeAll(async () => {
  [mirror, openIndex, authIndex, netrcIndex, sshd] = await Promise.all([
    startMirror(),
    startPackageIndex(),
    startPackageIndex({ basicAuth: { user: INDEX_USER, password: INDEX_PASSWORD } }),
    startPackageIndex({ basicAuth: { user: NETRC_USER, password: NETRC_PASSWORD } }),
    startSshGitServer(),
  ]);
});
afterAll(async () => {
  await Promise.all([mirror?.close(), openIndex?.close(), authIndex?.close(), netrcIndex?.close(), sshd?.close()]);
});

function venvPython(s: Scenario, code: string) {
  return spawnSync(path.join(layerPath(s, 'site-packages'), 'bin', 'python'), ['-c', code], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
}

function expectSuccess(r: BuildResult): void {
  if (!r.success) throw new Error(`the build failed in ${r.failedPhase}:\n${r.log.slice(-6000)}`);
}

function secretDirs(): string[] {
  return fs.readdirSync(BUILD_TMP).filter((n) => n.startsWith(SECRETS_PREFIX)).sort();
}

/** The private directory the build logged, which must be gone now. */
function expectSecretsDirGone(r: BuildResult, before: string[]): void {
  const logged = [...r.buildLog.matchAll(/private directory (\/\S+)/g)].map((m) => m[1]!.replace(/[).]+$/, ''));
  expect(logged.length).toBeGreaterThan(0);
  for (const dir of logged) {
    expect(path.basename(dir)).toMatch(new RegExp(`^${SECRETS_PREFIX}`));
    expect(fs.existsSync(dir)).toBe(false);
  }
  expect(secretDirs()).toEqual(before);
}

function writeBinding(s: Scenario, name: string, files: Record<string, string>): void {
  const dir = path.join(s.platformDir, 'bindings', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), content, { mode: 0o600 });
  spawnSync('chown', ['-R', `${BUILD_UID}:${CNB_GID}`, path.join(s.platformDir, 'bindings')]);
}

/** Everything the build left under the scenario, except the platform env and bindings (secrets by design). */
async function scan(s: Scenario, r: BuildResult, secrets: Secret[]) {
  return scanForSecrets({
    secrets,
    roots: [s.root],
    exclude: [path.join(s.platformDir, 'env'), path.join(s.platformDir, 'bindings')],
    texts: { 'build log': r.log },
  });
}

async function expectNoSecrets(s: Scenario, r: BuildResult, secrets: Secret[]): Promise<void> {
  const result = await scan(s, r, secrets);
  expect(result.findings).toEqual([]);
  // It did look: the layers (with their TOML and launch.toml), the cache and the image's gzip'd layer blobs.
  expect(fs.existsSync(path.join(s.buildpackLayersDir, 'site-packages.toml'))).toBe(true);
  expect(readLaunchToml(s)).toBeDefined();
  expect(fs.readdirSync(s.cacheDir).length).toBeGreaterThan(0);
  expect(result.gunzipped).toBeGreaterThan(0);
  expect(result.files).toBeGreaterThan(100);
}

describe('git+ssh requirement with CUSTOM_SSH_KEY (private-git)', () => {
  let s: Scenario;
  let keySecretList: Secret[];
  let firstBuild: BuildResult;
  const base64 = (text: string) => Buffer.from(text).toString('base64');

  beforeAll(async () => {
    s = createScenario('private-git');
    await useLoopbackSources(s, { mirror, index: openIndex });
    s.writeAppFile('requirements.txt', `${sshd.requirement}\nsix==1.17.0\n`);
    // The wrong key (another ed25519 key) as the reference: the header all such keys share is not secret.
    keySecretList = keySecrets('deploy key', sshd.deployKey.privateKey, base64(sshd.deployKey.privateKey), sshd.wrongKey.privateKey);
  });

  it('builds with CUSTOM_SSH_KEY (base64 -w0) + CUSTOM_SSH_KEY_HOSTS, trusting the host on first use; the venv imports the private package', async () => {
    const before = secretDirs();
    s.setEnv('CUSTOM_SSH_KEY', base64(sshd.deployKey.privateKey));
    s.setEnv('CUSTOM_SSH_KEY_HOSTS', '127.0.0.1');
    const r = (firstBuild = await runBuild(s));
    expect(r.buildLog).toContain('Installing dependencies with pip');
    expectSuccess(r);
    expect(r.buildLog).toMatch(/SSH key from CUSTOM_SSH_KEY \(ED25519 SHA256:[A-Za-z0-9+/]{43}\) for 127\.0\.0\.1; host keys trusted on first use/);
    // The accepted host key: its fingerprint and how to pin it.
    expect(r.buildLog).toMatch(new RegExp(`SHA256:[A-Za-z0-9+/]{43} \\[127\\.0\\.0\\.1\\]:${sshd.port} \\(ED25519\\)`));
    expect(r.buildLog).toContain('! Warning: SSH host keys were trusted on first use');
    expect(r.buildLog).toContain(`!   ${sshd.knownHosts.trim()}`);
    expect(r.buildLog).toContain('set CUSTOM_SSH_KNOWN_HOSTS to these lines');
    expect(venvPython(s, 'import private_pkg, six; print(private_pkg.GREETING)').stdout.trim()).toBe('hello from the private repository');
    expect(sshd.log()).toMatch(/Accepted publickey for pygit/);
    expectSecretsDirGone(r, before);
    await expectNoSecrets(s, r, keySecretList);
  });

  it('the secret scan can fail: a key slice planted in a layer, or in the log, is found', async () => {
    // From the middle of the key (the private part), not the header every ed25519 key shares.
    const body = pemBody(sshd.deployKey.privateKey);
    const planted = path.join(layerPath(s, 'site-packages'), 'lib', 'planted.txt');
    fs.writeFileSync(planted, `debug dump: ${body.slice(200, 232)}\n`);
    try {
      const result = await scan(s, { ...firstBuild, log: `${firstBuild.log}\nCUSTOM_SSH_KEY=…${base64(sshd.deployKey.privateKey).slice(300, 340)}…` }, keySecretList);
      expect(result.findings).toEqual(
        expect.arrayContaining([
          { where: planted, label: 'deploy key (PEM body)', offset: 12 },
          expect.objectContaining({ where: 'build log', label: 'deploy key (base64 of the key file)' }),
        ]),
      );
    } finally {
      fs.rmSync(planted);
    }
  });

  it('pins the host key with CUSTOM_SSH_KNOWN_HOSTS; wrapped base64 works', async () => {
    const before = secretDirs();
    s.setEnv('CUSTOM_SSH_KEY', base64(sshd.deployKey.privateKey).replace(/(.{76})/g, '$1\n'));
    s.setEnv('CUSTOM_SSH_KNOWN_HOSTS', sshd.knownHosts);
    s.setEnv('BP_PYTHON_FORCE_REINSTALL', 'true');
    const r = await runBuild(s);
    expectSuccess(r);
    expect(r.buildLog).toContain('host keys pinned by CUSTOM_SSH_KNOWN_HOSTS');
    expect(r.buildLog).not.toContain('trusted on first use');
    expect(venvPython(s, 'import private_pkg; print(private_pkg.GREETING)').stdout.trim()).toBe('hello from the private repository');
    expectSecretsDirGone(r, before);
    await expectNoSecrets(s, r, keySecretList);
  });

  it('a pinned host key that does not match fails: the host key is not trusted', async () => {
    const before = secretDirs();
    const other = generateKey(fs.mkdtempSync(path.join(s.root, 'k-')), 'other_host');
    s.setEnv('CUSTOM_SSH_KNOWN_HOSTS', `[127.0.0.1]:${sshd.port} ${other.publicKey.split(' ').slice(0, 2).join(' ')}\n`);
    const r = await runBuild(s);
    expect(r.failedPhase).toBe('builder');
    expect(r.buildLog).toContain('! Error: The SSH host key of 127.0.0.1 is not trusted');
    expect(r.buildLog).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
    expect(r.buildLog).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1`);
    expectSecretsDirGone(r, before);
  });

  it('builds with an ssh binding (ssh-privatekey, hosts, known_hosts) instead of the env', async () => {
    const before = secretDirs();
    s.unsetEnv('CUSTOM_SSH_KEY');
    s.unsetEnv('CUSTOM_SSH_KEY_HOSTS');
    s.unsetEnv('CUSTOM_SSH_KNOWN_HOSTS');
    writeBinding(s, 'git-deploy-key', { type: 'ssh', 'ssh-privatekey': sshd.deployKey.privateKey, hosts: '127.0.0.1\n', known_hosts: sshd.knownHosts });
    const r = await runBuild(s);
    fs.rmSync(path.join(s.platformDir, 'bindings', 'git-deploy-key'), { recursive: true });
    expectSuccess(r);
    expect(r.buildLog).toMatch(/SSH key from the ssh binding 'git-deploy-key' \(ED25519 SHA256:[A-Za-z0-9+/]{43}\) for 127\.0\.0\.1; host keys pinned/);
    expect(venvPython(s, 'import private_pkg; print(private_pkg.GREETING)').stdout.trim()).toBe('hello from the private repository');
    expectSecretsDirGone(r, before);
    await expectNoSecrets(s, r, keySecretList);
  });

  it('a key the server does not know fails with the authentication message, no stack trace; the key dir is gone', async () => {
    const before = secretDirs();
    s.setEnv('CUSTOM_SSH_KEY', base64(sshd.wrongKey.privateKey));
    s.setEnv('CUSTOM_SSH_KEY_HOSTS', '127.0.0.1');
    const r = await runBuild(s);
    expect(r.success).toBe(false);
    expect(r.failedPhase).toBe('builder');
    expect(r.buildLog).toContain('! Error: SSH authentication to 127.0.0.1 failed');
    expect(r.buildLog).toMatch(/!\s+pygit@127\.0\.0\.1: Permission denied \(publickey\)/);
    expect(r.buildLog).toContain('deploy key of the repository on 127.0.0.1');
    expect(r.buildLog).toContain('pip exited with code 1'); // pip's own lines are kept
    expect(r.buildLog).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
    expectSecretsDirGone(r, before);
    const wrong = keySecrets('wrong key', sshd.wrongKey.privateKey, undefined, sshd.deployKey.privateKey);
    expect((await scanForSecrets({ secrets: wrong, roots: [], texts: { 'build log': r.log } })).findings).toEqual([]);
  });

  it.each([
    ['a key that is not base64', { CUSTOM_SSH_KEY: 'not base64 at all!', CUSTOM_SSH_KEY_HOSTS: '127.0.0.1' }, 'CUSTOM_SSH_KEY is not base64'],
    ['an encrypted key', 'encrypted', 'CUSTOM_SSH_KEY is protected by a passphrase'],
    ['a malformed host list', { CUSTOM_SSH_KEY_HOSTS: '127.0.0.1,,github.com' }, 'Malformed host in CUSTOM_SSH_KEY_HOSTS'],
  ] as const)('%s is a clear error', async (_name, env, title) => {
    const before = secretDirs();
    if (env === 'encrypted') {
      const key = generateKey(fs.mkdtempSync(path.join(s.root, 'k-')), 'enc_key', 'a passphrase');
      s.setEnv('CUSTOM_SSH_KEY', base64(key.privateKey));
      s.setEnv('CUSTOM_SSH_KEY_HOSTS', '127.0.0.1');
    } else {
      s.setEnv('CUSTOM_SSH_KEY', base64(sshd.deployKey.privateKey));
      for (const [k, v] of Object.entries(env)) s.setEnv(k, v);
    }
    const r = await runBuild(s);
    expect(r.failedPhase).toBe('builder');
    expect(r.buildLog).toContain(`! Error: ${title}`);
    expect(r.buildLog).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
    expect(r.buildLog).not.toContain('Running: pip');
    expect(secretDirs()).toEqual(before);
  });
});

describe('an index that needs credentials (private-index)', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = createScenario('private-index');
    await useLoopbackSources(s, { mirror, index: authIndex });
  });

  it('PIP_INDEX_URL with user:password@ installs (also the sdist build backend), and the password is nowhere', async () => {
    expect(authIndex.pipEnv().PIP_INDEX_URL).toContain(`:${INDEX_PASSWORD}@`);
    const r = await runBuild(s);
    expectSuccess(r);
    expect(r.buildLog).toContain(`Private index: PIP_INDEX_URL carries credentials (http://***:***@127.0.0.1:${authIndex.port}/simple/; never logged)`);
    expect(venvPython(s, 'import six, hello_sdist; print(six.__version__)').stdout.trim()).toBe('1.17.0');
    expect(authIndex.requests().filter((q) => q.status === 401)).toEqual([]); // pip sent the credentials from the URL
    expect(authIndex.downloads().some((f) => f.startsWith('setuptools-'))).toBe(true);
    await expectNoSecrets(s, r, passwordSecrets('index password', INDEX_USER, INDEX_PASSWORD));
  });

  it('wrong credentials: a clear error', async () => {
    s.setEnv('PIP_INDEX_URL', authIndex.urlWithCredentials.replace(INDEX_PASSWORD, 'wrong-password'));
    s.setEnv('BP_PYTHON_FORCE_REINSTALL', 'true');
    const r = await runBuild(s);
    expect(r.failedPhase).toBe('builder');
    expect(r.buildLog).toContain('! Error: The package index refused the credentials');
    expect(r.buildLog).not.toContain('wrong-password');
  });

  it('a netrc binding gives the credentials for an index URL without them', async () => {
    const before = secretDirs();
    s.setEnv('PIP_INDEX_URL', netrcIndex.url);
    writeBinding(s, 'index-netrc', { type: 'netrc', '.netrc': `machine 127.0.0.1 login ${NETRC_USER} password ${NETRC_PASSWORD}\n` });
    const r = await runBuild(s);
    expectSuccess(r);
    expect(r.buildLog).toContain("Index credentials: netrc from the binding 'index-netrc' (NETRC; never logged)");
    expect(venvPython(s, 'import six, hello_sdist; print(six.__version__)').stdout.trim()).toBe('1.17.0');
    expect(netrcIndex.downloads().some((f) => f.startsWith('six-'))).toBe(true);
    expectSecretsDirGone(r, before);
    await expectNoSecrets(s, r, [...passwordSecrets('netrc password', NETRC_USER, NETRC_PASSWORD), ...passwordSecrets('index password', INDEX_USER, INDEX_PASSWORD)]);
  });
});
