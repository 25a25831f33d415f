// The `pip` layer (build, cache): the pip release pinned in buildpack.toml, installed from its
// verified wheel with the runtime's own bundled pip (`python -m pip install --user`, with
// PYTHONUSERBASE pointing here, as Heroku's CNB does). Build-only: pip is a build tool, so it is not
// on the launch PATH and not in the image. Key: pip version, python version.
import * as os from 'node:os';
import * as path from 'node:path';
import { createWriteStream, promises as fsp } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { LayerEnv, writeLayerEnv } from '../cnb/env';
import { defineLayer, openLayer, stringKey } from '../cnb/layer';
import { downloadVerified } from '../io/download';
import { run } from '../io/exec';
import { removePath } from '../io/fs';
import { UserError } from '../errors';
import { formatBytes, formatDuration, type Log } from '../log';
import { sha256Of, type Dependency } from '../python/manifest';
import { applyMirror, type MirrorConfig } from '../python/mirrors';
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
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'python-cnb-pip-'));
  try {
    // The wheel's file name matters to pip (it reads the version and tags from it).
    const wheel = path.join(tmp, decodeURIComponent(new URL(entry.uri).pathname.split('/').pop() ?? `pip-${entry.version}-py3-none-any.whl`));
    const { url } = applyMirror(entry.uri, opts.mirrors);
    const dl = await downloadVerified(url, sha256Of(entry), (body) => pipeline(body, createWriteStream(wheel)), { reset: () => fsp.rm(wheel, { force: true }) });
    const result = await run(opts.python, ['-m', 'pip', 'install', '--isolated', '--no-cache-dir', '--no-index', '--no-deps', '--user', '--quiet', '--no-warn-script-location', wheel], {
      env: { ...opts.buildEnv, PYTHONUSERBASE: layer.dir, PIP_DISABLE_PIP_VERSION_CHECK: '1', SOURCE_DATE_EPOCH: '315532801' },
    });
    if (result.exitCode !== 0) {
      throw new UserError(`Could not install pip ${entry.version}`, ['The runtime\'s bundled pip failed to install the pinned pip wheel:', ...result.tail.slice(-15)]);
    }
    await writeLayerEnv(layer.dir, env);
    await layer.commit();
    log.info(`Installed pip ${entry.version} (${formatBytes(dl.bytes)} wheel, sha256 verified) in ${formatDuration(Date.now() - started)}`);
    return { dir: layer.dir, version: entry.version, env };
  } catch (e) {
    await removePath(layer.dir);
    throw e;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}
