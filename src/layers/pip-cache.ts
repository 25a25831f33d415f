// The `pip-cache` layer (build, cache): PIP_CACHE_DIR, pip's HTTP and wheel cache. It survives
// requirement changes, so when site-packages is recreated only new or changed packages are
// downloaded (and sdists are not rebuilt). Keyed on what makes cached wheels unusable: the Python
// version, arch and distro.
import { LayerEnv, writeLayerEnv } from '../cnb/env';
import { defineLayer, openLayer, stringKey } from '../cnb/layer';
import type { Target } from '../cnb/context';
import type { Log } from '../log';
import { logCacheMiss } from './reasons';

export const pipCacheLayer = defineLayer({
  name: 'pip-cache',
  types: { build: true, launch: false, cache: true },
  key: stringKey(['python_version', 'arch', 'distro_name', 'distro_version'] as const),
  reasons: {
    python_version: (a, b) => `the Python version changed from ${a} to ${b}`,
    arch: (a, b) => `the architecture changed from ${a} to ${b}`,
    distro_name: (a, b) => `the distro changed from ${a} to ${b}`,
    distro_version: (a, b) => `the distro version changed from ${a} to ${b}`,
  },
});

export async function openPipCache(opts: { layersDir: string; pythonVersion: string; target: Target; log: Log; quiet?: boolean }): Promise<{ dir: string; env: LayerEnv; reused: boolean }> {
  const layer = await openLayer(opts.layersDir, pipCacheLayer, {
    python_version: opts.pythonVersion,
    arch: opts.target.arch,
    distro_name: opts.target.distroName ?? 'unknown',
    distro_version: opts.target.distroVersion ?? 'unknown',
  });
  const env = LayerEnv.empty().override('PIP_CACHE_DIR', layer.dir, 'build');
  await writeLayerEnv(layer.dir, env);
  const reused = layer.decision.action === 'reuse';
  if (!reused) {
    logCacheMiss(opts.log, 'pip download/wheel cache', layer.decision);
    // An empty cache is complete: commit now, so it is kept even if the install fails later.
    await layer.commit();
  } else if (!opts.quiet) {
    opts.log.info('Using cached pip download/wheel cache');
  }
  return { dir: layer.dir, env, reused };
}
