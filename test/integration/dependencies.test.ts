// The pip, pip-cache and site-packages layers through the real lifecycle, against a loopback
// package index (test/helpers/package-index.ts): install, reuse without running pip, only new
// packages downloaded when a requirement is added, removed ones gone, every way of declaring
// dependencies, clear errors for bad input, and hash-based bytecode that survives the exporter's
// mtime reset.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createScenario, layerPath, readLayerToml, runBuild, type Scenario } from '../helpers/lifecycle';
import { loopbackSourcesForSuite, useLoopbackSources } from '../helpers/sources';

const sources = loopbackSourcesForSuite();

async function scenario(fixture: string, options: { sqlite?: boolean } = {}): Promise<Scenario> {
  const s = createScenario(fixture, options);
  await useLoopbackSources(s, sources);
  return s;
}

/** Runs the venv's python (as the build user would see it) with a clean env. */
function venvPython(s: Scenario, code: string, extraEnv: Record<string, string> = {}) {
  const env: Record<string, string> = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', ...extraEnv };
  return spawnSync(path.join(layerPath(s, 'site-packages'), 'bin', 'python'), ['-c', code], { encoding: 'utf8', env });
}

/** Distributions the index served (complete downloads only). */
function downloads(): string[] {
  return sources.index.downloads().sort();
}

describe('requirements.txt (the classic Flask example)', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await scenario('flask-app');
  });

  it('builds, and the layer python imports flask', async () => {
    sources.index.clearLog();
    const r = await runBuild(s);
    expect(r.success).toBe(true);
    expect(r.buildLog).toContain('Installing dependencies with pip from requirements.txt');
    expect(r.buildLog).toMatch(/Installed pip 26\.3 \([\d.]+ [KM]iB wheel, sha256 verified\) in [\d.]+m?s; packed into one zip \(\d+ files, [\d.]+ MiB\)/);
    expect(r.buildLog).toMatch(/Installed 8 packages in/);
    // pip leaves the bytecode to compileall on every core (checked-hash: the last test here checks it holds).
    expect(r.buildLog).toMatch(/Running: pip install .*--requirement requirements\.txt/);
    expect(r.buildLog).toMatch(/Compiled the packages' bytecode \(checked-hash\) on every core in [\d.]+m?s\n/);
    const flaskDir = spawnSync('find', [layerPath(s, 'site-packages'), '-type', 'd', '-name', 'flask', '-path', '*site-packages/flask'], { encoding: 'utf8' }).stdout.trim();
    const modules = fs.readdirSync(flaskDir).filter((f) => f.endsWith('.py')).map((f) => f.slice(0, -3)).sort();
    const compiled = fs.readdirSync(path.join(flaskDir, '__pycache__')).map((f) => f.split('.')[0]!).sort();
    expect(modules.length).toBeGreaterThan(10);
    expect(compiled).toEqual(modules);
    expect(downloads()).toHaveLength(8);
    expect(venvPython(s, 'import flask, gunicorn; print(flask.__version__)').stdout.trim()).toBe('3.1.3');
    // Nothing in this app's build runs from the venv: a launch layer, not cached (src/layers/reuse.ts).
    expect(readLayerToml(s, 'site-packages')).toMatchObject({
      types: { build: false, launch: true, cache: false },
      metadata: { package_manager: 'pip', python_version: expect.stringMatching(/^3\.11\./), installer: 'pip 26.3', dependencies_sha256: expect.stringMatching(/^[0-9a-f]{64}$/), has_gunicorn: 'true', packages: expect.stringMatching(/^[1-9]\d*$/) },
    });
    expect(r.exportLog).not.toMatch(/cache layer 'python-cnb\/python:(site-packages|python)'/);
    expect(readLayerToml(s, 'pip')).toMatchObject({ types: { build: true, launch: false, cache: true } });
    expect(readLayerToml(s, 'pip-cache')).toMatchObject({ types: { build: true, launch: false, cache: true } });
    // The cached pip layer is a few files: its package in one zip that pip runs from (src/layers/pip-zip.ts).
    const pipFiles = spawnSync('find', [layerPath(s, 'pip'), '-type', 'f'], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(pipFiles.filter((f) => f.endsWith('/site-packages/pip.zip'))).toHaveLength(1);
    expect(pipFiles.length).toBeLessThan(60);
    const python3 = path.join(layerPath(s, 'python'), 'bin', 'python3');
    const pipRun = spawnSync(python3, ['-m', 'pip', '--version'], { encoding: 'utf8', env: { ...process.env, PYTHONUSERBASE: layerPath(s, 'pip') } });
    expect(pipRun.stdout).toMatch(/^pip 26\.3 from .*\/pip\.zip\/pip /);
    // Each module's bytecode is beside its source in the zip, unchecked-hash (flags 1), so zipimport
    // never compiles pip at import: [sources, sources without .pyc, the flags seen].
    const zipped = spawnSync(python3, ['-c', ZIP_BYTECODE, pipFiles.find((f) => f.endsWith('/pip.zip'))!], { encoding: 'utf8' });
    expect(JSON.parse(zipped.stdout)).toEqual([expect.any(Number), 0, [1]]);
    expect(JSON.parse(zipped.stdout)[0]).toBeGreaterThan(300);
    // pip is a build tool: not in the venv, and the pip layer is not exported.
    expect(fs.existsSync(path.join(layerPath(s, 'site-packages'), 'bin', 'pip'))).toBe(false);
    expect(r.exportLog).not.toMatch(/Adding layer 'python-cnb\/python:pip'/); // cached, not in the image
    expect(r.exportLog).toMatch(/Adding cache layer 'python-cnb\/python:pip'/);
  });

  it('rebuild with nothing changed: venv reused, pip not run, zero index requests', async () => {
    sources.index.clearLog();
    const r = await runBuild(s);
    expect(r.success).toBe(true);
    expect(r.buildLog).toMatch(/Using cached virtual environment: requirements\.txt unchanged \(sha256 [0-9a-f]{12}\), pip not run/);
    expect(r.buildLog).not.toContain('Running: pip');
    expect(sources.index.requests()).toEqual([]);
    expect(r.exportLog).toMatch(/Reusing layer 'python-cnb\/python:site-packages'/);
    // Kept in the image by its metadata: neither the venv nor Python was restored, and the
    // default web process still knows gunicorn is installed (a fact kept in the metadata).
    expect(fs.existsSync(layerPath(s, 'site-packages'))).toBe(false);
    expect(fs.existsSync(layerPath(s, 'python'))).toBe(false);
    expect(r.buildLog).toContain('the image keeps its layer as it is');
    expect(r.buildLog).toMatch(/Default web process: exec gunicorn/);
    expect(r.buildLog).toContain("Using cached pip 26.3");
    // The tool and its cache stay cached for the next dependency change.
    expect(readLayerToml(s, 'pip')).toMatchObject({ types: { build: true, launch: false, cache: true }, metadata: { pip_version: '26.3' } });
    expect(r.exportLog).toMatch(/Reusing cache layer 'python-cnb\/python:pip-cache'/);
  });

  it('one requirement added: only the new package is downloaded', async () => {
    s.writeAppFile('requirements.txt', 'flask==3.1.3\ngunicorn==27.0.1\npython-dotenv==1.2.4\n');
    sources.index.clearLog();
    const r = await runBuild(s);
    expect(r.success).toBe(true);
    expect(r.buildLog).toMatch(/Discarding cached virtual environment since:[\s\S]*the dependency files changed/);
    expect(r.buildLog).toContain('Using cached pip download/wheel cache');
    expect(downloads()).toEqual(['python_dotenv-1.2.4-py3-none-any.whl']);
    expect(venvPython(s, 'import dotenv, flask; print("ok")').stdout.trim()).toBe('ok');
  });

  it('a removed requirement is gone from the venv', async () => {
    s.writeAppFile('requirements.txt', 'flask==3.1.3\npython-dotenv==1.2.4\n');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(venvPython(s, 'import gunicorn').status).not.toBe(0);
    expect(venvPython(s, 'import flask; print("ok")').stdout.trim()).toBe('ok');
  });

  it('after the exporter-style mtime reset, importing writes no .pyc (hash-based bytecode)', async () => {
    const venv = layerPath(s, 'site-packages');
    spawnSync('find', [venv, '-exec', 'touch', '-h', '-d', '1980-01-01T00:00:01Z', '{}', '+']);
    const marker = path.join(s.root, 'marker');
    fs.writeFileSync(marker, '');
    const before = spawnSync('find', [venv, '-name', '*.pyc'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;
    const r = venvPython(s, 'import flask, werkzeug, jinja2, click, dotenv; print("ok")'); // PYTHONDONTWRITEBYTECODE unset
    expect(r.stdout.trim()).toBe('ok');
    expect(before).toBeGreaterThan(50);
    const rewritten = spawnSync('find', [venv, '-name', '*.pyc', '-newer', marker], { encoding: 'utf8' }).stdout.trim();
    expect(rewritten).toBe('');
    expect(spawnSync('find', [venv, '-name', '*.pyc'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length).toBe(before);
  });
});

describe('a venv every build runs from (bin/post_compile): a dependency change updates it in place', () => {
  let s: Scenario;
  const distInfos = (sc: Scenario) =>
    spawnSync('find', [layerPath(sc, 'site-packages'), '-maxdepth', '4', '-name', '*.dist-info'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((p) => path.basename(p)).sort();
  beforeAll(async () => {
    s = await scenario('flask-app');
    s.writeAppFile('bin/post_compile', '#!/bin/sh\necho post_compile ran\n', 0o755);
  });

  it('cold: the venv is cached (the hook runs from it)', async () => {
    const r = await runBuild(s);
    expect({ success: r.success, log: r.success ? '' : r.log }).toEqual({ success: true, log: '' });
    expect(readLayerToml(s, 'site-packages')).toMatchObject({ types: { build: true, launch: true, cache: true } });
  });

  it('gunicorn removed, python-dotenv added: pip installs one package, uninstalls one, and the venv holds what a fresh install would', async () => {
    s.writeAppFile('requirements.txt', 'flask==3.1.3\npython-dotenv==1.2.4\n');
    sources.index.clearLog();
    const r = await runBuild(s);
    expect({ success: r.success, log: r.success ? '' : r.log }).toEqual({ success: true, log: '' });
    expect(r.buildLog).toContain('Updating the cached virtual environment in place, since only the dependency files changed');
    expect(r.buildLog).not.toContain('Discarding cached virtual environment');
    expect(r.buildLog).toContain('Removing 1 package no longer required: gunicorn');
    expect(r.buildLog).toMatch(/Requirement already satisfied: flask==3\.1\.3/);
    expect(r.buildLog).toMatch(/Updated the venv to \d+ packages in/);
    expect(downloads()).toEqual(['python_dotenv-1.2.4-py3-none-any.whl']);
    expect(venvPython(s, 'import gunicorn').status).not.toBe(0);
    expect(venvPython(s, 'import dotenv, flask; print("ok")').stdout.trim()).toBe('ok');
    // pip compiled the new package hash-based (flags 3 = checked-hash: PEP 552).
    const pyc = spawnSync('find', [layerPath(s, 'site-packages'), '-path', '*dotenv/__pycache__/main.*.pyc'], { encoding: 'utf8' }).stdout.trim();
    expect(fs.readFileSync(pyc).readUInt32LE(4)).toBe(3);

    const fresh = await scenario('flask-app');
    fresh.writeAppFile('requirements.txt', 'flask==3.1.3\npython-dotenv==1.2.4\n');
    fresh.writeAppFile('bin/post_compile', '#!/bin/sh\necho post_compile ran\n', 0o755);
    const f = await runBuild(fresh, { upTo: 'builder' });
    expect(f.success).toBe(true);
    expect(f.buildLog).not.toContain('Updating the cached virtual environment');
    expect(distInfos(s)).toEqual(distInfos(fresh));
  });

  it('BP_PYTHON_FORCE_REINSTALL=true makes a fresh venv instead', async () => {
    s.writeAppFile('requirements.txt', 'flask==3.1.3\n');
    s.setEnv('BP_PYTHON_FORCE_REINSTALL', 'true');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toMatch(/Discarding cached virtual environment since:/);
    expect(r.buildLog).not.toContain('Updating the cached virtual environment');
  });
});

describe('other ways to declare dependencies', () => {
  it.each([
    ['requirements-with-r', 'import requests; print(requests.__version__)', '2.34.2', /pip from requirements\.txt \(and requirements\/base\.txt\)/],
    ['setup-py', 'import requests, hello; print(requests.__version__)', '2.34.2', /pip from the project \(setup\.py\)/],
    ['pyproject-project', 'import requests, pyproject_project; print(pyproject_project.GREETING)', 'hello', /pip from the project \(pyproject\.toml\)/],
    ['pipenv', 'import requests; print(requests.__version__)', '2.34.2', /Installing 5 locked packages from Pipfile\.lock \(hash-checked\)/],
  ])('%s builds and imports its dependencies', async (fixture, code, expected, logLine) => {
    const s = await scenario(fixture);
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.buildLog).toMatch(logLine);
    expect(r.success).toBe(true);
    const out = venvPython(s, code);
    expect(out.stderr).toBe('');
    expect(out.stdout.trim().split('\n').pop()).toBe(expected);
  });
});

describe('bad dependency input: the message names the file and the requirement, with pip output', () => {
  it.each([
    ['requirements-missing-package', /Error: Could not install the dependencies from requirements\.txt[\s\S]*this-package-does-not-exist-anywhere/],
    ['requirements-syntax-error', /Error: Could not install the dependencies from requirements\.txt[\s\S]*(Invalid requirement|requirements\.txt \(line 2\))/],
    ['requirements-broken-sdist', /Error: Could not install the dependencies from requirements\.txt[\s\S]*broken-sdist/],
  ])('%s', async (fixture, pattern) => {
    const s = await scenario(fixture);
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.buildLog).toMatch(pattern);
    expect(r.buildLog).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
    expect(readLayerToml(s, 'site-packages')).toBeUndefined();
    if (fixture === 'requirements-broken-sdist') expect(r.buildLog).toContain('this package fails to build on purpose'); // pip's own output is shown
  });

  it.each([
    ['requirements-outside-app', /Error: Requirements file outside the app[\s\S]*requirements\.txt refers to \/etc\/passwd, which is outside the app directory/],
    ['requirements-include-loop', /Error: Requirements files include each other[\s\S]*requirements\.txt -> requirements\/base\.txt -> requirements\.txt/],
  ])('%s: a titled input error before any download', async (fixture, pattern) => {
    const s = await scenario(fixture);
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.buildLog).toMatch(pattern);
    expect(r.buildLog).not.toMatch(/Create etc\/passwd|Downloading Python/);
    expect(r.buildLog).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
    expect(readLayerToml(s, 'python')).toBeUndefined();
    expect(fs.existsSync(path.join(s.appDir, 'etc'))).toBe(false);
  });

  it('unpinned requirements: installed, with a warning about drift and the switch', async () => {
    const s = await scenario('requirements-unpinned');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toMatch(/Warning: Unpinned requirements[\s\S]*requests and flask are not pinned[\s\S]*BP_PYTHON_FORCE_REINSTALL=true/);
  });
});

describe('C extensions against the sqlite layer', () => {
  it("an sdist that compiles against sqlite3.h builds in the venv and links the layer's SQLite", async () => {
    const s = await scenario('sqlite-ext-app', { sqlite: true });
    // SQLite unoptimised: the test is about linking against the layer, and -O2 costs minutes here
    // (test/integration/sqlite-layer.test.ts proves the default compile).
    s.setEnv('CFLAGS', '-O0');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.buildLog).toMatch(/Installing SQLite3 \(built beside the Python install/);
    expect(r.success).toBe(true);
    // Built against the layer's header, and loads the layer's library at run time (not the system's 3.40).
    const sqliteLib = path.join(layerPath(s, 'sqlite'), 'lib');
    const out = venvPython(s, 'import sqlite_ext; print(sqlite_ext.header_version(), sqlite_ext.version())', { LD_LIBRARY_PATH: sqliteLib });
    expect(out.stdout.trim()).toBe('3.52.0 3.52.0');
  });
});

const ZIP_BYTECODE = `
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = set(z.namelist())
sources = [n for n in names if n.endswith('.py')]
flags = sorted({int.from_bytes(z.read(n + 'c')[4:8], 'little') for n in sources if n + 'c' in names})
print(json.dumps([len(sources), sum(1 for n in sources if n + 'c' not in names), flags]))
`;
