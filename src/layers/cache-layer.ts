// What the pip-cache and uv-cache layers share: a cache-only directory that a tool finds through one
// environment variable (PIP_CACHE_DIR, UV_CACHE_DIR). It survives requirement changes, so when
// site-packages is recreated only new or changed packages are downloaded (and sdists are not
// rebuilt). Keyed on what makes cached wheels unusable: the Python version, arch and distro.
import { LayerEnv, writeLayerEnv } from '../cnb/env';
import { defineLayer, openLayer, stringKey } from '../cnb/layer';
import type { Target } from '../cnb/context';
import type { Log } from '../log';
import { logCacheHit, logCacheMiss, targetKey } from './kit';

export function defineCacheLayer(name: string) {
  return defineLayer({
    name,
    types: { build: true, launch: false, cache: true },
    key: stringKey(['python_version', 'arch', 'distro_name', 'distro_version'] as const),
    reasons: {
      python_version: (a, b) => `the Python version changed from ${a} to ${b}`,
      arch: (a, b) => `the architecture changed from ${a} to ${b}`,
      distro_name: (a, b) => `the distro changed from ${a} to ${b}`,
      distro_version: (a, b) => `the distro version changed from ${a} to ${b}`,
    },
  });
}

export async function openCacheLayer(
  def: ReturnType<typeof defineCacheLayer>,
  envVar: string,
  what: string,
  opts: { layersDir: string; pythonVersion: string; target: Target; log: Log },
): Promise<{ dir: string; env: LayerEnv; reused: boolean }> {
  const layer = await openLayer(opts.layersDir, def, { python_version: opts.pythonVersion, ...targetKey(opts.target) });
  const env = LayerEnv.empty().override(envVar, layer.dir, 'build');
  await writeLayerEnv(layer.dir, env);
  const reused = layer.decision.action === 'reuse';
  if (!reused) {
    logCacheMiss(opts.log, what, layer.decision);
    // An empty cache is complete: commit now, so it is kept even if the install fails later.
    await layer.commit();
  } else {
    logCacheHit(opts.log, what);
  }
  return { dir: layer.dir, env, reused };
}
