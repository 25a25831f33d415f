// The `collected-static` layer (cache only): what Django's collectstatic wrote into the app the
// last time it ran, and a digest of everything it read, so that a rebuild whose inputs are all
// unchanged copies those files back instead of starting Django (issue 20: a warm Django rebuild
// spent ~0.45 s of its builder phase in collectstatic; with WhiteNoise's compression it takes
// seconds). The inputs, hashed before collectstatic would run:
//   - every file, directory and link of the app (paths, executable bits, contents, link targets):
//     the source, STATICFILES_DIRS, settings, and what earlier buildpacks wrote there;
//   - the layers Django runs from (the TOMLs of python, site-packages, sqlite, nltk-data: the
//     Python build, the dependency files' sha256 and the installer, which say what the venv holds);
//   - the build environment collectstatic gets (settings read env vars), except names that differ
//     on every build with no meaning to the app: TMPDIR (this build's scratch), HOSTNAME (the
//     build container's) and the lifecycle's CNB_* (CNB_BP_PLAN_PATH is a new temp path on every
//     build; the target's arch and distro are in the layers' keys already).
// Any difference, and collectstatic runs as always. Not reused at all (src/django.ts decides) when
// a bin/pre_compile or bin/post_compile hook runs, since a hook may change anything, or when
// BP_PYTHON_COLLECTSTATIC_REUSE=false. What it cannot see: files outside the app that settings
// read, and a storage that writes something new on every run (a build timestamp): such an app sets
// BP_PYTHON_COLLECTSTATIC_REUSE=false.
import { createHash, type Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { defineLayer, dropLayer, openLayer, stringKey, type LayerHandle } from '../cnb/layer';
import { formatBytes, type Log } from '../log';
import { logCacheMiss } from './kit';

export const collectedStaticLayer = defineLayer({
  name: 'collected-static',
  types: { build: false, launch: false, cache: true },
  key: stringKey(['inputs_sha256'] as const, ['files', 'bytes']),
  reasons: { inputs_sha256: () => 'the app files, the venv or the build environment changed since collectstatic last ran' },
});

/** Layers whose TOML says what Django runs from (their metadata are their keys). */
const RUNTIME_LAYERS = ['python', 'site-packages', 'sqlite', 'nltk-data'];
/** Build env names that change on every build and mean nothing to the app's settings. */
const VOLATILE_ENV = new Set(['TMPDIR', 'HOSTNAME', 'OLDPWD', 'SHLVL', '_']);
/** Bounds on the app walk: a bigger app is not fingerprinted (collectstatic runs), so a huge
 *  workspace (a frontend's node_modules) does not pay more for hashing than collectstatic costs. */
export const FINGERPRINT_LIMITS = { entries: 20_000, bytes: 256 * 1024 ** 2 };

/** One regular file of the app as seen by the walk (for telling what collectstatic wrote). */
interface Seen {
  size: number;
  mtimeMs: number;
  mode: number;
}

/** The environment part of the fingerprint (pure): sorted, without the volatile names. */
export function envForFingerprint(env: Readonly<Record<string, string>>): string[] {
  return Object.keys(env)
    .filter((k) => !VOLATILE_ENV.has(k) && !k.startsWith('CNB_'))
    .sort()
    .map((k) => `${k}=${env[k]}`);
}

/**
 * Walks the app without following links: every entry into `hash` when given (its relative path,
 * kind, executable bit and contents or target), every regular file into the returned map.
 * Undefined when the app is over FINGERPRINT_LIMITS.
 */
async function walkApp(appDir: string, hash?: Hash): Promise<Map<string, Seen> | undefined> {
  const seen = new Map<string, Seen>();
  let entries = 0;
  let bytes = 0;
  const visit = async (rel: string): Promise<boolean> => {
    const names = (await fsp.readdir(path.join(appDir, rel))).sort();
    for (const name of names) {
      const relPath = rel ? `${rel}/${name}` : name;
      const abs = path.join(appDir, relPath);
      const st = await fsp.lstat(abs);
      if (++entries > FINGERPRINT_LIMITS.entries) return false;
      if (st.isSymbolicLink()) {
        hash?.update(`L\0${relPath}\0${await fsp.readlink(abs)}\0`);
      } else if (st.isDirectory()) {
        hash?.update(`D\0${relPath}\0`);
        if (!(await visit(relPath))) return false;
      } else if (st.isFile()) {
        bytes += st.size;
        if (bytes > FINGERPRINT_LIMITS.bytes) return false;
        seen.set(relPath, { size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o777 });
        if (hash) {
          hash.update(`F\0${relPath}\0${st.mode & 0o111 ? 'x' : '-'}\0${st.size}\0`);
          hash.update(await fsp.readFile(abs));
        }
      } else {
        hash?.update(`O\0${relPath}\0`);
      }
    }
    return true;
  };
  return (await visit('')) ? seen : undefined;
}

/** The digest of collectstatic's inputs, and the app's files as they were, or why there is none. */
async function fingerprint(opts: { appDir: string; layersDir: string; env: Readonly<Record<string, string>> }): Promise<{ digest: string; before: Map<string, Seen> } | { tooBig: true } | { unreadable: string }> {
  const hash = createHash('sha256');
  hash.update('python-cnb collectstatic inputs v1\0');
  for (const name of RUNTIME_LAYERS) {
    const toml = await fsp.readFile(path.join(opts.layersDir, `${name}.toml`)).catch(() => undefined);
    hash.update(`T\0${name}\0`);
    if (toml) hash.update(toml);
  }
  for (const line of envForFingerprint(opts.env)) hash.update(`E\0${line}\0`);
  // An entry the build user cannot read (another buildpack's, a mode-000 file) is not an error
  // here: collectstatic runs, and says what it thinks of it.
  const before = await walkApp(opts.appDir, hash).catch((e: NodeJS.ErrnoException) => `${e.code ?? 'error'} on ${e.path ?? 'an entry'}`);
  if (typeof before === 'string') return { unreadable: before };
  return before ? { digest: hash.digest('hex'), before } : { tooBig: true };
}

export interface CollectedStatic {
  /** True when the files of an earlier collectstatic were copied back: do not run it. */
  restored: boolean;
  /** After collectstatic succeeded: keeps what it wrote for the next build. */
  save(): Promise<void>;
  /** collectstatic did not run (the staticfiles app is not enabled): nothing to keep. */
  discard(): Promise<void>;
}

/** Copies what collectstatic wrote into `to`, each file with its mode. */
async function copyWritten(from: string, to: string, written: ReadonlyArray<[string, Seen]>): Promise<void> {
  for (const [rel, seen] of written) {
    const target = path.join(to, rel);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    await fsp.copyFile(path.join(from, rel), target);
    await fsp.chmod(target, seen.mode);
  }
}

/**
 * Before collectstatic: the fingerprint of its inputs; when it matches the cached one, the cached
 * output is copied into the app and `restored` is true.
 */
export async function reuseCollectedStatic(opts: { appDir: string; layersDir: string; env: Readonly<Record<string, string>>; log: Log }): Promise<CollectedStatic> {
  const { log } = opts;
  const started = Date.now();
  const fp = await fingerprint(opts);
  if (!('digest' in fp)) {
    const why = 'tooBig' in fp ? `The app has over ${FINGERPRINT_LIMITS.entries} entries or ${formatBytes(FINGERPRINT_LIMITS.bytes)}` : `The app could not be read to check it (${fp.unreadable})`;
    log.info(`${why}: collectstatic runs without checking whether its inputs changed`);
    await dropCollected(opts.layersDir);
    return { restored: false, save: async () => {}, discard: async () => {} };
  }
  const layer = await openLayer(opts.layersDir, collectedStaticLayer, { inputs_sha256: fp.digest });
  const filesDir = path.join(layer.dir, 'files');
  const d = layer.decision;
  if (d.action === 'reuse') {
    // The copy keeps each file's mode and merges into the app's directories; a layer that lost its
    // files (it cannot: they are written before its metadata) would make collectstatic run.
    const copied = await fsp.cp(filesDir, opts.appDir, { recursive: true, force: true }).then(() => true, () => false);
    if (copied) {
      log.info(`Reusing the static files collectstatic wrote in an earlier build: the app's files, the venv and the build environment are unchanged (inputs sha256 ${fp.digest.slice(0, 12)}); ${d.cached.files ?? 'its'} files copied back in ${Date.now() - started} ms (BP_PYTHON_COLLECTSTATIC_REUSE=false runs it every build)`);
      return { restored: true, save: async () => {}, discard: async () => {} };
    }
  } else {
    logCacheMiss(log, 'static files', d);
  }
  return { restored: false, save: () => saveOutput(layer, opts.appDir, fp.before, log), discard: () => dropCollected(opts.layersDir) };
}

/** What collectstatic wrote (new or changed regular files of the app) into the layer, then its metadata. */
async function saveOutput(layer: LayerHandle<{ inputs_sha256: string }>, appDir: string, before: Map<string, Seen>, log: Log): Promise<void> {
  const after = await walkApp(appDir);
  if (!after) return; // grew past the limits while collecting: not kept, the next build runs it
  const written = [...after].filter(([rel, s]) => {
    const b = before.get(rel);
    return !b || b.size !== s.size || b.mtimeMs !== s.mtimeMs || b.mode !== s.mode;
  });
  const filesDir = path.join(layer.dir, 'files');
  await fsp.rm(filesDir, { recursive: true, force: true });
  await fsp.mkdir(filesDir, { recursive: true });
  await copyWritten(appDir, filesDir, written);
  const bytes = written.reduce((n, [, s]) => n + s.size, 0);
  await layer.commit({ files: String(written.length), bytes: String(bytes) });
  log.detail(`kept for the next build: the ${written.length} files it wrote (${formatBytes(bytes)})`);
}

/** No reuse this build (or no collectstatic): an earlier build's output must not linger in the cache. */
export async function dropCollected(layersDir: string): Promise<void> {
  await dropLayer(layersDir, collectedStaticLayer.name);
}
