// Issue 19 through the real lifecycle, on one app built twice (cold, then warm): the debug log
// (BP_LOG_LEVEL=DEBUG), Paketo's names (BP_CPYTHON_VERSION, a warned BP_PIP_VERSION), the build
// report label and the SBOMs in the exported image's SBOM layer.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createScenario, layerPath, readAppImage, runBuild, type BuildResult, type Scenario } from '../helpers/lifecycle';
import { cyclonedxSchemaErrors, readImageSboms, spdxSchemaErrors, syftSchemaErrors } from '../helpers/sbom';
import { startMirror, writeRuntimeManifest, type Mirror } from '../helpers/mirror';
import { startPackageIndex, type PackageIndex } from '../helpers/package-index';

const SECRET = 'sk-live-93f1c0de7a5b';
const LABEL = 'io.buildpacks.python-cnb.build';

function context(r: BuildResult): string {
  return `failed phase: ${r.failedPhase ?? 'none'} (exit ${r.exitCode})\n${r.log}`;
}

let mirror: Mirror;
let index: PackageIndex;
let s: Scenario;
let cold: BuildResult;
let warm: BuildResult;
let coldLabel: Record<string, unknown>;
let warmLabel: Record<string, unknown>;
let coldSboms: Record<string, string>;
let coldDiffIds: string[];
let warmDiffIds: string[];
let warmSboms: Record<string, string>;
/** `pip list --format json` over the venv's site-packages, by the pip layer's pip (the runtime ships none). */
let pipList: Array<{ name: string; version: string }>;
/** What the runtime reports: its SQLite and OpenSSL versions. */
let runtimeReports: string[];

beforeAll(async () => {
  mirror = await startMirror();
  index = await startPackageIndex();
  s = createScenario('pip-requirements');
  s.setEnv('BP_PYTHON_MANIFEST', await writeRuntimeManifest(mirror, path.join(s.root, 'runtimes.toml')));
  s.setEnv('PIP_INDEX_URL', index.url);
  s.setEnv('BP_LOG_LEVEL', 'DEBUG');
  s.setEnv('BP_CPYTHON_VERSION', '3.11');
  s.setEnv('BP_PIP_VERSION', '24.0');
  s.setEnv('MY_API_TOKEN', SECRET);
  cold = await runBuild(s);
  coldLabel = JSON.parse(readAppImage(s)?.labels[LABEL] ?? 'null');
  coldSboms = cold.success ? await readImageSboms(readAppImage(s)!) : {};
  coldDiffIds = readAppImage(s)?.config.rootfs?.diff_ids ?? [];
  // Listed after the cold build: on the warm one the unchanged venv and runtime are kept in the
  // image by their metadata (src/layers/reuse.ts), so their files are not in the layers dir.
  const venvLib = path.join(layerPath(s, 'site-packages'), 'lib');
  const site = path.join(venvLib, fs.readdirSync(venvLib)[0]!, 'site-packages');
  // The runtime's bundled pip is removed (issue 20), so pip runs from the build-only pip layer.
  const listed = spawnSync(path.join(layerPath(s, 'python'), 'bin', 'python3'), ['-m', 'pip', 'list', '--disable-pip-version-check', '--format', 'json', '--path', site], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONUSERBASE: layerPath(s, 'pip') },
  });
  if (listed.status !== 0) throw new Error(`pip list failed: ${listed.stderr}`);
  pipList = JSON.parse(listed.stdout || '[]');
  runtimeReports = spawnSync(path.join(layerPath(s, 'python'), 'bin', 'python3'), ['-c', 'import sqlite3, ssl; print(sqlite3.sqlite_version, ssl.OPENSSL_VERSION.split()[1])'], { encoding: 'utf8' }).stdout.trim().split(' ');
  warm = await runBuild(s);
  warmLabel = JSON.parse(readAppImage(s)?.labels[LABEL] ?? 'null');
  warmSboms = warm.success ? await readImageSboms(readAppImage(s)!) : {};
  warmDiffIds = readAppImage(s)?.config.rootfs?.diff_ids ?? [];
}, 600_000);
afterAll(async () => {
  await mirror?.close();
  await index?.close();
});

describe('supply chain and reach (issue 19)', () => {
  test('both builds succeed', () => {
    expect({ success: cold.success, context: context(cold) }).toEqual({ success: true, context: context(cold) });
    expect({ success: warm.success, context: context(warm) }).toEqual({ success: true, context: context(warm) });
  });

  test('the build log holds no warning of the Node runtime (the packaged executable once printed one for every build)', () => {
    for (const r of [cold, warm]) expect(r.buildLog).not.toMatch(/\(node:\d+\) \w*Warning|single-executable/);
  });

  test('BP_LOG_LEVEL=DEBUG: env names, manifest entry, cache decisions with every key field, every command with exit and duration', () => {
    const log = cold.buildLog;
    expect(log).toMatch(/^\[debug\] Platform env names \(values not shown\): .*\bMY_API_TOKEN\b/m);
    expect(log).toMatch(/^\[debug\] Manifest entry for Python: id python, version 3\.11\.\d+, uri http:\/\/127\.0\.0\.1:\d+\/\S+, sha256 [0-9a-f]{64}$/m);
    expect(log).toMatch(/^\[debug\] Layer python: create \(new\), no cached metadata\n\[debug\]   python_version: wanted 3\.11\.\d+\n\[debug\]   arch: wanted amd64\n/m);
    expect(log).toMatch(/^\[debug\] Layer site-packages: create \(new\)/m);
    expect(log).toMatch(/^\[debug\] Ran \S+\/python3 -m venv --without-pip \S+\/site-packages: exit 0 in \d+(ms|\.\ds)$/m);
    expect(log).toMatch(/^\[debug\] Ran \S+\/python3 -m pip --python \S+ install .*: exit 0 in \d/m);
    // The warm build: each reuse with every field unchanged.
    expect(warm.buildLog).toMatch(/^\[debug\] Layer python: keep\n\[debug\]   python_version: 3\.11\.\d+ \(unchanged\)\n/m);
    expect(warm.buildLog).toMatch(/^\[debug\]   dependencies_sha256: [0-9a-f]{64} \(unchanged\)$/m);
  });

  test('a secret-valued env var never appears in the log or the label', () => {
    expect(cold.log).not.toContain(SECRET);
    expect(warm.log).not.toContain(SECRET);
    expect(JSON.stringify(readAppImage(s)?.config)).not.toContain(SECRET);
  });

  test("Paketo's names: BP_CPYTHON_VERSION chose the version, BP_PIP_VERSION is warned about", () => {
    expect(cold.buildLog).toContain("Reading BP_CPYTHON_VERSION (Paketo's name) as BP_PYTHON_VERSION=3.11");
    expect(cold.buildLog).toContain('! Warning: A Paketo variable this buildpack does not use');
    expect(cold.buildLog).toMatch(/^! BP_PIP_VERSION: this buildpack installs the pip version it pins/m);
  });

  test('the build report label: Python and its source, the tool, the packages, each layer decision and durations', () => {
    expect(coldLabel).toMatchObject({
      schema: 1,
      buildpack: { id: 'python-cnb/python', version: '0.1.0' },
      python: { version: expect.stringMatching(/^3\.11\.\d+$/), requested: '3.11', source: 'BP_PYTHON_VERSION' },
      dependencies: { package_manager: 'pip', tool: 'pip', tool_version: expect.stringMatching(/^\d+\.\d+/) },
    });
    // flask==3.1.3 and its dependencies, as pip installed them.
    expect((coldLabel.dependencies as { packages: number }).packages).toBeGreaterThanOrEqual(6);
    const layers = (l: Record<string, unknown>) => Object.fromEntries((l.layers as Array<{ name: string; decision: string; ms?: number }>).map((x) => [x.name, x]));
    expect(layers(coldLabel).python).toMatchObject({ decision: 'created', ms: expect.any(Number) });
    expect(layers(coldLabel)['site-packages']).toMatchObject({ decision: 'created', ms: expect.any(Number) });
    // Unchanged and not needed by this build: kept in the image by their metadata (src/layers/reuse.ts).
    // The warm build changed nothing, so its image carries the cold build's report (the layers'
    // decisions and durations are those of the build that made them): same label, same image.
    expect(warm.buildLog).toMatch(/^\[debug\] Layer python: keep$/m);
    expect(warm.buildLog).toMatch(/^\[debug\] Layer site-packages: keep$/m);
    expect(warmLabel).toEqual(coldLabel);
    expect(warmDiffIds.length).toBeGreaterThan(3);
    expect(warmDiffIds).toEqual(coldDiffIds);
    expect((coldLabel.durations_ms as { total: number }).total).toBeGreaterThan(0);
  });

  const BP = 'python-cnb_python';
  const FORMATS = ['cdx', 'spdx', 'syft'];

  test('the SBOM layer holds the three formats for python and site-packages, each valid for its format', async () => {
    for (const layer of ['python', 'site-packages']) {
      for (const ext of FORMATS) expect(Object.keys(coldSboms)).toContain(`${BP}/${layer}/sbom.${ext}.json`);
      expect(await cyclonedxSchemaErrors(coldSboms[`${BP}/${layer}/sbom.cdx.json`]!)).toBeNull();
      expect(spdxSchemaErrors(JSON.parse(coldSboms[`${BP}/${layer}/sbom.spdx.json`]!))).toEqual([]);
      expect(syftSchemaErrors(JSON.parse(coldSboms[`${BP}/${layer}/sbom.syft.json`]!))).toEqual([]);
    }
    // The build-only pip layer has its SBOM too (the lifecycle keeps build SBOMs out of the image).
    expect(JSON.parse(fs.readFileSync(path.join(s.buildpackLayersDir, 'pip.sbom.cdx.json'), 'utf8')).components).toEqual([
      expect.objectContaining({ name: 'pip', purl: expect.stringMatching(/^pkg:pypi\/pip@/), hashes: [{ alg: 'SHA-256', content: expect.stringMatching(/^[0-9a-f]{64}$/) }] }),
    ]);
  });

  test('the python SBOM: CPython with purl, CPE, license and the artifact sha256; SQLite and OpenSSL as the runtime reports them', () => {
    const doc = JSON.parse(coldSboms[`${BP}/python/sbom.cdx.json`]!);
    const byName = Object.fromEntries(doc.components.map((c: { name: string }) => [c.name, c]));
    expect(byName.CPython).toMatchObject({ version: expect.stringMatching(/^3\.11\.\d+$/), purl: expect.stringMatching(/^pkg:generic\/cpython@3\.11/), cpe: expect.stringMatching(/^cpe:2\.3:a:python:python:3\.11/), hashes: [{ alg: 'SHA-256', content: expect.stringMatching(/^[0-9a-f]{64}$/) }] });
    const reported = runtimeReports;
    expect(byName.SQLite?.version).toBe(reported[0]);
    expect(byName.OpenSSL?.version).toBe(reported[1]);
  });

  test('the site-packages SBOM lists exactly the installed distributions (pip list)', () => {
    expect(pipList.length).toBeGreaterThanOrEqual(6);
    const normalize = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');
    const fromPip = pipList.map((p) => `pkg:pypi/${normalize(p.name)}@${p.version}`).sort();
    const doc = JSON.parse(coldSboms[`${BP}/site-packages/sbom.cdx.json`]!);
    expect(doc.components.map((c: { purl: string }) => c.purl).sort()).toEqual(fromPip);
    const spdx = JSON.parse(coldSboms[`${BP}/site-packages/sbom.spdx.json`]!);
    expect(spdx.packages).toHaveLength(pipList.length);
    const syft = JSON.parse(coldSboms[`${BP}/site-packages/sbom.syft.json`]!);
    expect(syft.artifacts.map((a: { purl: string }) => a.purl).sort()).toEqual(fromPip);
  });

  test('a warm rebuild keeps every SBOM identical: the lifecycle restored them, none was written again', () => {
    expect(cold.buildLog).toMatch(/^\[debug\] SBOMs written for: python, pip, site-packages$/m);
    expect(warm.buildLog).toMatch(/^\[debug\] SBOMs written for: \(none: every layer kept its own\)$/m);
    expect(Object.keys(warmSboms).length).toBeGreaterThanOrEqual(6);
    expect(warmSboms).toEqual(coldSboms);
  });
});
