// The `nltk-data` layer (build, launch, cache): the NLTK corpora an app lists in nltk.txt (the
// classic buildpack's feature), downloaded with the venv's own NLTK downloader, and NLTK_DATA
// pointing at them for the build (post_compile, later buildpacks) and the running app.
// Key: sha256 of nltk.txt and the installed nltk version (a new nltk may want other data formats).
// NLTK's downloader reads its index from NLTK_DOWNLOAD_URL when set (platform env), else from
// its default index on GitHub.
// The run user: NLTK 3.10+ reads data only from files owned by the current account or root and
// not writable by others. The layer belongs to the build user (uid 1001 on most builders), the app
// runs as another (1002), so an exec.d program makes a private copy at container start when the
// owners differ (see NLTK_DATA_EXECD below); with one user for both, it points at the layer as is.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { LayerEnv, writeLayerEnv } from '../cnb/env';
import { defineLayer, dropLayer, openLayer, stringKey } from '../cnb/layer';
import { UserError, printable } from '../errors';
import { run } from '../io/exec';
import { listDir, makeSharedReadOnly, removePath } from '../io/fs';
import { formatDuration, listing, type Log } from '../log';
import { logCacheHit, logCacheMiss } from './kit';

export const nltkDataLayer = defineLayer({
  name: 'nltk-data',
  types: { build: true, launch: true, cache: true },
  key: stringKey(['nltk_txt_sha256', 'nltk_version'] as const),
  reasons: {
    nltk_txt_sha256: () => 'nltk.txt changed',
    nltk_version: (a, b) => `the nltk version changed from ${a} to ${b}`,
  },
});

/** The nltk version installed in the venv, from its dist-info directory (no Python run needed). */
export async function installedNltkVersion(venvDir: string): Promise<string | undefined> {
  for (const lib of await listDir(path.join(venvDir, 'lib'))) {
    if (lib.kind !== 'dir' || !/^python3\.\d+$/.test(lib.name)) continue;
    for (const e of await listDir(path.join(venvDir, 'lib', lib.name, 'site-packages'))) {
      const m = /^nltk-([^-]+)\.dist-info$/.exec(e.name);
      if (m && e.kind === 'dir') return m[1];
    }
  }
  return undefined;
}

// Downloads each id into sys.argv[1]; an id the index does not know exits 3 naming it (the
// downloader's own CLI exits 0 on every error, so it cannot be used as is). extract=True unpacks
// packages the index leaves zipped, so the run user (not the build user) can read them.
const DOWNLOAD_SCRIPT = `
import os, sys
from nltk.downloader import Downloader
d = Downloader(server_index_url=os.environ.get("NLTK_DOWNLOAD_URL") or None)
for pkg in sys.argv[2:]:
    try:
        d.info(pkg)
    except ValueError:
        print("python-cnb: unknown NLTK package: " + pkg, flush=True)
        sys.exit(3)
    if not d.download(pkg, download_dir=sys.argv[1], quiet=False, halt_on_error=True, extract=True):
        sys.exit(4)
`;

/** Where the corpora go inside the layer (exec.d/ and env/ stay out of the data NLTK reads). */
const DATA_DIR = 'nltk_data';

/** exec.d (POSIX sh: the run image has no Node): NLTK_DATA for the running app, a private copy when
 *  the data belongs to another account than the app's. Copied once per container; a directory that
 *  exists but is not ours and complete is never used. exec.d output is TOML on fd 3. */
export function nltkDataExecd(dataDir: string): string {
  return `#!/bin/sh
# Set by python-cnb: NLTK_DATA for the app. NLTK reads data only from files this account or root owns.
data='${dataDir.replace(/'/g, `'\\''`)}'
owner=$(stat -c %u "$data" 2>/dev/null || echo 0)
if [ "$owner" = "$(id -u)" ] || [ "$owner" = 0 ]; then
  printf 'NLTK_DATA = "%s"\\n' "$data" >&3
  exit 0
fi
copy="\${TMPDIR:-/tmp}/python-cnb-nltk-data-$(id -u)"
if mkdir -m 700 "$copy" 2>/dev/null; then
  if cp -R "$data/." "$copy/" && chmod -R go-w "$copy"; then
    : > "$copy/.python-cnb-complete"
  else
    echo "python-cnb: could not copy the NLTK data to $copy" >&2
  fi
fi
if [ -O "$copy" ] && [ -e "$copy/.python-cnb-complete" ]; then
  printf 'NLTK_DATA = "%s"\\n' "$copy" >&3
else
  echo "python-cnb: $copy is not a complete copy owned by uid $(id -u): NLTK_DATA stays at $data, which NLTK may refuse" >&2
fi
`;
}

export interface NltkResult {
  dir: string;
  env: LayerEnv;
}

/** For the app's nltk.txt (the analysis parsed it; src/classic.ts): the layer, or undefined when
 *  there is nothing to download (and then no layer is kept). */
export async function installNltkData(opts: { layersDir: string; appDir: string; nltk: { ids: string[]; sha256: string } | undefined; venvDir: string | undefined; env: Record<string, string>; log: Log }): Promise<NltkResult | undefined> {
  const { log } = opts;
  if (!opts.nltk) {
    await dropLayer(opts.layersDir, nltkDataLayer.name);
    return undefined;
  }
  log.step('NLTK data (nltk.txt)');
  const { ids, sha256 } = opts.nltk;
  const version = opts.venvDir ? await installedNltkVersion(opts.venvDir) : undefined;
  if (!version || ids.length === 0) {
    await dropLayer(opts.layersDir, nltkDataLayer.name);
    if (!version) {
      log.warning('nltk.txt found but nltk is not installed', [
        'The app has nltk.txt, but the nltk package is not among the installed dependencies, so no corpora were downloaded.',
        'Add nltk to your dependencies (for example requirements.txt), or remove nltk.txt.',
      ]);
    } else {
      log.info('nltk.txt lists no packages: nothing to download');
    }
    return undefined;
  }
  log.info(`nltk.txt lists ${listing(ids)} (nltk ${version})`);
  const layer = await openLayer(opts.layersDir, nltkDataLayer, { nltk_txt_sha256: sha256, nltk_version: version });
  const dataDir = path.join(layer.dir, DATA_DIR);
  const env = LayerEnv.empty().override('NLTK_DATA', dataDir);
  const result = { dir: layer.dir, env };
  if (layer.decision.action === 'reuse') {
    logCacheHit(log, `NLTK data (${listing(ids)})`);
    await writeLayerEnv(layer.dir, env);
    return result;
  }
  logCacheMiss(log, 'NLTK data', layer.decision);
  const started = Date.now();
  const python = path.join(opts.venvDir!, 'bin', 'python');
  const out = await run(python, ['-c', DOWNLOAD_SCRIPT, dataDir, ...ids], { cwd: opts.appDir, env: opts.env, onOutput: (c) => log.commandOutput(c), keepLines: 30 });
  if (out.exitCode !== 0) {
    await removePath(layer.dir);
    const unknown = out.tail.map((l) => /^python-cnb: unknown NLTK package: (.+)$/.exec(l.trim())?.[1]).find(Boolean);
    if (unknown) {
      throw new UserError(`Unknown NLTK package "${printable(unknown)}" in nltk.txt`, [
        `nltk.txt lists "${printable(unknown)}", which is not in NLTK's data index${opts.env.NLTK_DOWNLOAD_URL ? ' (NLTK_DOWNLOAD_URL)' : ''}.`,
        'Check the spelling against https://www.nltk.org/nltk_data/ (the "id" of each package), and fix nltk.txt.',
      ]);
    }
    throw new UserError('Downloading NLTK data failed', [
      `NLTK's downloader could not download ${listing(ids)}. What it reported:`,
      '',
      ...out.tail.slice(-8).map((l) => `  ${l.trimEnd()}`),
      '',
      'Check that the NLTK data index is reachable from the build (or set NLTK_DOWNLOAD_URL to a mirror of it), then build again.',
    ]);
  }
  await shareWithRunUser(dataDir);
  const execd = path.join(layer.dir, 'exec.d', 'nltk-data');
  await fsp.mkdir(path.dirname(execd), { recursive: true });
  await fsp.writeFile(execd, nltkDataExecd(dataDir), { mode: 0o755 });
  await writeLayerEnv(layer.dir, env);
  await layer.commit();
  log.info(`Downloaded ${listing(ids)} in ${formatDuration(Date.now() - started)}`);
  return result;
}

/**
 * The downloaded data as the run user can use it: the archives of extracted packages removed (the
 * downloader keeps them private to the build user, and they would double the layer), everything
 * else readable by all and writable by its owner only (NLTK refuses data that others can write,
 * and the build's umask may leave it group-writable).
 */
async function shareWithRunUser(dataDir: string): Promise<void> {
  for (const sub of await listDir(dataDir)) {
    if (sub.kind !== 'dir') continue;
    const entries = await listDir(path.join(dataDir, sub.name));
    const dirs = new Set(entries.filter((e) => e.kind === 'dir').map((e) => e.name));
    for (const e of entries) if (e.kind === 'file' && e.name.endsWith('.zip') && dirs.has(e.name.slice(0, -4))) await removePath(path.join(dataDir, sub.name, e.name));
  }
  await makeSharedReadOnly(dataDir);
}
