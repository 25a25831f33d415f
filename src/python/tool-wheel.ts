// Installs a build tool (pip, uv) from its pinned, verified wheel into a layer, with the runtime's
// own bundled pip: `python -m pip install --user` with PYTHONUSERBASE at the layer (as Heroku's CNB
// installs pip, Poetry and uv), so the tool lands in <layer>/bin and <layer>/lib. --isolated and
// --no-index: the wheel is the only input, whatever pip configuration the app or platform has.
import * as os from 'node:os';
import * as path from 'node:path';
import { createWriteStream, promises as fsp } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { downloadVerified } from '../io/download';
import { runOrThrow } from '../io/exec';
import { whenCommandFails } from '../explain';
import { sha256Of, type Dependency } from './manifest';
import { applyMirror, type MirrorConfig } from './mirrors';

export async function installToolWheel(opts: { entry: Dependency; layerDir: string; python: string; buildEnv: Record<string, string>; mirrors: ReadonlyArray<MirrorConfig | undefined> }): Promise<{ bytes: number }> {
  const { entry } = opts;
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), `python-cnb-${entry.id}-`));
  try {
    // The wheel's file name matters to pip (it reads the version and tags from it).
    const wheel = path.join(tmp, decodeURIComponent(new URL(entry.uri).pathname.split('/').pop() ?? `${entry.id}-${entry.version}-py3-none-any.whl`));
    const { url } = applyMirror(entry.uri, opts.mirrors);
    const dl = await downloadVerified(url, sha256Of(entry), (body) => pipeline(body, createWriteStream(wheel)), { reset: () => fsp.rm(wheel, { force: true }) });
    await runOrThrow(opts.python, ['-m', 'pip', 'install', '--isolated', '--no-cache-dir', '--no-index', '--no-deps', '--user', '--quiet', '--no-warn-script-location', wheel], {
      env: { ...opts.buildEnv, PYTHONUSERBASE: opts.layerDir, PIP_DISABLE_PIP_VERSION_CHECK: '1', SOURCE_DATE_EPOCH: '315532801' },
    }).catch(whenCommandFails(() => ({ title: `Could not install ${entry.name} ${entry.version}`, lead: `The runtime's bundled pip failed to install the pinned ${entry.name} wheel:` })));
    return { bytes: dl.bytes };
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}
