// The dependency step: the manager's build tool and its cache (pip + pip-cache, uv + uv-cache,
// poetry + poetry-cache), then the venv (src/layers/site-packages.ts) inside the private-dependency scope. The layers of
// the tools not used are dropped, so a switch from pip to uv leaves nothing behind.
import type { Analysis } from '../analysis';
import type { Binding } from '../cnb/bindings';
import type { BuildEnv } from '../cnb/build-env';
import type { BuildContext } from '../cnb/context';
import { dropLayer } from '../cnb/layer';
import { openPipCache } from '../layers/pip-cache';
import { installPip, pipLayer } from '../layers/pip';
import type { InstalledPython } from '../layers/python';
import { installSitePackages, sitePackagesLayer } from '../layers/site-packages';
import { installHashedTool, type HashedToolPin } from '../layers/hashed-tool';
import { pipenvLayer } from '../layers/pipenv';
import { openPoetryCache, poetryCacheLayer, poetryLayer } from '../layers/poetry';
import type { ToolInstallOptions } from '../layers/tool';
import { installUv, uvLayer } from '../layers/uv';
import { openUvCache, uvCacheLayer } from '../layers/uv-cache';
import { pipCacheLayer } from '../layers/pip-cache';
import type { Log } from '../log';
import type { Dependency } from '../python/manifest';
import { withPrivateDependencies } from '../private-deps';
import type { ToolId } from './manager';

/** A pinned build tool: one verified wheel (pip, uv) or a hash-pinned requirements file (Poetry, Pipenv). */
export type ToolPin = Dependency | HashedToolPin;

type ToolOptions = Omit<ToolInstallOptions, 'entry'> & { pin: ToolPin };

function isHashed(pin: ToolPin): pin is HashedToolPin {
  return Buffer.isBuffer((pin as Partial<HashedToolPin>).requirements);
}
function wheelOf(pin: ToolPin): Dependency {
  if (isHashed(pin)) throw new Error(`${pin.id} is pinned by a requirements file, not a wheel`);
  return pin;
}
function hashedOf(pin: ToolPin): HashedToolPin {
  if (!isHashed(pin)) throw new Error(`${pin.id} is pinned by a wheel, not a requirements file`);
  return pin;
}

const TOOLS: Readonly<Record<ToolId, { layers: string[]; install: (o: ToolOptions) => ReturnType<typeof installPip>; openCache: typeof openPipCache }>> = {
  pip: { layers: [pipLayer.name, pipCacheLayer.name], install: (o) => installPip({ ...o, entry: wheelOf(o.pin) }), openCache: openPipCache },
  uv: { layers: [uvLayer.name, uvCacheLayer.name], install: (o) => installUv({ ...o, entry: wheelOf(o.pin) }), openCache: openUvCache },
  poetry: { layers: [poetryLayer.name, poetryCacheLayer.name], install: (o) => installHashedTool({ ...o, pin: hashedOf(o.pin) }), openCache: openPoetryCache },
  // Pipenv locks a Pipfile; the runtime's pip installs the lock, with the pip cache.
  pipenv: { layers: [pipenvLayer.name, pipCacheLayer.name], install: (o) => installHashedTool({ ...o, pin: hashedOf(o.pin) }), openCache: openPipCache },
};

/** Settings for every install. SOURCE_DATE_EPOCH makes pip compile hash-based .pyc files
 *  (py_compile switches to CHECKED_HASH when it is set), so the exporter resetting every mtime to
 *  1980 does not make them stale; 315532801 (1980-01-01T00:00:01Z) because ZIP cannot store dates
 *  before 1980 (Heroku's python.rs chose the same). */
const INSTALL_ENV: Readonly<Record<string, string>> = { SOURCE_DATE_EPOCH: '315532801', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PYTHONUNBUFFERED: '1' };

export async function installDependencies(opts: { ctx: BuildContext; analysis: Analysis; python: InstalledPython; bindings: readonly Binding[]; env: BuildEnv; log: Log }): Promise<{ venvDir: string; env: BuildEnv }> {
  const { ctx, analysis, log } = opts;
  const { manager, inputs, tool: pin, toolReason } = analysis.dependencies!;
  log.step(`Installing dependencies with ${pin.id} from ${inputs.label}`);
  if (toolReason) log.info(toolReason);
  for (const note of inputs.notes ?? []) log.info(note);
  const layersDir = ctx.layersDir;
  const pythonVersion = analysis.python.version;
  const tools = TOOLS[manager.tool];
  const tool = await tools.install({ layersDir, pin, pythonVersion, arch: ctx.target.arch, python: opts.python.python, env: opts.env, mirrors: analysis.mirrors, log });
  const cache = await tools.openCache({ layersDir, pythonVersion, target: ctx.target, log });
  for (const layer of new Set(Object.values(TOOLS).flatMap((t) => t.layers))) if (!tools.layers.includes(layer)) await dropLayer(layersDir, layer);
  const env = (await (await opts.env.withLayer(tool.dir, tool.env)).withLayer(cache.dir, cache.env)).with(INSTALL_ENV);
  // The private-deps setup alone reads the SSH key (from the platform env): the install gets only paths.
  const venv = await withPrivateDependencies({ env: { ...ctx.env, ...env.toRecord() }, bindings: opts.bindings, platformDir: ctx.platformDir, log }, (privateEnv, installLog) =>
    installSitePackages({ layersDir, appDir: ctx.appDir, manager, inputs, pythonVersion, target: ctx.target, python: opts.python.python, tool, env: env.with(privateEnv), force: analysis.forceReinstall, log: installLog }),
  );
  return { venvDir: venv.dir, env: await env.withLayer(venv.dir, venv.env) };
}

/** No dependencies (any more): a restored venv or installer must not linger in the image or cache. */
export async function dropDependencyLayers(layersDir: string): Promise<void> {
  for (const name of [sitePackagesLayer.name, ...Object.values(TOOLS).flatMap((t) => t.layers)]) await dropLayer(layersDir, name);
}
