// poetry.lock apps through the real lifecycle: the poetry layer (the pinned Poetry from
// requirements/poetry.txt, every wheel hash-checked, from the loopback index), `poetry sync --only
// main` into the site-packages venv, the poetry-cache layer, reuse without running Poetry, an added
// dependency downloading only itself, a project installed with its path dependency, and the errors
// (stale lock, a Python the project excludes, a Poetry project without its lock).
//
// The locks are made here, by the same pinned Poetry on the host, against the loopback index
// (poetry.lock records the source's URL, and the index listens on a new port each run).
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostPython } from '../helpers/host-python';
import { createScenario, layerPath, readLayerToml, runBuild, type Scenario } from '../helpers/lifecycle';
import { loopbackSourcesForSuite, useLoopbackSources } from '../helpers/sources';

const REPO = path.resolve(__dirname, '..', '..');
const sources = loopbackSourcesForSuite();
const tools = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-poetry-test-'));
afterAll(() => fs.rmSync(tools, { recursive: true, force: true }));


/** The pinned Poetry in a host venv, installed from the loopback index exactly as the build does. */
async function hostPoetry(): Promise<string> {
  const venv = path.join(tools, 'poetry');
  const poetry = path.join(venv, 'bin', 'poetry');
  if (fs.existsSync(poetry)) return poetry;
  await promisify(execFile)(hostPython(), ['-m', 'venv', venv]);
  await promisify(execFile)(path.join(venv, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--require-hashes', '--no-deps', '--only-binary=:all:', '--index-url', sources.index.url, '-r', path.join(REPO, 'requirements', 'poetry.txt')], {
    env: { PATH: '/usr/bin:/bin', HOME: tools, PIP_CONFIG_FILE: '/dev/null', PIP_DISABLE_PIP_VERSION_CHECK: '1' },
  });
  return poetry;
}

/** Points the app's source at the loopback index and writes its poetry.lock, as `poetry lock` does. */
async function lock(s: Scenario, pyproject?: string): Promise<void> {
  const text = (pyproject ?? fs.readFileSync(path.join(s.sourceDir, 'pyproject.toml'), 'utf8')).replace(/url = "http:\/\/127\.0\.0\.1:\d+\/simple\/"/, `url = "${sources.index.url}"`);
  s.writeAppFile('pyproject.toml', text);
  await promisify(execFile)(await hostPoetry(), ['lock', '--no-interaction', '--no-ansi'], {
    cwd: s.sourceDir,
    env: { PATH: `${path.dirname(hostPython())}:/usr/bin:/bin`, HOME: tools, POETRY_CACHE_DIR: path.join(tools, 'cache'), POETRY_CONFIG_DIR: path.join(tools, 'config'), PYTHON_KEYRING_BACKEND: 'keyring.backends.null.Keyring' },
  });
  fs.chmodSync(path.join(s.sourceDir, 'poetry.lock'), 0o644);
}

function venvPython(s: Scenario, code: string) {
  return spawnSync(path.join(layerPath(s, 'site-packages'), 'bin', 'python'), ['-c', code], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
}

describe('poetry.lock (the Flask example as a Poetry app)', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = createScenario('poetry-flask');
    await useLoopbackSources(s, sources);
    await lock(s);
  });

  it('installs the pinned Poetry hash-checked and syncs the main group only', async () => {
    sources.index.clearLog();
    const r = await runBuild(s);
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.buildLog).toContain('Dependencies: poetry (found poetry.lock)');
    expect(r.buildLog).toContain('Installing dependencies with poetry from poetry.lock');
    expect(r.buildLog).toMatch(/Installed Poetry 2\.5\.1 \(\d+ packages, every wheel sha256 verified\)/);
    expect(r.buildLog).toContain('Running: poetry check --lock --no-ansi');
    expect(r.buildLog).toContain('Running: poetry sync --only main --compile --no-ansi --no-root');
    expect(r.buildLog).toContain('only the dependencies are installed (--no-root)');
    expect(r.buildLog).toMatch(/Installed 8 packages in/);
    expect(sources.index.downloads().some((d) => d.startsWith('poetry-2.5.1-'))).toBe(true);
    expect(sources.index.downloads().some((d) => d.startsWith('python_dotenv'))).toBe(false);
    expect(venvPython(s, 'import flask, gunicorn; print(flask.__version__)').stdout.trim()).toBe('3.1.3');
    expect(venvPython(s, 'import dotenv').status).not.toBe(0);
    // Poetry is a build tool: not in the venv, not in the image.
    expect(venvPython(s, 'import poetry').status).not.toBe(0);
    expect(readLayerToml(s, 'site-packages')).toMatchObject({ metadata: { package_manager: 'poetry', installer: 'poetry 2.5.1' } });
    expect(readLayerToml(s, 'poetry')).toMatchObject({ types: { build: true, launch: false, cache: true }, metadata: { version: '2.5.1' } });
    expect(readLayerToml(s, 'poetry-cache')).toMatchObject({ types: { build: true, launch: false, cache: true } });
    expect(fs.existsSync(layerPath(s, 'pip'))).toBe(false);
    expect(r.exportLog).not.toMatch(/Adding layer 'python-cnb\/python:poetry'/);
    expect(r.exportLog).toMatch(/Adding cache layer 'python-cnb\/python:poetry-cache'/);
    // Hash-based .pyc (SOURCE_DATE_EPOCH): the flags word of every .pyc of flask is 3.
    const flags = venvPython(s, 'import glob, os, flask; fs = glob.glob(os.path.join(os.path.dirname(flask.__file__), "__pycache__", "*.pyc")); print(len(fs), sorted({int.from_bytes(open(f, "rb").read(8)[4:8], "little") for f in fs}))');
    expect(flags.stdout.trim()).toMatch(/^([1-9]\d*) \[3\]$/);
    expect(r.buildLog).toMatch(/Default web process: exec gunicorn app:app/);
  });

  it('rebuild with nothing changed: Poetry not run, zero index requests', async () => {
    sources.index.clearLog();
    const r = await runBuild(s);
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.buildLog).toMatch(/Using cached Poetry 2\.5\.1/);
    expect(r.buildLog).toMatch(/Using cached virtual environment: poetry\.lock unchanged \(sha256 [0-9a-f]{12}\), poetry not run/);
    expect(r.buildLog).not.toContain('Running: poetry');
    expect(sources.index.requests()).toEqual([]);
  });

  it('a dependency added and locked: only it is downloaded (the Poetry cache is kept)', async () => {
    const text = fs.readFileSync(path.join(s.sourceDir, 'pyproject.toml'), 'utf8').replace('gunicorn = "27.0.1"\n', 'gunicorn = "27.0.1"\nrequests = "*"\n');
    await lock(s, text.replace('[tool.poetry.group.dev.dependencies]\npython-dotenv = "1.2.4"\n', '[tool.poetry.group.dev.dependencies]\n'));
    sources.index.clearLog();
    const r = await runBuild(s);
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.buildLog).toMatch(/Discarding cached virtual environment since:[\s\S]*the dependency files changed/);
    expect(r.buildLog).toContain('Using cached Poetry cache');
    expect(sources.index.downloads().sort()).toEqual(expect.arrayContaining([expect.stringMatching(/^requests-/)]));
    expect(sources.index.downloads().some((d) => /^(flask|werkzeug|gunicorn)-/.test(d))).toBe(false);
    expect(venvPython(s, 'import requests, flask; print("ok")').stdout.trim()).toBe('ok');
  });

  it('pyproject.toml changed without `poetry lock`: "poetry.lock is out of date", before any package download', async () => {
    const before = fs.readFileSync(path.join(s.sourceDir, 'pyproject.toml'), 'utf8');
    s.writeAppFile('pyproject.toml', before.replace('gunicorn = "27.0.1"\n', 'gunicorn = "27.0.1"\nclick = "*"\n'));
    sources.index.clearLog();
    const r = await runBuild(s);
    expect(r.success).toBe(false);
    expect(r.phases.builder?.exitCode).not.toBe(0);
    expect(r.buildLog).toContain('poetry.lock is out of date');
    expect(r.buildLog).toContain('Run `poetry lock`, then commit poetry.lock.');
    expect(r.buildLog).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(sources.index.downloads()).toEqual([]);
    s.writeAppFile('pyproject.toml', before);
  });

  it('the same on a first build (nothing cached): found in analysis, before the runtime or Poetry itself is downloaded', async () => {
    const cold = createScenario('poetry-flask');
    await useLoopbackSources(cold, sources);
    await lock(cold);
    const locked = fs.readFileSync(path.join(cold.sourceDir, 'pyproject.toml'), 'utf8');
    cold.writeAppFile('pyproject.toml', locked.replace('flask = "3.1.3"\n', 'flask = "3.1.2"\n'));
    sources.index.clearLog();
    sources.mirror.clearLog();
    const r = await runBuild(cold);
    expect(r.success).toBe(false);
    expect(r.phases.builder?.exitCode).not.toBe(0);
    expect(r.buildLog).toContain('Error: poetry.lock is out of date');
    expect(r.buildLog).toMatch(/its content-hash is [0-9a-f]{12}\.\.\., and the dependencies in pyproject\.toml now hash to [0-9a-f]{12}\.\.\./);
    expect(r.buildLog).toContain('Run `poetry lock`, then commit poetry.lock.');
    expect(r.buildLog).not.toContain('Running: poetry');
    expect(r.buildLog).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(sources.index.requests()).toEqual([]);
    expect(sources.mirror.requests()).toEqual([]);
  });
});

describe('a Poetry project with a path dependency', () => {
  it('installs the project itself (it declares a build system) and its path dependency, both importable', async () => {
    const s = createScenario('poetry-path-dep');
    await useLoopbackSources(s, sources);
    await lock(s);
    const r = await runBuild(s);
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.buildLog).toContain('declares a build system: the project itself is installed too');
    expect(r.buildLog).toContain('Running: poetry sync --only main --compile --no-ansi');
    expect(r.buildLog).not.toContain('--no-root');
    expect(venvPython(s, 'import itsdangerous, pathapp; print(pathapp.message())').stdout.trim()).toBe('Hello, path app!');
    sources.index.clearLog();
    const warm = await runBuild(s);
    expect(warm.success ? 'success' : warm.log).toBe('success');
    expect(warm.buildLog).not.toContain('Running: poetry');
    expect(sources.index.requests()).toEqual([]);
  });
});

describe('Poetry errors', () => {
  it("a Python the project's constraint excludes: both named with their sources, before any download", async () => {
    const s = createScenario('poetry-flask');
    await useLoopbackSources(s, sources);
    s.writeAppFile('poetry.lock', '# not read: the analysis fails first\n');
    s.writeAppFile('pyproject.toml', fs.readFileSync(path.join(s.sourceDir, 'pyproject.toml'), 'utf8').replace('python = "^3.11"', 'python = "^3.12"'));
    sources.mirror.clearLog();
    sources.index.clearLog();
    const r = await runBuild(s);
    expect(r.success).toBe(false);
    expect(r.phases.builder?.exitCode).not.toBe(0);
    expect(r.buildLog).toMatch(/Python 3\.11\.\d+ is excluded by the project's Python constraint/);
    expect(r.buildLog).toContain('pyproject.toml ([tool.poetry.dependencies] python) says python = "^3.12"');
    expect(r.buildLog).toContain('3.11 from .python-version');
    expect(r.buildLog).toContain('Request a Python that "^3.12" allows');
    expect(sources.mirror.requests()).toEqual([]);
    expect(sources.index.requests()).toEqual([]);
  });

  it('a [tool.poetry] project without poetry.lock: "run `poetry lock`", before any download', async () => {
    const s = createScenario('poetry-flask');
    await useLoopbackSources(s, sources);
    sources.mirror.clearLog();
    const r = await runBuild(s);
    expect(r.success).toBe(false);
    expect(r.buildLog).toContain('poetry.lock not found');
    expect(r.buildLog).toContain('Run `poetry lock` and commit poetry.lock');
    expect(sources.mirror.requests()).toEqual([]);
  });
});
