// The offline package (npm run package -- --offline --manifest FILE --versions 3.11): every
// artifact vendored in the buildpack under dependencies/<sha256>/ and named by file:// URIs in its
// buildpack.toml. It builds with NO network at all: every phase runs in a network namespace of its
// own (TEST_NO_NETWORK=1: not even loopback works), the mirror and the index that filled the
// package are stopped, BP_PYTHON_MANIFEST is unset and PIP_INDEX_URL points at a closed port; node
// is unreachable too (TEST_NO_NODE=1). App dependencies come from wheels vendored in the app
// (`pip download -d vendor -r requirements.txt`).
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as TOML from '@iarna/toml';
import { buildpackDependencies } from '../helpers/buildpack-manifest';
import { createScenario, layerPath, readLayerToml, REPO_ROOT, runBuild, type Scenario } from '../helpers/lifecycle';
import { readFixtureIndex, startMirror, writeRuntimeManifest } from '../helpers/mirror';
import { startPackageIndex } from '../helpers/package-index';

const CLOSED = 'http://127.0.0.1:9/simple'; // the discard port: nothing listens there
let work: string;
let bpDir: string;
let vendoredApp: string;
let packageLog: string;
const saved = { TEST_NO_NODE: process.env.TEST_NO_NODE, TEST_NO_NETWORK: process.env.TEST_NO_NETWORK };

function sh(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Asynchronous: the mirror and the index serving it live in this process, so it must not block. */
function shAsync(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed (${err.message}):\n${stderr}\n${stdout}`));
      else resolve(stdout);
    });
  });
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-offline-test-'));
  fs.chmodSync(work, 0o755);
  const [mirror, index] = await Promise.all([startMirror(), startPackageIndex()]);
  try {
    // The operator manifest whose artifacts (served by the mirror) get vendored.
    const manifest = await writeRuntimeManifest(mirror, path.join(work, 'manifest.toml'));
    bpDir = path.join(work, 'dist', 'buildpack-offline');
    packageLog = await shAsync(
      process.execPath,
      [path.join(REPO_ROOT, 'scripts', 'package.mjs'), '--offline', '--manifest', manifest, '--versions', '3.11', '--out', path.join(work, 'dist'), '--offline-root', bpDir],
      { cwd: REPO_ROOT },
    );
    // The user's side: pip download -d vendor -r requirements.txt, with CPython 3.11 (the index
    // serves cp311 wheels), while the index is still up.
    vendoredApp = path.join(work, 'flask-vendored');
    sh('cp', ['-a', path.join(REPO_ROOT, 'test', 'fixtures', 'apps', 'flask-vendored'), vendoredApp]);
    const py311 = readFixtureIndex().runtimes.find((r) => r.version.startsWith('3.11.'))!.build_prefix;
    await shAsync(path.join(py311, 'bin', 'python3.11'), ['-m', 'pip', 'download', '--quiet', '--disable-pip-version-check', '-d', 'vendor', '-r', 'requirements.txt'], {
      cwd: vendoredApp,
      env: { ...process.env, ...index.pipEnv(), PIP_NO_CACHE_DIR: '1' },
    });
  } finally {
    await Promise.all([mirror.close(), index.close()]);
  }
  process.env.TEST_NO_NODE = '1';
  process.env.TEST_NO_NETWORK = '1';
}, 600_000);

afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  if (work && process.env.KEEP_SCENARIOS !== '1') fs.rmSync(work, { recursive: true, force: true });
});

/** A scenario on the offline buildpack with everything that could reach a network pointed nowhere. */
function offlineScenario(fixture: string): Scenario {
  const s = createScenario(fixture, { buildpackDir: bpDir });
  s.setEnv('PIP_INDEX_URL', CLOSED);
  return s;
}

describe('npm run package -- --offline', () => {
  it('vendors the selected artifacts and points buildpack.toml at them with file:// URIs', () => {
    const toml = TOML.parse(fs.readFileSync(path.join(bpDir, 'buildpack.toml'), 'utf8')) as { metadata: { dependencies: Array<{ id: string; version: string; uri: string; checksum: string; arch?: string }> } };
    const deps = toml.metadata.dependencies;
    expect(deps.filter((d) => d.id === 'python').map((d) => d.version)).toEqual(['3.11.7']);
    // Every pinned pip (one per Python line), each with the Requires-Python the build chooses by.
    expect(deps.filter((d) => d.id === 'pip').map((d) => `${d.version} ${(d as { 'requires-python'?: string })['requires-python']}`).sort()).toEqual(buildpackDependencies('pip').map((d) => `${d.version} ${d['requires-python']}`).sort());
    expect(deps.every((d) => !d.arch || d.arch === 'amd64')).toBe(true);
    for (const d of deps) {
      expect(d.uri.startsWith(`file://${bpDir}/dependencies/${d.checksum.slice('sha256:'.length)}/`)).toBe(true);
      const file = d.uri.slice('file://'.length);
      expect(createHash('sha256').update(fs.readFileSync(file)).digest('hex')).toBe(d.checksum.slice('sha256:'.length));
    }
    expect(fs.readdirSync(bpDir).sort()).toEqual(['bin', 'buildpack.toml', 'dependencies', 'requirements']);
    expect(packageLog).toMatch(/dependencies\/\s+[\d.]+ MiB \(\d+ artifacts\)/);
    expect(fs.existsSync(path.join(work, 'dist', 'python-cnb_python-0.1.0-offline.cnb'))).toBe(true);
  });

  it('a phase really has no network (not even loopback)', () => {
    const r = spawnSync('unshare', ['--net', '--', 'python3', '-c', 'import socket; socket.create_connection(("127.0.0.1", 9), 2)'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Network is unreachable/);
  });

  it('installs CPython with no network and no BP_PYTHON_MANIFEST (sqlite-app: runtime.txt, no dependencies)', async () => {
    const s = offlineScenario('sqlite-app');
    s.setEnv('BP_PYTHON_SQLITE', 'false'); // the sqlite layer's own offline build is its tests' business
    const r = await runBuild(s);
    expect(r.success).toBe(true);
    expect(r.buildLog).toMatch(/3\.11\.7/);
    expect(readLayerToml(s, 'python')).toMatchObject({ metadata: { python_version: '3.11.7' } });
    const py = spawnSync(path.join(layerPath(s, 'python'), 'bin', 'python3'), ['-c', 'import sys, ssl, sqlite3; print(sys.version.split()[0])'], { encoding: 'utf8' });
    expect(py.stdout.trim()).toBe('3.11.7');
  });

  it('installs pip and the app dependencies from vendor/ with pip told so (PIP_NO_INDEX=1, PIP_FIND_LINKS=<app>/vendor)', async () => {
    const s = offlineScenario(vendoredApp);
    s.setEnv('PIP_NO_INDEX', '1');
    s.setEnv('PIP_FIND_LINKS', path.join(s.appDir, 'vendor'));
    const r = await runBuild(s);
    expect(r.success).toBe(true);
    expect(r.buildLog).toMatch(/Installed pip 26\.3 \(.*sha256 verified\)/);
    expect(r.buildLog).toMatch(/Installed 7 packages in/);
    const flask = spawnSync(path.join(layerPath(s, 'site-packages'), 'bin', 'python'), ['-c', 'import flask; print(flask.__version__)'], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
    });
    expect(flask.stdout.trim()).toBe('3.1.3');
  });

  it('installs app dependencies from vendor/ on its own: vendor/ holding wheels means --no-index --find-links vendor', async () => {
    const s = offlineScenario(vendoredApp);
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toMatch(/with vendor\/ \(7 wheels, no index\)/);
    expect(r.buildLog).toMatch(/Running: pip install --progress-bar off --no-input --no-index --find-links vendor --requirement requirements\.txt/);
    const flask = spawnSync(path.join(layerPath(s, 'site-packages'), 'bin', 'python'), ['-c', 'import flask; print(flask.__version__)'], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
    });
    expect(flask.stdout.trim()).toBe('3.1.3');
  });
});
