// The `pip` layer (build, cache): the pip release pinned in buildpack.toml, installed from its
// verified wheel (src/layers/tool.ts), its package zipped for Python 3.7+ (src/layers/pip-zip.ts).
// Build-only: pip is a build tool, so it is not on the launch PATH and not in the image. Key: pip
// version, python version.
import { LayerEnv } from '../cnb/env';
import { describeZip, pipRunsZipped, zipPipPackage } from './pip-zip';
import { defineToolLayer, installTool, type InstalledTool, type ToolFinish, type ToolInstallOptions } from './tool';

export const pipLayer = defineToolLayer('pip', {
  pip_version: (a, b) => `the pip version changed from ${a} to ${b}`,
  python_version: (a, b) => `the Python version changed from ${a} to ${b}`,
});

export function pipEnv(dir: string): LayerEnv {
  // PYTHONUSERBASE makes the pip under lib/python3.X/site-packages importable for `python -m pip`
  // and the bin/pip script (build only; later buildpacks can use pip too).
  return LayerEnv.empty().override('PYTHONUSERBASE', dir, 'build').override('PIP_DISABLE_PIP_VERSION_CHECK', '1', 'build');
}

export function installPip(opts: ToolInstallOptions): Promise<InstalledTool | undefined> {
  const finish: ToolFinish | undefined = pipRunsZipped(opts.pythonVersion, opts.entry.version)
    ? { installArgs: ['--no-compile'], run: async (dir) => describeZip(await zipPipPackage(opts.python, dir, opts.env)) }
    : undefined;
  return installTool({ ...opts, def: pipLayer, key: { pip_version: opts.entry.version, python_version: opts.pythonVersion }, layerEnv: pipEnv, finish });
}
