// The `poetry` layer (build, cache) and the `poetry-cache` layer (POETRY_CACHE_DIR: downloaded
// artifacts and index pages, so a changed lock downloads only what is new). Poetry, pinned in
// buildpack.toml (poetry-version), from requirements/poetry.txt (see hashed-tool.ts). Build-only:
// Poetry is not in the image.
import type { Target } from '../cnb/context';
import type { Log } from '../log';
import { defineCacheLayer, openCacheLayer } from './cache-layer';
import { defineHashedToolLayer } from './hashed-tool';

export const poetryLayer = defineHashedToolLayer('poetry');
export const poetryCacheLayer = defineCacheLayer('poetry-cache');

export function openPoetryCache(opts: { layersDir: string; pythonVersion: string; target: Target; log: Log }) {
  return openCacheLayer(poetryCacheLayer, 'POETRY_CACHE_DIR', 'Poetry cache', opts);
}
