// The `uv` layer (build, cache): the uv release pinned in buildpack.toml (uv-version), installed
// from its verified wheel (one static binary per arch) into bin/uv, as the pip layer installs pip
// (src/layers/tool.ts). Only for apps whose dependencies come from uv.lock. Build-only: uv is not in
// the image. Key: uv version, arch (the binary does not depend on the Python version).
import { LayerEnv } from '../cnb/env';
import { defineToolLayer, installTool, type InstalledTool, type ToolInstallOptions } from './tool';

export const uvLayer = defineToolLayer('uv', {
  uv_version: (a, b) => `the uv version changed from ${a} to ${b}`,
  arch: (a, b) => `the architecture changed from ${a} to ${b}`,
});

export function installUv(opts: ToolInstallOptions): Promise<InstalledTool | undefined> {
  // bin/ goes on later buildpacks' PATH by itself; nothing else to export.
  return installTool({ ...opts, def: uvLayer, key: { uv_version: opts.entry.version, arch: opts.arch }, layerEnv: () => LayerEnv.empty() });
}
