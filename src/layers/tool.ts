// A build tool installed from its pinned, verified wheel into its own layer (pip, uv; Poetry and
// Pipenv next), with the runtime's own bundled pip (on PYTHONPATH: the python layer holds none, see
// src/runtime/stdlib-bytecode.ts): `python -m pip install --user` with
// PYTHONUSERBASE at the layer (as Heroku's CNB installs pip, Poetry and uv), so the tool lands in
// <layer>/bin and <layer>/lib. --isolated and --no-index: the wheel is the only input, whatever pip
// configuration the app or platform has. Build-only layers: the tools are not in the image.
import * as os from 'node:os';
import * as path from 'node:path';
import { createWriteStream, promises as fsp } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { BuildEnv } from '../cnb/build-env';
import { writeLayerEnv, type LayerEnv } from '../cnb/env';
import { defineLayer, openLayer, stringKey, type LayerDefinition, type LayerKey } from '../cnb/layer';
import { rethrowExplained, whenCommandFails } from '../explain';
import { downloadFileName, downloadVerified } from '../io/download';
import { runOrThrow } from '../io/exec';
import { removePath } from '../io/fs';
import { formatBytes, formatDuration, type Log } from '../log';
import { sha256Of, type Dependency } from '../python/manifest';
import { applyMirror, type MirrorConfig } from '../python/mirrors';
import { bootstrapPipEnv } from '../runtime/stdlib-bytecode';
import { logCacheHit, logCacheMiss } from './kit';

/** A tool's layer: build and cache, never launch (the tools are not in the image); keyed on the
 *  fields its reasons name. */
export function defineToolLayer<F extends string>(name: string, reasons: Record<F, (cached: string, wanted: string) => string>): LayerDefinition<Record<F, string>> {
  return defineLayer({ name, types: { build: true, launch: false, cache: true }, key: stringKey(Object.keys(reasons) as F[]), reasons });
}

export interface InstalledTool {
  dir: string;
  /** The tool's executable (<layer>/bin/<id>). */
  executable: string;
  /** "pip 26.3": part of the site-packages key. */
  installer: string;
  env: LayerEnv;
}

/** What every tool layer is installed with (a tool keys its layer on some of these). */
export interface ToolInstallOptions {
  layersDir: string;
  /** The pinned wheel's manifest entry. */
  entry: Dependency;
  pythonVersion: string;
  arch: string;
  /** The runtime's python3, whose bundled pip installs the wheel. */
  python: string;
  /** Where that bundled pip is (a sys.path entry, InstalledPython.bootstrapPip). */
  bootstrapPip?: string;
  env: BuildEnv;
  mirrors: ReadonlyArray<MirrorConfig | undefined>;
  log: Log;
  /** Nothing is installed in this build (and Python may be absent): keep a cached tool, install none. */
  cachedOnly?: boolean;
}

/** A tool not cached in a build that installs nothing: no layer, and the log says when it comes. */
export async function skipUncachedTool(dir: string, what: string, log: Log): Promise<undefined> {
  await removePath(dir);
  log.info(`${what} is not cached: it is installed when the dependencies next change`);
  return undefined;
}

/** A last step on a freshly installed tool's layer (pip's zip): the install's extra arguments, and
 *  the step, whose result the install's log line ends with. */
export interface ToolFinish {
  installArgs: string[];
  run: (layerDir: string) => Promise<string>;
}

export async function installTool<K extends LayerKey>(opts: ToolInstallOptions & { def: LayerDefinition<K>; key: K; layerEnv: (dir: string) => LayerEnv; finish?: ToolFinish }): Promise<InstalledTool | undefined> {
  const { entry, log } = opts;
  const layer = await openLayer(opts.layersDir, opts.def, opts.key);
  const env = opts.layerEnv(layer.dir);
  const installed = { dir: layer.dir, executable: path.join(layer.dir, 'bin', entry.id), installer: `${entry.id} ${entry.version}`, env };
  if (layer.decision.action === 'reuse') {
    logCacheHit(log, `${entry.id} ${entry.version}`);
    await writeLayerEnv(layer.dir, env);
    return installed;
  }
  if (opts.cachedOnly) return skipUncachedTool(layer.dir, `${entry.id} ${entry.version}`, log);
  logCacheMiss(log, entry.id, layer.decision, (cached) => cached[`${entry.id}_version`]);
  const started = Date.now();
  try {
    const bytes = await installToolWheel({ entry, layerDir: layer.dir, python: opts.python, bootstrapPip: opts.bootstrapPip, env: opts.env, mirrors: opts.mirrors, extraArgs: opts.finish?.installArgs ?? [] });
    const finished = opts.finish ? `; ${await opts.finish.run(layer.dir)}` : '';
    await writeLayerEnv(layer.dir, env);
    await layer.commit();
    log.info(`Installed ${entry.id} ${entry.version} (${formatBytes(bytes)} wheel, sha256 verified) in ${formatDuration(Date.now() - started)}${finished}`);
    return installed;
  } catch (e) {
    await removePath(layer.dir);
    throw e;
  }
}

async function installToolWheel(opts: { entry: Dependency; layerDir: string; python: string; bootstrapPip?: string; env: BuildEnv; mirrors: ReadonlyArray<MirrorConfig | undefined>; extraArgs: string[] }): Promise<number> {
  const { entry } = opts;
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), `python-cnb-${entry.id}-`));
  try {
    // The wheel's file name matters to pip (it reads the version and tags from it).
    const wheel = path.join(tmp, downloadFileName(entry.uri, `${entry.id}-${entry.version}-py3-none-any.whl`));
    const { url } = applyMirror(entry.uri, opts.mirrors);
    const dl = await downloadVerified(url, sha256Of(entry), (body) => pipeline(body, createWriteStream(wheel)), { reset: () => fsp.rm(wheel, { force: true }) }).catch(rethrowExplained);
    // pip installs itself, run from its own wheel (pip supports `python pip.whl/pip`): a runtime
    // compiled from source has no bundled pip, and a bundled one may not run the options below.
    const installer = entry.id === 'pip' ? [path.join(wheel, 'pip')] : ['-m', 'pip'];
    await runOrThrow(opts.python, [...installer, 'install', '--isolated', '--no-cache-dir', '--no-index', '--no-deps', '--user', '--quiet', '--no-warn-script-location', ...opts.extraArgs, wheel], {
      env: opts.env.with({ PYTHONUSERBASE: opts.layerDir, PIP_DISABLE_PIP_VERSION_CHECK: '1', SOURCE_DATE_EPOCH: '315532801', ...bootstrapPipEnv(opts.bootstrapPip) }).toRecord(),
    }).catch(whenCommandFails(() => ({ title: `Could not install ${entry.name} ${entry.version}`, lead: `${entry.id === 'pip' ? 'pip, run from its wheel,' : "The runtime's bundled pip"} failed to install the pinned ${entry.name} wheel:` })));
    return dl.bytes;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}
