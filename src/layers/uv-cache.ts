// The `uv-cache` layer (build, cache): UV_CACHE_DIR, uv's download and unpacked-wheel cache (see
// cache-layer.ts). It lives in the layers directory beside site-packages, so uv can hard-link from
// it into the venv instead of copying (UV_LINK_MODE=hardlink; same file system).
import type { Target } from '../cnb/context';
import type { Log } from '../log';
import { defineCacheLayer, openCacheLayer } from './cache-layer';

export const uvCacheLayer = defineCacheLayer('uv-cache');

export function openUvCache(opts: { layersDir: string; pythonVersion: string; target: Target; log: Log }) {
  return openCacheLayer(uvCacheLayer, 'UV_CACHE_DIR', 'uv cache', opts);
}
