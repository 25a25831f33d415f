// The `pip-cache` layer (build, cache): PIP_CACHE_DIR, pip's HTTP and wheel cache (see cache-layer.ts).
import type { Target } from '../cnb/context';
import type { Log } from '../log';
import { defineCacheLayer, openCacheLayer } from './cache-layer';

export const pipCacheLayer = defineCacheLayer('pip-cache');

export function openPipCache(opts: { layersDir: string; pythonVersion: string; target: Target; log: Log }) {
  return openCacheLayer(pipCacheLayer, 'PIP_CACHE_DIR', 'pip download/wheel cache', opts);
}
