// A build tool that is a closure of wheels (Poetry, Pipenv), installed into its own build-only layer
// from its pinned requirements file (requirements/<tool>.txt, made by scripts/pin-tools.sh): the
// runtime's bundled pip (on PYTHONPATH, see src/runtime/stdlib-bytecode.ts) runs `install --require-hashes --no-deps --only-binary=:all: --user` with
// PYTHONUSERBASE at the layer, so every wheel is checked against the sha256 kept in the repository
// and a tampered index or mirror cannot change what runs. The wheels come from the platform's
// index (PIP_INDEX_URL and pip's other settings apply; an air-gapped index must hold them).
// Key: the tool version, the Python version (the wheels are installed for it) and the sha256 of
// the requirements file (a re-pin reinstalls).
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import type { BuildEnv } from '../cnb/build-env';
import { LayerEnv, writeLayerEnv } from '../cnb/env';
import { openLayer } from '../cnb/layer';
import { whenCommandFails } from '../explain';
import { runOrThrow } from '../io/exec';
import { removePath } from '../io/fs';
import { formatDuration, type Log } from '../log';
import { pipErrorLines } from '../python/dependencies';
import { bootstrapPipEnv } from '../runtime/stdlib-bytecode';
import { logCacheHit, logCacheMiss } from './kit';
import { defineToolLayer, skipUncachedTool, type InstalledTool } from './tool';

/** A tool pinned by a requirements file with hashes (buildpack.toml [metadata] <id>-version). */
export interface HashedToolPin {
  id: 'poetry' | 'pipenv';
  name: string;
  version: string;
  /** requirements/<id>.txt: the tool and its dependencies, each with every file's sha256. */
  requirements: Buffer;
}

export function defineHashedToolLayer(name: HashedToolPin['id']) {
  return defineToolLayer(name, {
    version: (a, b) => `the ${name} version changed from ${a} to ${b}`,
    python_version: (a, b) => `the Python version changed from ${a} to ${b}`,
    requirements_sha256: () => `requirements/${name}.txt changed`,
  });
}

/** PYTHONUSERBASE makes the tool under lib/python3.X/site-packages importable (`python -m <tool>`). */
export function hashedToolEnv(dir: string): LayerEnv {
  return LayerEnv.empty().override('PYTHONUSERBASE', dir, 'build');
}

export async function installHashedTool(opts: { layersDir: string; pin: HashedToolPin; pythonVersion: string; python: string; bootstrapPip?: string; env: BuildEnv; log: Log; cachedOnly?: boolean }): Promise<InstalledTool | undefined> {
  const { pin, log } = opts;
  const def = defineHashedToolLayer(pin.id);
  const key = { version: pin.version, python_version: opts.pythonVersion, requirements_sha256: createHash('sha256').update(pin.requirements).digest('hex') };
  const layer = await openLayer(opts.layersDir, def, key);
  const env = hashedToolEnv(layer.dir);
  const installed: InstalledTool = { dir: layer.dir, executable: path.join(layer.dir, 'bin', pin.id), installer: `${pin.id} ${pin.version}`, env };
  if (layer.decision.action === 'reuse') {
    logCacheHit(log, `${pin.name} ${pin.version}`);
    await writeLayerEnv(layer.dir, env);
    return installed;
  }
  if (opts.cachedOnly) return skipUncachedTool(layer.dir, `${pin.name} ${pin.version}`, log);
  logCacheMiss(log, pin.name, layer.decision, (cached) => cached.version);
  const started = Date.now();
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), `python-cnb-${pin.id}-`));
  try {
    const file = path.join(tmp, `${pin.id}.txt`);
    await fsp.writeFile(file, pin.requirements);
    const args = ['-m', 'pip', 'install', '--require-hashes', '--no-deps', '--only-binary=:all:', '--user', '--no-cache-dir', '--no-warn-script-location', '--progress-bar', 'off', '--quiet', '--requirement', file];
    await runOrThrow(opts.python, args, { env: opts.env.with({ PYTHONUSERBASE: layer.dir, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', SOURCE_DATE_EPOCH: '315532801', ...bootstrapPipEnv(opts.bootstrapPip) }).toRecord() }).catch(
      whenCommandFails((f) => ({
        title: `Could not install ${pin.name} ${pin.version}`,
        lead: `The runtime's pip failed to install ${pin.name} and its dependencies (pinned by sha256 in requirements/${pin.id}.txt):`,
        lines: pipErrorLines(f.tail).map((l) => `  ${l}`),
        fix: [`The package index (PIP_INDEX_URL, else PyPI) must serve exactly the wheels requirements/${pin.id}.txt pins; a file with another sha256 is refused.`],
      })),
    );
    await writeLayerEnv(layer.dir, env);
    await layer.commit();
    log.info(`Installed ${pin.name} ${pin.version} (${countPins(pin.requirements)} packages, every wheel sha256 verified) in ${formatDuration(Date.now() - started)}`);
    return installed;
  } catch (e) {
    await removePath(layer.dir);
    throw e;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/** The number of `name==version` lines (some apply only to other Pythons or platforms). */
function countPins(requirements: Buffer): number {
  return requirements.toString('utf8').split('\n').filter((l) => /^[A-Za-z0-9][^ ]*==/.test(l)).length;
}
