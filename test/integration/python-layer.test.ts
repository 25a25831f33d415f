// The python layer through the real lifecycle: install from the loopback mirror, reuse from the
// cache on rebuild (proved by the mirror's access log), reinstall on a version change, clear errors
// for every kind of bad version input, and clean failures for broken downloads.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createScenario, layerPath, readAppImage, readLayerToml, runBuild, type Scenario } from '../helpers/lifecycle';
import { readFixtureIndex, runtimeEntry, startMirror, writeRuntimeManifest, type Mirror } from '../helpers/mirror';
import { useLoopbackSources } from '../helpers/sources';
import { pycCensus } from '../helpers/bytecode';
import { finishRuntimeInstall, RUNTIME_LAYOUT, stampLegacyBytecode } from '../../src/runtime/stdlib-bytecode';
import { hostPython } from '../helpers/host-python';
import { Log } from '../../src/log';

let mirror: Mirror;
beforeAll(async () => {
  mirror = await startMirror();
});
afterAll(() => mirror.close());

const index = () => readFixtureIndex(mirror.root);
const runtime = (minor: string) => index().runtimes.find((r) => r.flavor !== 'full' && r.version.startsWith(`${minor}.`))!;

async function scenarioWithManifest(fixture: string, options: Parameters<typeof writeRuntimeManifest>[2] = {}): Promise<Scenario> {
  const s = createScenario(fixture);
  await useLoopbackSources(s, { mirror }, options);
  return s;
}

function layerPython(s: Scenario): string {
  return path.join(layerPath(s, 'python'), 'bin', 'python3');
}

/** The digest of one of our layers in the image the build exported (from the lifecycle's label). */
function layerDigest(s: Scenario, layer: string): string | undefined {
  const image = readAppImage(s);
  const bp = (image?.lifecycleMetadata?.buildpacks as Array<{ key: string; layers: Record<string, { sha: string }> }> | undefined)?.find((b) => b.key === 'python-cnb/python');
  return bp?.layers[layer]?.sha;
}

function runtimeDownloads(): string[] {
  return mirror.requests().filter((r) => r.path.includes('cpython-')).map((r) => r.path);
}

describe('python layer', () => {
  it('installs the requested 3.11 from the mirror, then reuses it on rebuild without downloading', async () => {
    const py311 = runtime('3.11');
    const s = await scenarioWithManifest('runtime-txt-only');
    mirror.clearLog();

    const first = await runBuild(s);
    expect(first.success).toBe(true);
    expect(first.buildLog).toContain(`Installing Python ${py311.version}`);
    expect(first.buildLog).toMatch(/Downloaded and unpacked [\d.]+ MiB in [\d.]+m?s \([\d.]+ [KMG]iB\/s\), \d+ files, sha256 verified/);
    expect(runtimeDownloads()).toHaveLength(1);
    const version = spawnSync(layerPython(s), ['--version'], { encoding: 'utf8' });
    expect(version.stdout.trim()).toBe(`Python ${py311.version}`);
    // Nothing in this app's build runs Python after the install: a launch layer, not cached.
    expect(first.buildLog).toContain('both are kept in the image while unchanged, not in the build cache');
    expect(readLayerToml(s, 'python')).toEqual({
      types: { build: false, launch: true, cache: false },
      metadata: { python_version: py311.version, arch: 'amd64', distro_name: expect.any(String), distro_version: expect.any(String), artifact_sha256: py311.sha256, build: 'prebuilt', layout: RUNTIME_LAYOUT },
    });
    // Finished for the image: the stdlib's bytecode all checked-hash (valid whatever the exported
    // mtimes), every .py with its .pyc, no -O/-OO bytecode, no bundled pip (logged with counts).
    const stdlib = path.join(layerPath(s, 'python'), 'lib', 'python3.11');
    const census = pycCensus(stdlib);
    expect(census.checkedHash.length).toBeGreaterThan(500);
    expect({ timestamp: census.timestamp, unchecked: census.uncheckedHash, optimized: census.optimized, withoutPyc: census.withoutPyc }).toEqual({ timestamp: [], unchecked: [], optimized: [], withoutPyc: [] });
    expect(fs.existsSync(path.join(stdlib, 'site-packages', 'pip'))).toBe(false);
    expect(fs.readdirSync(path.join(layerPath(s, 'python'), 'bin')).filter((f) => f.startsWith('pip'))).toEqual([]);
    expect(fs.readdirSync(path.join(stdlib, 'ensurepip', '_bundled')).some((f) => /^pip-.*\.whl$/.test(f))).toBe(true);
    const dropped = /Dropped what no app runs: (\d+) -O\/-OO bytecode files \(.*\) and the runtime's bundled pip [\d.]+ \((\d+) files, [\d.]+ MiB/.exec(first.buildLog);
    process.stderr.write(`python layer: ${first.buildLog.split('\n').filter((l) => /Dropped what|Made the standard/.test(l)).join('\n')}\n`);
    expect(Number(dropped?.[1])).toBeGreaterThan(1000);
    expect(Number(dropped?.[2])).toBeGreaterThan(100);
    expect(first.buildLog).toMatch(/Made the standard library's bytecode hash-based \(checked-hash.*re-stamped \d{3,} \.pyc/);
    // The relocated runtime compiles against its own headers: sysconfig points at the layer.
    const include = spawnSync(layerPython(s), ['-c', 'import sysconfig; print(sysconfig.get_paths()["include"])'], { encoding: 'utf8' });
    expect(include.stdout.trim()).toBe(path.join(layerPath(s, 'python'), 'include', 'python3.11'));
    const firstDigest = layerDigest(s, 'python');
    expect(firstDigest).toMatch(/^sha256:/);

    mirror.clearLog();
    const second = await runBuild(s);
    expect(second.success).toBe(true);
    expect(second.buildLog).toContain(`Using cached Python ${py311.version}`);
    expect(second.buildLog).not.toContain('Downloading');
    expect(runtimeDownloads()).toEqual([]);
    expect(second.exportLog).toMatch(/Reusing layer 'python-cnb\/python:python'/);
    // Kept in the image by its metadata alone: the restorer did not unpack it, the exporter reused
    // the previous image's layer (same digest) without packing it again.
    expect(fs.existsSync(layerPath(s, 'python'))).toBe(false);
    expect(readLayerToml(s, 'python')).toMatchObject({ types: { build: false, launch: true, cache: false }, metadata: { python_version: py311.version } });
    expect(layerDigest(s, 'python')).toBe(firstDigest);

    // Another minor: the layer is reinstalled, and the log says why.
    const py312 = runtime('3.12');
    s.writeAppFile('runtime.txt', 'python-3.12\n');
    mirror.clearLog();
    const third = await runBuild(s, { upTo: 'builder' });
    expect(third.success).toBe(true);
    expect(third.buildLog).toContain(`Discarding cached Python ${py311.version} since:`);
    expect(third.buildLog).toContain(`the Python version changed from ${py311.version} to ${py312.version}`);
    expect(runtimeDownloads()).toHaveLength(1);
    expect(spawnSync(layerPython(s), ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(`Python ${py312.version}`);
  });

  it('installs an old zstd "full" archive (files under python/install/)', async () => {
    const s = await scenarioWithManifest('runtime-txt-only', { versions: ['3.11.7+full', '3.12'] });
    const result = await runBuild(s, { upTo: 'builder' });
    expect(result.success).toBe(true);
    expect(spawnSync(layerPython(s), ['-c', 'import ssl, json; print("ok")'], { encoding: 'utf8' }).stdout.trim()).toBe('ok');
  });

  it('honours BP_PYTHON_VERSION over runtime.txt, with a warning naming both', async () => {
    const s = await scenarioWithManifest('runtime-txt-only');
    s.setEnv('BP_PYTHON_VERSION', '3.12');
    const result = await runBuild(s, { upTo: 'builder' });
    expect(result.success).toBe(true);
    expect(result.buildLog).toContain('BP_PYTHON_VERSION asks for 3.12, but runtime.txt asks for 3.11');
    expect(result.buildLog).toContain(`Installing Python ${runtime('3.12').version}`);
  });
});

describe("the runtime's finishing step on python-build-standalone's shape", () => {
  it('a runtime with no .pyc at all (PBS strips every __pycache__) gets the whole stdlib compiled checked-hash, reproducibly', async () => {
    const py311 = runtime('3.11');
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pbs-shape-'));
    try {
      const compileOnce = async (dir: string) => {
        fs.mkdirSync(dir);
        expect(spawnSync('tar', ['-xzf', path.join(mirror.root, py311.file), '-C', dir]).status).toBe(0);
        const prefix = path.join(dir, 'python');
        expect(spawnSync('find', [prefix, '-name', '__pycache__', '-prune', '-exec', 'rm', '-rf', '{}', '+']).status).toBe(0);
        let text = '';
        const finished = await finishRuntimeInstall(prefix, { minor: '3.11', log: new Log((t) => (text += t)) });
        if (finished.bootstrapPip) fs.rmSync(finished.bootstrapPip, { recursive: true, force: true }); // the moved-aside pip
        return { prefix, finished, text };
      };
      const one = await compileOnce(path.join(work, 'one'));
      const stdlib = path.join(one.prefix, 'lib', 'python3.11');
      const census = pycCensus(stdlib);
      expect(one.finished.bytecode).toMatchObject({ restamped: 0, kept: 0, uncompilable: 0, optimizedFiles: 0 });
      expect(one.finished.bytecode.compiled).toBe(census.checkedHash.length);
      expect(census.checkedHash.length).toBeGreaterThan(500);
      expect({ withoutPyc: census.withoutPyc, timestamp: census.timestamp }).toEqual({ withoutPyc: [], timestamp: [] });
      expect(one.text).toMatch(/compiled \d+ \.py that had none/);
      // The same bytes from a second compile of the same tree (PYTHONHASHSEED=0; no paths differ,
      // since both trees are compiled as .../python/lib/...: compare the code after the header).
      const two = await compileOnce(path.join(work, 'two'));
      const differing = census.checkedHash.filter((f) => !fs.readFileSync(path.join(stdlib, f)).subarray(16).equals(fs.readFileSync(path.join(two.prefix, 'lib', 'python3.11', f)).subarray(16)));
      // co_filename holds the tree's path: the only allowed difference is 'one' against 'two'.
      const unexplained = differing.filter((f) => {
        const a = fs.readFileSync(path.join(stdlib, f)).toString('latin1').split(path.join(work, 'one')).join('X');
        const b = fs.readFileSync(path.join(two.prefix, 'lib', 'python3.11', f)).toString('latin1').split(path.join(work, 'two')).join('X');
        return a !== b;
      });
      expect(unexplained).toEqual([]);
      // And the runtime still runs, importing from that bytecode without compiling anything.
      const v = spawnSync(path.join(one.prefix, 'bin', 'python3'), ['-v', '-c', 'import json, email.message'], { encoding: 'utf8' });
      expect(v.status).toBe(0);
      expect(v.stderr.split('\n').filter((l) => /bytecode is stale|^# code object from [^']/.test(l))).toEqual([]);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('timestamp-only bytecode (Python 2.7 and 3.6, no PEP 552): valid under the exporter\'s mtime', () => {
  const EXPORTED_MTIME = 315532801; // 1980-01-01 00:00:01 UTC, every file's mtime in an exported image

  it.each(['2.7', '3.6'])('Python %s: a valid .pyc is re-stamped, a missing one compiled, a broken source left alone, and the image imports from them', async (minor) => {
    const python = path.join(path.dirname(hostPython(minor)), `python${minor}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'timestamp-pyc-'));
    try {
      fs.writeFileSync(path.join(dir, 'compiled_before.py'), 'VALUE = 1\n');
      fs.writeFileSync(path.join(dir, 'never_compiled.py'), 'VALUE = 2\n');
      fs.writeFileSync(path.join(dir, 'broken.py'), 'def (:\n');
      // What pip or make install leaves: a .pyc valid for the source as it is now.
      expect(spawnSync(python, ['-c', 'import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)', path.join(dir, 'compiled_before.py')]).status).toBe(0);
      const report = await stampLegacyBytecode(python, dir);
      expect(report).toMatchObject({ restamped: 1, kept: 0, compiled: 1, uncompilable: 1 });
      // The exporter: every file gets the same mtime.
      const all = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(path.join(d, e.name)) : [path.join(d, e.name)]));
      for (const f of all(dir)) fs.utimesSync(f, EXPORTED_MTIME, EXPORTED_MTIME);
      const v = spawnSync(python, ['-v', '-c', 'import compiled_before, never_compiled; assert compiled_before.VALUE + never_compiled.VALUE == 3'], { cwd: dir, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1' } });
      expect({ status: v.status, tail: v.status === 0 ? '' : v.stderr.slice(-1500) }).toEqual({ status: 0, tail: '' });
      const lines = v.stderr.split('\n');
      // Python 2: "import x # precompiled from x.pyc" / "x.pyc has bad mtime"; 3.x: "code object from 'x.pyc'" / "bytecode is stale".
      const fromPyc = minor === '2.7' ? lines.filter((l) => /^import (compiled_before|never_compiled) # precompiled from /.test(l)) : lines.filter((l) => /^# code object from '.*(compiled_before|never_compiled)\.cpython-36\.pyc'$/.test(l));
      expect(fromPyc).toHaveLength(2);
      expect(lines.filter((l) => /bad mtime|bytecode is stale|# code object from [^']|from .*\.py$/.test(l) && /compiled_before|never_compiled/.test(l))).toEqual([]);
      // A second pass changes nothing: every .pyc already records the exporter's mtime.
      expect(await stampLegacyBytecode(python, dir)).toMatchObject({ restamped: 0, kept: 2, compiled: 0, uncompilable: 1 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dependency mirrors', () => {
  it('BP_DEPENDENCY_MIRROR_<HOST> serves an upstream URL from the mirror; {originalHost} keeps the host in the path', async () => {
    const py311 = runtime('3.11');
    const s = await scenarioWithManifest('runtime-txt-only', { versions: ['3.12'] });
    // The manifest names the upstream host, which this machine cannot reach: only the mirror can serve it.
    const upstream = runtimeEntry(mirror, py311, (file) => `https://github.com/${file}`);
    const manifest = path.join(s.root, 'manifest.toml');
    await writeRuntimeManifest(mirror, manifest, { versions: ['3.12'], extraEntries: [upstream] });

    s.setEnv('BP_DEPENDENCY_MIRROR_GITHUB_COM', mirror.url);
    mirror.clearLog();
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toContain(`Downloading Python ${py311.version} from ${mirror.url}/${py311.file} (mirror from BP_DEPENDENCY_MIRROR*)`);
    expect(mirror.requests().map((q) => q.path)).toEqual([`/${py311.file}`]);
    expect(spawnSync(layerPython(s), ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(`Python ${py311.version}`);

    // With {originalHost} the original host becomes part of the mirror path (Paketo's convention).
    s.unsetEnv('BP_DEPENDENCY_MIRROR_GITHUB_COM');
    s.setEnv('BP_DEPENDENCY_MIRROR', `${mirror.url}/mirrors/{originalHost}`);
    mirror.clearLog();
    const placeholder = await runBuild(s, { upTo: 'builder' });
    expect(placeholder.success).toBe(false); // that path is not on the test mirror: the request proves the rewrite
    expect(mirror.requests().map((q) => q.path)).toContain(`/mirrors/github.com/${py311.file}`);
    expect(placeholder.buildLog).toMatch(/Error: Download failed[\s\S]*answered HTTP 404/);
  });
});

describe('bad version input: a clear error and a failed build', () => {
  // Every row has three elements: jest takes a callback with more parameters than the row as `done`.
  it.each<[string, RegExp, Record<string, string>]>([
    ['runtime-txt-invalid', /Error: Invalid Python version in runtime\.txt[\s\S]*runtime\.txt contains "python3\.12"[\s\S]*python-<major>\.<minor>\[\.<patch>\]/, {}],
    ['runtime-txt-binary-garbage', /Error: runtime\.txt is not a text file[\s\S]*NUL bytes[\s\S]*printf 'python-3\.13\\n' > runtime\.txt/, {}],
    ['python-version-multiple', /Error: More than one Python version in \.python-version/, {}],
    ['python-version-system', /Error: \.python-version asks for the "system" Python/, {}],
    ['python-version-pypy', /does not provide[\s\S]*"pypy3\.10"[\s\S]*CPython only/, {}],
    ['python-version-utf16', /Error: \.python-version is encoded as UTF-16/, {}],
    ['python-version-bom', /Error: \.python-version starts with a byte order mark/, {}],
    ['python-version-eol', /Error: Python 2\.7 has reached end-of-life[\s\S]*Available for amd64: /, {}],
    ['python-version-unavailable', /Error: Python 3\.12\.99 is not available for amd64[\s\S]*Available for amd64: /, {}],
    ['python-version-future', /Error: Python 3\.19 is not available yet/, {}],
    ['pyproject-requires-python-unsatisfiable', /Error: No Python version matches requires-python[\s\S]*>=3\.20/, {}],
    ['pipfile-lock-bad-version', /Error: Invalid Python version in Pipfile\.lock[\s\S]*"three"/, {}],
    ['bp-python-version-env', /Error: Invalid Python version in BP_PYTHON_VERSION[\s\S]*"latest"/, { BP_PYTHON_VERSION: 'latest' }],
  ])('%s', async (fixture, pattern, env) => {
    const s = await scenarioWithManifest(fixture);
    for (const [k, v] of Object.entries(env)) s.setEnv(k, v);
    mirror.clearLog();
    const result = await runBuild(s, { upTo: 'builder' });
    expect(result.success).toBe(false);
    expect(result.failedPhase).toBe('builder');
    expect(result.buildLog).toMatch(pattern);
    expect(result.buildLog).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m); // no stack trace for user mistakes
    expect(runtimeDownloads()).toEqual([]); // analysed before any download
    expect(readLayerToml(s, 'python')).toBeUndefined();
  });
});

describe('broken downloads fail cleanly, and the next good build succeeds', () => {
  it.each<[string, 'corrupt' | '500' | 'cut' | 'dotdot', RegExp]>([
    ['a corrupted archive (one flipped byte)', 'corrupt', /Error: Checksum mismatch[\s\S]*Expected: [0-9a-f]{64}[\s\S]*Actual: +[0-9a-f]{64}/],
    ['a 500 from the mirror', '500', /Error: Download failed[\s\S]*answered HTTP 500[\s\S]*Gave up after 4 attempts/],
    ['a connection cut mid-stream', 'cut', /Error: Download failed[\s\S]*(connection broke|got \d+ of \d+ bytes)/],
    ['a .. entry in the archive', 'dotdot', /Error: Unsafe archive[\s\S]*points outside the destination/],
  ])('%s', async (_name, fault, pattern) => {
    const py311 = runtime('3.11');
    const s = await scenarioWithManifest('runtime-txt-only', { versions: ['3.12'] });
    const faulty = runtimeEntry(mirror, py311, (file) => mirror.urlFor(file, fault));
    if (fault === 'dotdot') faulty.checksum = `sha256:${await mirror.sha256(new URL(faulty.uri).pathname.slice(1))}`;
    const manifest = path.join(s.root, 'manifest.toml');
    await writeRuntimeManifest(mirror, manifest, { versions: ['3.12'], extraEntries: [faulty] });

    const bad = await runBuild(s, { upTo: 'builder' });
    expect(bad.success).toBe(false);
    expect(bad.buildLog).toMatch(pattern);
    expect(bad.buildLog).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
    expect(readLayerToml(s, 'python')).toBeUndefined(); // nothing claims to be complete

    await writeRuntimeManifest(mirror, manifest, {});
    const good = await runBuild(s, { upTo: 'builder', freshLayers: false });
    expect(good.success).toBe(true);
    expect(good.buildLog).toContain(`Installing Python ${py311.version}`);
    expect(spawnSync(layerPython(s), ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(`Python ${py311.version}`);
  });
});
