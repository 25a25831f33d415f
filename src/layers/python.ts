// The `python` layer (launch; build and cache only for apps whose every build runs Python, and
// always for a Python compiled from source: see src/layers/reuse.ts): CPython from a verified
// python-build-standalone archive, relocated to the layer, or, for a manifest entry of kind
// "source", compiled from its verified python.org tarball with the layer as the prefix
// (src/runtime/source-build.ts). Both are finished by src/runtime/stdlib-bytecode.ts (bytecode valid
// in the image; no -O/-OO bytecode, no bundled pip). Key: python version, arch, distro, artifact
// sha256, how it was built ("prebuilt", or the compiler and BP_PYTHON_CONFIGURE_FLAGS) and how the
// layer is finished (RUNTIME_LAYOUT). When this build runs nothing from it and it is unchanged, the
// previous image's layer is kept as it is (no restore, no re-tar).
// Heroku keys its python layer the same way and logs every reason, "to prevent support tickets
// blamed on a stack upgrade that were really caused by the app's Python version".
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Target } from '../cnb/context';
import { LayerEnv, writeLayerEnv } from '../cnb/env';
import { defineLayer, openLayer, peekLayer, stringKey, type OpenLayerOptions } from '../cnb/layer';
import { listDir, pathExists, removePath } from '../io/fs';
import { formatDuration, type Log } from '../log';
import { sha256Of, type Dependency } from '../python/manifest';
import type { MirrorConfig } from '../python/mirrors';
import { bootstrapPipPath, finishRuntimeInstall, RUNTIME_LAYOUT, runtimeLeaveOut } from '../runtime/stdlib-bytecode';
import { compilePython, planSourceBuild, preflightSourceBuild, type Preflight, type SourceBuildPlan } from '../runtime/source-build';
import { isSourceEntry } from '../python/source-plan';
import { fetchIntoLayer, logCacheHit, logCacheMiss, targetKey } from './kit';
import { KEPT_NOTE } from './reuse';

export const pythonLayer = defineLayer({
  name: 'python',
  // The default; each build sets its own (launchLayerTypes in src/layers/reuse.ts).
  types: { build: true, launch: true, cache: true },
  key: stringKey(['python_version', 'arch', 'distro_name', 'distro_version', 'artifact_sha256', 'build', 'layout'] as const),
  reasons: {
    python_version: (a, b) => `the Python version changed from ${a} to ${b}`,
    arch: (a, b) => `the architecture changed from ${a} to ${b}`,
    distro_name: (a, b) => `the build image's distro changed from ${a} to ${b}`,
    distro_version: (a, b) => `the build image's distro version changed from ${a} to ${b}`,
    artifact_sha256: () => 'the runtime archive in the manifest changed (new checksum)',
    build: (a, b) => (a === 'prebuilt' || b === 'prebuilt' ? `it was ${a === 'prebuilt' ? 'a prebuilt archive' : 'compiled from source'} and is now ${b === 'prebuilt' ? 'a prebuilt archive' : 'compiled from source'}` : `the compiler or BP_PYTHON_CONFIGURE_FLAGS changed (was: ${a.replace(/^source; /, '')})`),
    layout: () => 'this buildpack version finishes the runtime differently (hash-based bytecode, no -O/-OO bytecode or bundled pip)',
  },
});

export interface InstalledPython {
  /** Absent when the layer was kept in the image without its files (`kept`). */
  dir: string;
  kept: boolean;
  /** <layer>/bin/python3, which runs every later step (venv, tool installs). */
  python: string;
  env: LayerEnv;
  /** A sys.path entry with a pip for installing the tool layers (the layer holds no pip); see
   *  bootstrapPipPath. */
  bootstrapPip?: string;
}

/** A source entry's build, decided before any download: the key part, and the preflight when it will compile. */
export interface SourcePython {
  plan: SourceBuildPlan;
  /** Undefined when the cached layer will be reused (nothing to compile, nothing to check). */
  preflight?: Preflight;
  /** The build env the compiler runs with. */
  env: Record<string, string>;
}

function layerKey(entry: Dependency, target: Target, source: SourcePython | undefined) {
  return { python_version: entry.version, ...targetKey(target), artifact_sha256: sha256Of(entry), build: source ? source.plan.key : 'prebuilt', layout: RUNTIME_LAYOUT };
}

/**
 * For a source entry, before any download (the SQLite layer's included): the compiler identity and
 * BP_PYTHON_CONFIGURE_FLAGS (part of the key), and, unless the cached layer will be reused, the
 * check for a compiler, make and the headers, which fails with one titled error naming all that is missing.
 */
export async function prepareSourcePython(opts: { layersDir: string; entry: Dependency; target: Target; env: Record<string, string> }): Promise<SourcePython | undefined> {
  if (!isSourceEntry(opts.entry)) return undefined;
  const source: SourcePython = { plan: await planSourceBuild(opts.env), env: opts.env };
  const decision = await peekLayer(opts.layersDir, pythonLayer, layerKey(opts.entry, opts.target, source));
  if (decision.action !== 'reuse') source.preflight = await preflightSourceBuild(opts.entry, opts.env);
  return source;
}

export async function installPython(opts: {
  layersDir: string;
  entry: Dependency;
  target: Target;
  mirrors: ReadonlyArray<MirrorConfig | undefined>;
  /** This build's [types] (cached or not) and whether it runs Python (else an unchanged layer is kept in the image). */
  reuse: Pick<OpenLayerOptions, 'types' | 'keepInImage'>;
  log: Log;
  source?: SourcePython;
  /** This build installs a tool layer with the runtime's own pip (uv, Poetry, Pipenv), so an
   *  archive's bundled pip is unpacked and kept aside for it (else it is not unpacked). */
  toolsNeedBundledPip: boolean;
}): Promise<InstalledPython> {
  const { entry, log } = opts;
  const minor = entry.version.split('.').slice(0, 2).join('.');
  const layer = await openLayer(opts.layersDir, pythonLayer, layerKey(entry, opts.target, opts.source), opts.reuse);
  const d = layer.decision;
  const env = pythonEnv(layer.dir, entry.version);
  // Python 2 installs bin/python2 and bin/python, no python3.
  const installed = { dir: layer.dir, kept: d.action === 'keep', python: path.join(layer.dir, 'bin', entry.version.startsWith('2.') ? 'python2' : 'python3'), env };
  if (d.action === 'keep') {
    logCacheHit(log, `Python ${entry.version}`);
    log.detail(KEPT_NOTE);
    return installed;
  }
  if (d.action === 'reuse') {
    logCacheHit(log, `Python ${entry.version}`);
    await writeLayerEnv(layer.dir, env);
    return { ...installed, bootstrapPip: await bootstrapPipPath(layer.dir, minor) };
  }
  logCacheMiss(log, 'Python', d, (k) => k.python_version);

  const started = Date.now();
  const source = opts.source;
  const install = source
    ? compilePython({ entry, prefix: layer.dir, plan: source.plan, preflight: source.preflight ?? (await preflightSourceBuild(entry, source.env)), env: source.env, mirrors: opts.mirrors, log })
    : fetchIntoLayer(entry, layer.dir, { prefix: entry.prefix ?? 'python/', what: `Python ${entry.version}`, mirrors: opts.mirrors, log, leaveOut: runtimeLeaveOut(opts.toolsNeedBundledPip) });
  const unpacked = await install.catch(async (e) => {
    await removePath(layer.dir); // no half-installed layer: its metadata was removed before we began
    throw e;
  });
  const finished = await (async () => {
    const rewritten = await relocate(layer.dir, minor);
    if (rewritten.length) log.detail(`Pointed ${rewritten.length} build configuration files at the layer (${rewritten.map((f) => path.basename(f)).join(', ')})`);
    await ensurePythonAlias(layer.dir);
    return finishRuntimeInstall(layer.dir, { minor, log, leftOut: unpacked && 'leftOut' in unpacked ? unpacked.leftOut : undefined });
  })().catch(async (e) => {
    await removePath(layer.dir);
    throw e;
  });
  await writeLayerEnv(layer.dir, env);
  await layer.commit();
  log.info(`Installed Python ${entry.version} in ${formatDuration(Date.now() - started)}`);
  return { ...installed, bootstrapPip: await bootstrapPipPath(layer.dir, minor, finished) };
}

/**
 * Env of the python layer. The lifecycle adds bin/ to PATH and lib/ to LD_LIBRARY_PATH itself, but
 * not the headers under include/python3.X/ nor lib/pkgconfig, which C extensions need
 * (python-build-standalone README; Heroku sets the same in python.rs). Never PYTHONHOME: the
 * relocatable runtime finds its stdlib from its own location, and a PYTHONHOME breaks venvs.
 */
export function pythonEnv(dir: string, version: string): LayerEnv {
  return LayerEnv.empty()
    .override('PYTHONUNBUFFERED', '1')
    .default('LANG', 'C.UTF-8')
    // $PORT is not in the CNB spec; Heroku-style apps expect it. A user value wins (default).
    .default('PORT', '8080', 'launch')
    .prepend('CPATH', path.join(dir, 'include', includeDirName(version)), ':', 'build')
    .prepend('PKG_CONFIG_PATH', path.join(dir, 'lib', 'pkgconfig'), ':', 'build');
}

/** include/python3.X, or python3.Xm for 3.4-3.7, whose default ABI flags had an "m" (pymalloc). */
function includeDirName(version: string): string {
  const [major, minor] = version.split('.').map(Number) as [number, number];
  return `python${major}.${minor}${major === 3 && minor >= 4 && minor <= 7 ? 'm' : ''}`;
}

/**
 * python-build-standalone leaves its build prefix (/install) in the files that tools read to
 * compile C extensions (sysconfig data, the config Makefile, python3.X-config, pkg-config files),
 * so we point them at the layer, as uv does when it installs these archives. The old prefix is read
 * from the sysconfig data itself, so any build prefix works.
 */
export async function relocate(dir: string, minor: string): Promise<string[]> {
  const lib = path.join(dir, 'lib', `python${minor}`);
  const candidates: string[] = [];
  for (const e of await listDir(lib)) {
    // Python 2.7 (an operator's build-runtime archive) names them _sysconfigdata.py and config/.
    if (e.kind === 'file' && /^(_sysconfigdata(_.*)?\.py|_sysconfig_vars_.*\.json)$/.test(e.name)) candidates.push(path.join(lib, e.name));
    if (e.kind === 'dir' && (e.name.startsWith(`config-${minor}`) || e.name === 'config')) candidates.push(path.join(lib, e.name, 'Makefile'), path.join(lib, e.name, 'python-config.py'));
  }
  candidates.push(path.join(dir, 'bin', `python${minor}-config`));
  for (const e of await listDir(path.join(dir, 'lib', 'pkgconfig'))) if (e.name.endsWith('.pc')) candidates.push(path.join(dir, 'lib', 'pkgconfig', e.name));

  const sysconfig = candidates.find((c) => path.basename(c).startsWith('_sysconfigdata'));
  if (!sysconfig) return [];
  const m = /['"]prefix['"]\s*:\s*['"]([^'"]+)['"]/.exec(await fsp.readFile(sysconfig, 'utf8'));
  const oldPrefix = m?.[1];
  if (!oldPrefix || oldPrefix === dir) return [];
  const pattern = new RegExp(`${oldPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[/'"\\s:]|$)`, 'gm');
  const changed: string[] = [];
  for (const file of candidates) {
    if (!(await pathExists(file))) continue;
    const stat = await fsp.lstat(file);
    if (!stat.isFile()) continue;
    const text = await fsp.readFile(file, 'utf8');
    const next = text.replace(pattern, dir);
    if (next !== text) {
      await fsp.writeFile(file, next);
      changed.push(file);
    }
  }
  return changed;
}

/** `python` as well as `python3`, as users and Procfiles expect. */
async function ensurePythonAlias(dir: string): Promise<void> {
  const alias = path.join(dir, 'bin', 'python');
  if (!(await pathExists(alias)) && (await pathExists(path.join(dir, 'bin', 'python3')))) await fsp.symlink('python3', alias);
}
