// The `pip` layer (build, cache): the pip release pinned in buildpack.toml, installed from its
// verified wheel with the runtime's own bundled pip (`python -m pip install --user`, with
// PYTHONUSERBASE pointing here, as Heroku's CNB does). Build-only: pip is a build tool, so it is not
// on the launch PATH and not in the image. Key: pip version, python version.
import { LayerEnv, writeLayerEnv } from '../cnb/env';
import { defineLayer, openLayer, stringKey } from '../cnb/layer';
import { removePath } from '../io/fs';
import { formatBytes, formatDuration, type Log } from '../log';
import type { Dependency } from '../python/manifest';
import type { MirrorConfig } from '../python/mirrors';
import { installToolWheel } from '../python/tool-wheel';
import { logCacheMiss } from './reasons';

export const pipLayer = defineLayer({
  name: 'pip',
  types: { build: true, launch: false, cache: true },
  key: stringKey(['pip_version', 'python_version'] as const),
  reasons: {
    pip_version: (a, b) => `the pip version changed from ${a} to ${b}`,
    python_version: (a, b) => `the Python version changed from ${a} to ${b}`,
  },
});

export interface InstalledPip {
  dir: string;
  version: string;
  env: LayerEnv;
}

export function pipEnv(dir: string): LayerEnv {
  // PYTHONUSERBASE makes the pip under lib/python3.X/site-packages importable for `python -m pip`
  // and the bin/pip script (build only; later buildpacks can use pip too).
  return LayerEnv.empty().override('PYTHONUSERBASE', dir, 'build').override('PIP_DISABLE_PIP_VERSION_CHECK', '1', 'build');
}

export async function installPip(opts: { layersDir: string; entry: Dependency; pythonVersion: string; python: string; buildEnv: Record<string, string>; mirrors: ReadonlyArray<MirrorConfig | undefined>; log: Log }): Promise<InstalledPip> {
  const { entry, log } = opts;
  const layer = await openLayer(opts.layersDir, pipLayer, { pip_version: entry.version, python_version: opts.pythonVersion });
  const env = pipEnv(layer.dir);
  if (layer.decision.action === 'reuse') {
    log.info(`Using cached pip ${entry.version}`);
    await writeLayerEnv(layer.dir, env);
    return { dir: layer.dir, version: entry.version, env };
  }
  logCacheMiss(log, 'pip', layer.decision, (k) => k.pip_version);
  const started = Date.now();
  try {
    const dl = await installToolWheel({ entry, layerDir: layer.dir, python: opts.python, buildEnv: opts.buildEnv, mirrors: opts.mirrors });
    await writeLayerEnv(layer.dir, env);
    await layer.commit();
    log.info(`Installed pip ${entry.version} (${formatBytes(dl.bytes)} wheel, sha256 verified) in ${formatDuration(Date.now() - started)}`);
    return { dir: layer.dir, version: entry.version, env };
  } catch (e) {
    await removePath(layer.dir);
    throw e;
  }
}
