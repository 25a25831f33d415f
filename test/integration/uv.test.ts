// uv.lock apps through the real lifecycle: the uv layer (the pinned uv from its verified wheel,
// through the loopback mirror), `uv sync --locked` into the site-packages venv against the loopback
// package index, the uv-cache layer, reuse without running uv, an added dependency downloading only
// itself, and the clear errors (stale lock, missing pyproject.toml).
//
// The lock is made here, by the same uv, against the loopback index (uv.lock records the index's
// URLs, and the index listens on a new port each run): the fixture's pyproject.toml gets the
// index's URL, then `uv lock` runs on the host, as a developer would before committing.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostPython } from '../helpers/host-python';
import { createScenario, layerPath, readLayerToml, runBuild, runBuildWatchingTmpdir, type Scenario } from '../helpers/lifecycle';
import { readFixtureIndex } from '../helpers/mirror';
import { loopbackSourcesForSuite, useLoopbackSources } from '../helpers/sources';

const sources = loopbackSourcesForSuite();
const tools = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-uv-test-'));
afterAll(() => fs.rmSync(tools, { recursive: true, force: true }));

/** The fixture's uv, unpacked from its wheel (a zip: <name>.data/scripts/uv) for the host's `uv lock`. */
function hostUv(): string {
  const uv = path.join(tools, 'uv');
  if (fs.existsSync(uv)) return uv;
  const wheel = readFixtureIndex(sources.mirror.root).uv;
  if (!wheel) throw new Error('no uv wheel in the runtime fixtures: run test/setup/prepare-runtimes.sh');
  const unzip = spawnSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2], "wb").write(z.read(next(n for n in z.namelist() if n.endswith(".data/scripts/uv"))))', path.join(sources.mirror.root, wheel.file), uv], { encoding: 'utf8' });
  if (unzip.status !== 0) throw new Error(`could not unpack uv: ${unzip.stderr}`);
  fs.chmodSync(uv, 0o755);
  return uv;
}

/** Points the app's pyproject.toml at the loopback index and writes its uv.lock, as `uv lock` does.
 *  Asynchronous: the index answers from this process's event loop. */
async function lock(s: Scenario, pyproject?: string): Promise<void> {
  const text = (pyproject ?? fs.readFileSync(path.join(s.sourceDir, 'pyproject.toml'), 'utf8')).replace(/url = "http:\/\/127\.0\.0\.1:\d+\/simple\/"/, `url = "${sources.index.url}"`);
  s.writeAppFile('pyproject.toml', text);
  await promisify(execFile)(hostUv(), ['lock', '--no-progress'], {
    cwd: s.sourceDir,
    env: { PATH: '/usr/bin:/bin', HOME: tools, UV_CACHE_DIR: path.join(tools, 'cache'), UV_PYTHON: hostPython(), UV_PYTHON_DOWNLOADS: 'never' },
  });
  fs.chmodSync(path.join(s.sourceDir, 'uv.lock'), 0o644);
}

function venvPython(s: Scenario, code: string) {
  return spawnSync(path.join(layerPath(s, 'site-packages'), 'bin', 'python'), ['-c', code], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
}

describe('uv.lock (the Flask example as a uv project)', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = createScenario('uv-flask');
    await useLoopbackSources(s, sources);
    await lock(s);
  });

  it('installs uv from its verified wheel and syncs exactly the locked packages, without the dev group', async () => {
    sources.index.clearLog();
    sources.mirror.clearLog();
    const r = await runBuildWatchingTmpdir(s);
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.leftInTmpdir).toEqual([]); // uv leaves its uv-<hash>.lock files in TMPDIR: gone with the build's scratch
    expect(r.buildLog).toContain('Dependencies: uv (found uv.lock)');
    expect(r.buildLog).toContain('Installing dependencies with uv from uv.lock');
    expect(r.buildLog).toMatch(/Installed uv 0\.13\.9 \([\d.]+ MiB wheel, sha256 verified\)/);
    expect(r.buildLog).toContain('Running: uv sync --locked --no-default-groups --compile-bytecode --no-progress');
    expect(r.buildLog).toMatch(/Installed 8 packages in/);
    expect(sources.index.downloads()).toHaveLength(8);
    expect(sources.index.downloads().some((d) => d.startsWith('python_dotenv'))).toBe(false);
    expect(venvPython(s, 'import flask, gunicorn; print(flask.__version__)').stdout.trim()).toBe('3.1.3');
    expect(venvPython(s, 'import dotenv').status).not.toBe(0);
    expect(readLayerToml(s, 'site-packages')).toMatchObject({ metadata: { package_manager: 'uv', installer: 'uv 0.13.9' } });
    expect(readLayerToml(s, 'uv')).toMatchObject({ types: { build: true, launch: false, cache: true }, metadata: { uv_version: '0.13.9', arch: 'amd64' } });
    expect(readLayerToml(s, 'uv-cache')).toMatchObject({ types: { build: true, launch: false, cache: true } });
    // uv is a build tool: pip is not installed for a uv app, and neither is in the image.
    expect(fs.existsSync(layerPath(s, 'pip'))).toBe(false);
    expect(r.exportLog).not.toMatch(/Adding layer 'python-cnb\/python:uv'/);
    expect(r.exportLog).toMatch(/Adding cache layer 'python-cnb\/python:uv-cache'/);
    // Bytecode compiled at build time is hash-based (SOURCE_DATE_EPOCH), so the exporter's mtime
    // reset does not make it stale: the flags word of every .pyc of flask is 3 (checked hash).
    const flags = venvPython(s, 'import glob, os, flask; fs = glob.glob(os.path.join(os.path.dirname(flask.__file__), "__pycache__", "*.pyc")); print(len(fs), sorted({int.from_bytes(open(f, "rb").read(8)[4:8], "little") for f in fs}))');
    expect(flags.stdout.trim()).toMatch(/^([1-9]\d*) \[3\]$/);
    // gunicorn is in the venv, so the default web process is found as for requirements.txt.
    expect(r.buildLog).toMatch(/Default web process: exec gunicorn app:app/);
  });

  it('rebuild with nothing changed: uv not run, zero index requests', async () => {
    sources.index.clearLog();
    const r = await runBuild(s);
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.buildLog).toMatch(/Using cached uv 0\.13\.9/);
    expect(r.buildLog).toMatch(/Using cached virtual environment: uv\.lock unchanged \(sha256 [0-9a-f]{12}\), uv not run/);
    expect(r.buildLog).not.toContain('Running: uv');
    expect(sources.index.requests()).toEqual([]);
  });

  it('a dependency added and locked: only it is downloaded (the uv cache is kept)', async () => {
    const text = fs.readFileSync(path.join(s.sourceDir, 'pyproject.toml'), 'utf8').replace('"gunicorn==27.0.1"]', '"gunicorn==27.0.1", "python-dotenv==1.2.4"]');
    await lock(s, text);
    sources.index.clearLog();
    const r = await runBuild(s);
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.buildLog).toMatch(/Discarding cached virtual environment since:[\s\S]*the dependency files changed/);
    expect(r.buildLog).toContain('Using cached uv cache');
    expect(sources.index.downloads()).toEqual(['python_dotenv-1.2.4-py3-none-any.whl']);
    expect(venvPython(s, 'import dotenv, flask; print("ok")').stdout.trim()).toBe('ok');
  });

  it('pyproject.toml changed without `uv lock`: "uv.lock is out of date", and how to fix it', async () => {
    const before = fs.readFileSync(path.join(s.sourceDir, 'pyproject.toml'), 'utf8');
    s.writeAppFile('pyproject.toml', before.replace('"python-dotenv==1.2.4"]', '"python-dotenv==1.2.4", "requests"]'));
    const r = await runBuild(s);
    expect(r.success).toBe(false);
    expect(r.buildLog).toContain('uv.lock is out of date');
    expect(r.buildLog).toContain('Run `uv lock`, then commit uv.lock.');
    expect(r.buildLog).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack trace
    s.writeAppFile('pyproject.toml', before);
  });
});

describe('uv.lock errors', () => {
  it('uv.lock without pyproject.toml fails before any download', async () => {
    const s = createScenario('uv-flask');
    await useLoopbackSources(s, sources);
    s.removeAppFile('pyproject.toml');
    s.writeAppFile('uv.lock', 'version = 1\n');
    s.writeAppFile('.python-version', '3.11\n');
    sources.mirror.clearLog();
    const r = await runBuild(s);
    expect(r.success).toBe(false);
    expect(r.buildLog).toContain('uv.lock without pyproject.toml');
    expect(r.buildLog).toContain('Commit the pyproject.toml that uv.lock was made from');
    expect(sources.mirror.requests()).toEqual([]);
  });
});
