// One SBOM per layer, in the three formats the CNB spec names (<layer>.sbom.{cdx,spdx,syft}.json,
// declared in buildpack.toml's sbom-formats): python (CPython from its manifest entry, the SQLite
// and OpenSSL versions the runtime itself reports, and the distributions bundled with it), the
// build tool layers (pip, uv, Poetry, Pipenv: what is installed in them, the pinned wheel's sha256),
// sqlite, and site-packages (what is really installed in the venv, from each dist-info).
//
// Called once at the end of the build, it writes the documents a layer lacks: openLayer deletes a
// layer's SBOMs when it recreates the layer, and the lifecycle restores them with a reused layer's
// metadata, so a reused layer keeps its SBOM and costs nothing here (no walk of the venv); one that
// was not restored gets it written again from the same inputs, to the same bytes.
import * as path from 'node:path';
import type { Analysis } from '../analysis';
import type { Dependency } from '../python/manifest';
import { sha256Of } from '../python/manifest';
import { run } from '../io/exec';
import { isDirectory, pathExists, writeFileAtomic } from '../io/fs';
import { cyclonedxJson } from './cyclonedx';
import { normalizeName, readInstalledDistributions, type InstalledDistribution } from './installed';
import type { LayerSbom, SbomComponent } from './model';
import { spdxJson } from './spdx';
import { syftJson } from './syft';

export const SBOM_FORMATS = { cdx: cyclonedxJson, spdx: spdxJson, syft: syftJson } as const;

export interface SbomSources {
  buildpack: { id: string; version: string };
  /** The manifest entry the python layer was installed from. */
  python: Dependency;
  /** The manifest entries of the wheel-pinned tools (pip, uv) and of SQLite, when chosen. */
  entries: readonly Dependency[];
}

/** The manifest entries the analysis chose: Python, the wheel-pinned tool (pip, uv; Poetry and
 *  Pipenv are pinned by requirements files instead), SQLite. */
export function chosenEntries(a: Pick<Analysis, 'python' | 'dependencies' | 'sqlite'>): { python: Dependency; tool?: Dependency; sqlite?: Dependency } {
  const pin = a.dependencies?.tool;
  return { python: a.python.entry, ...(pin && 'uri' in pin ? { tool: pin } : {}), ...(a.sqlite.entry ? { sqlite: a.sqlite.entry } : {}) };
}

type Collect = (dir: string, sources: SbomSources) => Promise<SbomComponent[]>;

const LAYERS: Readonly<Record<string, Collect>> = {
  python: pythonComponents,
  pip: toolComponents,
  uv: toolComponents,
  poetry: toolComponents,
  pipenv: toolComponents,
  sqlite: async (_dir, sources) => sources.entries.filter((e) => e.id === 'sqlite').map((e) => entryComponent(e, 'library')),
  'site-packages': async (dir) => (await readInstalledDistributions(dir)).map(distributionComponent),
};

/** Writes the SBOMs of every layer of ours that has contents and lacks one; returns their names. */
export async function writeMissingSboms(layersDir: string, sources: SbomSources): Promise<string[]> {
  const written: string[] = [];
  for (const [layer, collect] of Object.entries(LAYERS)) {
    const dir = path.join(layersDir, layer);
    if (!(await pathExists(path.join(layersDir, `${layer}.toml`))) || !(await isDirectory(dir))) continue;
    const files = Object.keys(SBOM_FORMATS).map((ext) => path.join(layersDir, `${layer}.sbom.${ext}.json`));
    if ((await Promise.all(files.map(pathExists))).every(Boolean)) continue;
    const sbom: LayerSbom = { layer, buildpack: sources.buildpack, components: await collect(dir, sources) };
    for (const [ext, render] of Object.entries(SBOM_FORMATS)) await writeFileAtomic(path.join(layersDir, `${layer}.sbom.${ext}.json`), render(sbom));
    written.push(layer);
  }
  return written;
}

export function entryComponent(e: Dependency, type: SbomComponent['type'], location?: string): SbomComponent {
  return {
    name: e.name ?? e.id,
    version: e.version,
    type,
    ...(e.purl ? { purl: e.purl } : {}),
    cpes: e.cpes ?? [],
    license: e.licenses?.length ? { expression: e.licenses.join(' AND '), names: [] } : { names: [] },
    sha256: sha256Of(e),
    ...(location ? { location } : {}),
    properties: {},
  };
}

export function distributionComponent(d: InstalledDistribution): SbomComponent {
  const names = [...(d.licenseText ? [d.licenseText] : []), ...d.licenseClassifiers];
  return {
    name: d.name,
    version: d.version,
    type: 'library',
    purl: `pkg:pypi/${normalizeName(d.name)}@${encodeURIComponent(d.version)}`,
    cpes: [],
    license: d.licenseExpression ? { expression: d.licenseExpression, names: [] } : { names },
    location: d.distInfo,
    properties: d.recordSha256 ? { 'record-sha256': d.recordSha256 } : {},
  };
}

async function pythonComponents(dir: string, sources: SbomSources): Promise<SbomComponent[]> {
  const cpython = entryComponent(sources.python, 'application', 'bin/python3');
  const bundled = await runtimeLibraries(dir, cpython.version);
  return [cpython, ...bundled, ...(await readInstalledDistributions(dir)).map(distributionComponent)];
}

/** A tool layer: what is installed in it; the pinned wheel's manifest entry adds its sha256, CPEs and licenses. */
async function toolComponents(dir: string, sources: SbomSources): Promise<SbomComponent[]> {
  return (await readInstalledDistributions(dir)).map((d) => {
    const c = distributionComponent(d);
    const entry = sources.entries.find((e) => e.id === normalizeName(d.name) && e.version === d.version);
    return entry ? { ...c, cpes: entry.cpes ?? [], sha256: sha256Of(entry), ...(entry.licenses?.length ? { license: { expression: entry.licenses.join(' AND '), names: [] } } : {}) } : c;
  });
}

const REPORT_SCRIPT = 'import json, sqlite3, ssl; print(json.dumps({"sqlite": sqlite3.sqlite_version, "openssl": ssl.OPENSSL_VERSION}))';

/** SQLite and OpenSSL as the runtime itself reports them (python-build-standalone links both in). */
async function runtimeLibraries(dir: string, pythonVersion: string): Promise<SbomComponent[]> {
  // Python 2 (compiled from source) has bin/python and no python3, nor -I (isolated mode): -E -s there.
  const python3 = path.join(dir, 'bin', 'python3');
  const python2 = !(await pathExists(python3));
  const python = python2 ? path.join(dir, 'bin', 'python') : python3;
  if (python2 && !(await pathExists(python))) return [];
  const r = await run(python, [...(python2 ? ['-E', '-s'] : ['-I']), '-c', REPORT_SCRIPT], { env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }, keepLines: 5 }).catch(() => undefined);
  if (!r || r.exitCode !== 0) return [];
  let reported: { sqlite?: unknown; openssl?: unknown };
  try {
    reported = JSON.parse(r.tail.join('\n').trim());
  } catch {
    return [];
  }
  return runtimeLibraryComponents(reported, pythonVersion);
}

export function runtimeLibraryComponents(reported: { sqlite?: unknown; openssl?: unknown }, pythonVersion: string): SbomComponent[] {
  const found: SbomComponent[] = [];
  const bundled = { 'bundled-in': `CPython ${pythonVersion}` };
  if (typeof reported.sqlite === 'string' && /^\d+\.\d+\.\d+$/.test(reported.sqlite)) {
    const v = reported.sqlite;
    found.push({ name: 'SQLite', version: v, type: 'library', purl: `pkg:generic/sqlite@${v}`, cpes: [`cpe:2.3:a:sqlite:sqlite:${v}:*:*:*:*:*:*:*`], license: { expression: 'blessing', names: [] }, properties: { ...bundled, 'reported-by': 'sqlite3.sqlite_version' } });
  }
  const openssl = typeof reported.openssl === 'string' ? /^OpenSSL (\d+\.\d+\.\d+[a-z]*)\b/.exec(reported.openssl) : null;
  if (openssl) {
    const v = openssl[1]!;
    const major = Number(v.split('.')[0]);
    found.push({ name: 'OpenSSL', version: v, type: 'library', purl: `pkg:generic/openssl@${v}`, cpes: [`cpe:2.3:a:openssl:openssl:${v}:*:*:*:*:*:*:*`], license: major >= 3 ? { expression: 'Apache-2.0', names: [] } : { expression: 'OpenSSL', names: [] }, properties: { ...bundled, 'reported-by': 'ssl.OPENSSL_VERSION' } });
  }
  return found;
}
