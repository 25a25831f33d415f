// The `uv` layer (build, cache): the uv release pinned in buildpack.toml (uv-version), installed
// from its verified wheel (one static binary per arch) into bin/uv, as the pip layer installs pip.
// Only for apps whose dependencies come from uv.lock. Build-only: uv is not in the image.
// Key: uv version, arch (the binary does not depend on the Python version).
import * as path from 'node:path';
import { LayerEnv, writeLayerEnv } from '../cnb/env';
import { defineLayer, openLayer, stringKey } from '../cnb/layer';
import { removePath } from '../io/fs';
import { formatBytes, formatDuration, type Log } from '../log';
import type { Dependency } from '../python/manifest';
import type { MirrorConfig } from '../python/mirrors';
import { installToolWheel } from '../python/tool-wheel';
import { logCacheMiss } from './reasons';

export const uvLayer = defineLayer({
  name: 'uv',
  types: { build: true, launch: false, cache: true },
  key: stringKey(['uv_version', 'arch'] as const),
  reasons: {
    uv_version: (a, b) => `the uv version changed from ${a} to ${b}`,
    arch: (a, b) => `the architecture changed from ${a} to ${b}`,
  },
});

export interface InstalledUv {
  /** The uv executable. */
  uv: string;
  version: string;
}

export async function installUv(opts: { layersDir: string; entry: Dependency; arch: string; python: string; buildEnv: Record<string, string>; mirrors: ReadonlyArray<MirrorConfig | undefined>; log: Log }): Promise<InstalledUv> {
  const { entry, log } = opts;
  const layer = await openLayer(opts.layersDir, uvLayer, { uv_version: entry.version, arch: opts.arch });
  const installed = { uv: path.join(layer.dir, 'bin', 'uv'), version: entry.version };
  if (layer.decision.action === 'reuse') {
    log.info(`Using cached uv ${entry.version}`);
    return installed;
  }
  logCacheMiss(log, 'uv', layer.decision, (k) => k.uv_version);
  const started = Date.now();
  try {
    const dl = await installToolWheel({ entry, layerDir: layer.dir, python: opts.python, buildEnv: opts.buildEnv, mirrors: opts.mirrors });
    // bin/ goes on later buildpacks' PATH by itself; nothing else to export.
    await writeLayerEnv(layer.dir, LayerEnv.empty());
    await layer.commit();
    log.info(`Installed uv ${entry.version} (${formatBytes(dl.bytes)} wheel, sha256 verified) in ${formatDuration(Date.now() - started)}`);
    return installed;
  } catch (e) {
    await removePath(layer.dir);
    throw e;
  }
}
