// The debug log's lines, the build report, the Paketo names and the dist-info readers, as pure
// functions (and the trace they listen to). The lifecycle test is test/integration/build-report.test.ts.
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defineLayer, openLayer, stringKey } from '../../src/cnb/layer';
import { run } from '../../src/io/exec';
import { Log } from '../../src/log';
import { applyPaketoNames, withPaketoAliases } from '../../src/paketo-env';
import { BUILD_REPORT_LABEL, buildReport, layerReport, parseStoredReport, reportLabel, reportOfImage, startBuildReport, type BuildReport, type LayerReport } from '../../src/report/build-report';
import { reportForImage } from '../../src/layers/build-report';
import { commandLine, debugWanted, layerLines, startDebugLog } from '../../src/report/debug-log';
import { countInstalledPackages, normalizeName, parseMetadata, parseRecord, readInstalledDistributions } from '../../src/sbom/installed';
import { UserError } from '../../src/errors';

const def = defineLayer({
  name: 'python',
  types: { build: true, launch: true, cache: true },
  key: stringKey(['python_version', 'arch'] as const),
  reasons: { python_version: (a, b) => `the Python version changed from ${a} to ${b}`, arch: (a, b) => `the architecture changed from ${a} to ${b}` },
});

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'report-test-'));
});
afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

describe('debug log', () => {
  it('is on for BP_LOG_LEVEL=debug in any case, or a truthy BP_DEBUG; off otherwise', () => {
    expect([{ BP_LOG_LEVEL: 'DEBUG' }, { BP_LOG_LEVEL: 'debug' }, { BP_DEBUG: 'true' }, { BP_DEBUG: '1' }].map(debugWanted)).toEqual([true, true, true, true]);
    expect([{}, { BP_LOG_LEVEL: 'INFO' }, { BP_DEBUG: 'false' }, { BP_DEBUG: '0' }, { BP_DEBUG: '' }].map(debugWanted)).toEqual([false, false, false, false, false]);
  });

  it('a command line: URLs without credentials, quoted where needed, long scripts by length, exit and duration', () => {
    const line = commandLine({ command: '/l/python3', args: ['-m', 'pip', '--index-url', 'https://u:hunter2@idx.example/simple', 'a b', 'x'.repeat(200)], cwd: '/workspace', exitCode: 3, ms: 1500 });
    expect(line).toBe("Ran /l/python3 -m pip --index-url 'https://***:***@idx.example/simple' 'a b' <200 characters> (cwd /workspace): exit 3 in 1.5s");
    expect(line).not.toContain('hunter2');
  });

  it('a cache decision lists every key field, cached and wanted, and why', () => {
    const lines = layerLines({
      layer: 'python',
      restored: { python_version: '3.12.1', arch: 'amd64' },
      wanted: { python_version: '3.13.9', arch: 'amd64' },
      decision: { action: 'create', cause: 'changed', cached: { python_version: '3.12.1', arch: 'amd64' }, reasons: ['the Python version changed from 3.12.1 to 3.13.9'] },
    });
    expect(lines).toEqual(['Layer python: create (changed)', '  python_version: cached 3.12.1, wanted 3.13.9', '  arch: amd64 (unchanged)', '  why: the Python version changed from 3.12.1 to 3.13.9']);
    expect(layerLines({ layer: 'pip', restored: undefined, wanted: { v: '1' }, decision: { action: 'create', cause: 'new' } })).toEqual(['Layer pip: create (new), no cached metadata', '  v: wanted 1']);
  });

  it('listens to real commands and layers while on, names env vars but never their values, and stops', async () => {
    let out = '';
    const log = new Log((t) => (out += t));
    const debug = startDebugLog({ BP_LOG_LEVEL: 'DEBUG', API_TOKEN: 'tok-3f9a1c' }, log);
    await run('sh', ['-c', 'exit 4'], { env: { PATH: process.env.PATH ?? '' } });
    await openLayer(dir, def, { python_version: '3.13.9', arch: 'amd64' });
    debug.stop();
    await run('true', [], { env: { PATH: process.env.PATH ?? '' } });
    expect(out).toContain('[debug] Platform env names (values not shown): API_TOKEN, BP_LOG_LEVEL\n');
    expect(out).toMatch(/\[debug\] Ran sh -c 'exit 4': exit 4 in \d+ms\n/);
    expect(out).toContain('[debug] Layer python: create (new), no cached metadata\n[debug]   python_version: wanted 3.13.9\n');
    expect(out).not.toContain('tok-3f9a1c');
    expect(out).not.toContain('Ran true');
  });

  it('off: nothing is written', async () => {
    let out = '';
    const debug = startDebugLog({ BP_LOG_LEVEL: 'INFO' }, new Log((t) => (out += t)));
    await run('true', [], { env: { PATH: process.env.PATH ?? '' } });
    debug.stop();
    expect(out).toBe('');
  });
});

describe('build report', () => {
  const analysis = {
    python: { version: '3.12.4', request: { spec: '3.12', kind: 'version' as const, source: 'runtime.txt' as const, origin: 'runtime.txt' }, entry: {} as never, notes: [], warnings: [] },
    dependencies: { manager: { kind: 'pip' } as never, inputs: {} as never, tool: { id: 'pip', version: '26.3', uri: 'https://x/pip.whl', checksum: 'sha256:00' } as never },
  };
  it('records each layer decision and how long a created layer took, from the trace', async () => {
    let t = 1000;
    const collector = startBuildReport(() => (t += 100));
    const created = await openLayer(dir, def, { python_version: '3.12.4', arch: 'amd64' });
    await created.commit();
    await openLayer(dir, def, { python_version: '3.12.4', arch: 'amd64' }); // now reused
    const report = collector.finish({ info: { id: 'python-cnb/python', version: '0.1.0' }, analysis, packages: 7 });
    expect(report.layers).toEqual([{ name: 'python', decision: 'reused', reasons: [] }]); // the last decision per layer
    expect(report.python).toEqual({ version: '3.12.4', requested: '3.12', source: 'runtime.txt' });
    expect(report.dependencies).toEqual({ package_manager: 'pip', tool: 'pip', tool_version: '26.3', packages: 7 });
    expect(report.durations_ms.total).toBeGreaterThan(0);
    expect(JSON.parse(reportLabel(report).value)).toEqual(report);
    expect(reportLabel(report).key).toBe(BUILD_REPORT_LABEL);
  });
  it('rebuilt layers carry their reasons; created ones their time', () => {
    expect(layerReport({ layer: 'x', restored: {}, wanted: {}, decision: { action: 'create', cause: 'forced', reasons: ['asked'] } }, 5)).toEqual({ name: 'x', decision: 'rebuilt', reasons: ['asked'], ms: 5 });
    expect(layerReport({ layer: 'x', restored: undefined, wanted: {}, decision: { action: 'create', cause: 'new' } }, 9)).toEqual({ name: 'x', decision: 'created', reasons: [], ms: 9 });
  });
  describe('the report the image carries', () => {
    const info = { id: 'python-cnb/python', version: '0.1.0' };
    const made = (layers: LayerReport[], total: number, packages = 7): BuildReport => buildReport({ info, analysis, packages }, layers, total);
    const cold = made([{ name: 'python', decision: 'created', reasons: [], ms: 900 }, { name: 'pip', decision: 'created', reasons: [], ms: 300 }], 5000);
    const warm = made([{ name: 'python', decision: 'kept', reasons: [] }, { name: 'pip', decision: 'reused', reasons: [] }], 800);

    it('a build that changed nothing keeps the report of the build that made the layers (same label, same image ID)', () => {
      expect(reportOfImage(warm, cold)).toBe(cold);
      expect(reportOfImage(warm, reportOfImage(warm, cold))).toBe(cold); // and the next one too
    });
    it('its own report when a layer was created or rebuilt, the packages, Python or layer set changed, or there is none before', () => {
      const rebuilt = made([{ name: 'python', decision: 'kept', reasons: [] }, { name: 'pip', decision: 'rebuilt', reasons: ['the pip version changed'], ms: 200 }], 900);
      expect(reportOfImage(rebuilt, cold)).toBe(rebuilt);
      expect(reportOfImage(warm, undefined)).toBe(warm);
      const morePackages = made(warm.layers, 800, 8);
      expect(reportOfImage(morePackages, cold)).toBe(morePackages);
      const otherPython = { ...warm, python: { ...warm.python, version: '3.12.5' } };
      expect(reportOfImage(otherPython, cold)).toBe(otherPython);
      const fewerLayers = made([{ name: 'python', decision: 'kept', reasons: [] }], 800);
      expect(reportOfImage(fewerLayers, cold)).toBe(fewerLayers);
      const otherBuildpack = { ...warm, buildpack: { ...info, version: '0.2.0' } };
      expect(reportOfImage(otherBuildpack, cold)).toBe(otherBuildpack);
    });
    it('a stored report is read back only when it has the report shape', () => {
      expect(parseStoredReport(JSON.stringify(cold))).toEqual(cold);
      expect([undefined, 42, '{', '{}', JSON.stringify({ ...cold, schema: 2 }), JSON.stringify({ ...cold, layers: [{ name: 'x' }] })].map(parseStoredReport)).toEqual(Array(6).fill(undefined));
    });
    it('is stored in a cache-only layer with no files and read back by the next build', async () => {
      expect(await reportForImage(dir, cold)).toBe(cold);
      const toml = await fsp.readFile(path.join(dir, 'build-report.toml'), 'utf8');
      expect(toml).toMatch(/\[types\]\s*\nbuild = false\s*\nlaunch = false\s*\ncache = true/);
      expect(await fsp.readdir(path.join(dir, 'build-report'))).toEqual([]);
      expect(await reportForImage(dir, warm)).toEqual(cold);
      await fsp.writeFile(path.join(dir, 'build-report.toml'), '[metadata]\nreport = "not json"\n');
      expect(await reportForImage(dir, warm)).toBe(warm);
    });
  });
  it('no request: the default; no dependencies: null', () => {
    const r = buildReport({ info: { id: 'a', version: '1' }, analysis: { python: { ...analysis.python, request: undefined }, dependencies: undefined } }, [], 1);
    expect(r.python.source).toBe('default');
    expect(r.dependencies).toBeNull();
  });
});

describe('Paketo names', () => {
  it('BP_CPYTHON_VERSION is read as BP_PYTHON_VERSION, with a note', () => {
    const r = applyPaketoNames({ BP_CPYTHON_VERSION: '3.12' });
    expect(r.env.BP_PYTHON_VERSION).toBe('3.12');
    expect(r.notes).toEqual(["Reading BP_CPYTHON_VERSION (Paketo's name) as BP_PYTHON_VERSION=3.12"]);
    expect(r.warnings).toEqual([]);
  });
  it('both set alike: fine; differently: an error naming both', () => {
    expect(applyPaketoNames({ BP_CPYTHON_VERSION: '3.12', BP_PYTHON_VERSION: '3.12' }).env.BP_PYTHON_VERSION).toBe('3.12');
    let thrown: unknown;
    try {
      applyPaketoNames({ BP_CPYTHON_VERSION: '3.11', BP_PYTHON_VERSION: '3.12' });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(UserError);
    expect((thrown as UserError).title).toBe('BP_CPYTHON_VERSION and BP_PYTHON_VERSION disagree');
    expect((thrown as UserError).body.join('\n')).toContain('"3.11"');
  });
  it('the others are warned about, one line each, never silently ignored; ours are not', () => {
    const r = applyPaketoNames({ BP_PIP_VERSION: '24', BP_PIP_DEST_PATH: 'wheels', BP_LIVE_RELOAD_ENABLED: 'true', BPE_FOO: 'x', BP_PIPENV_DEV: 'true', BP_LOG_LEVEL: 'DEBUG' });
    expect(r.warnings).toHaveLength(1);
    const body = r.warnings[0]!.body;
    expect(body.map((l) => l.split(':')[0])).toEqual(['BPE_FOO', 'BP_LIVE_RELOAD_ENABLED', 'BP_PIP_DEST_PATH', 'BP_PIP_VERSION', 'Unset them, or see the README ("Paketo variables") for what this buildpack reads instead.']);
  });
  it('detect reads the alias unless our name is set', () => {
    expect(withPaketoAliases({ BP_CPYTHON_VERSION: '3.11' }).BP_PYTHON_VERSION).toBe('3.11');
    expect(withPaketoAliases({ BP_CPYTHON_VERSION: '3.11', BP_PYTHON_VERSION: '3.12' }).BP_PYTHON_VERSION).toBe('3.12');
  });
});

describe('installed distributions', () => {
  it('METADATA headers: name, version, license fields; the description is not read', () => {
    const m = parseMetadata('Metadata-Version: 2.4\nName: Flask_Login\nVersion: 0.6.3\nLicense: MIT\n  more text\nLicense-Expression: MIT\nClassifier: License :: OSI Approved :: MIT License\nClassifier: Framework :: Flask\n\nName: not-this\n');
    expect(m).toEqual({ name: 'Flask_Login', version: '0.6.3', licenseExpression: 'MIT', licenseText: 'MIT', licenseClassifiers: ['OSI Approved :: MIT License'] });
    expect(parseMetadata('Name: x\n')).toBeUndefined();
  });
  it('RECORD digests become hex; lines without a hash are skipped', () => {
    expect(parseRecord('a/b.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\nx.dist-info/RECORD,,\n')).toEqual([{ path: 'a/b.py', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }]);
    expect(normalizeName('Flask_Login.x')).toBe('flask-login-x');
  });
  it('reads every dist-info of a venv, sorted by normalized name, and counts them', async () => {
    const site = path.join(dir, 'lib', 'python3.12', 'site-packages');
    for (const [n, v] of [['Zeta', '1.0'], ['alpha', '2.0']]) {
      await fsp.mkdir(path.join(site, `${n}-${v}.dist-info`), { recursive: true });
      await fsp.writeFile(path.join(site, `${n}-${v}.dist-info`, 'METADATA'), `Name: ${n}\nVersion: ${v}\n`);
    }
    const found = await readInstalledDistributions(dir);
    expect(found.map((d) => [d.name, d.version, d.distInfo])).toEqual([
      ['alpha', '2.0', 'lib/python3.12/site-packages/alpha-2.0.dist-info'],
      ['Zeta', '1.0', 'lib/python3.12/site-packages/Zeta-1.0.dist-info'],
    ]);
    expect(await countInstalledPackages(dir)).toBe(2);
  });
});
