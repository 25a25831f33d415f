// Thin filesystem helpers. Everything that touches the disk goes through src/io/ or src/cnb/toml.ts.
import { promises as fsp, constants as fsc, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const readFile = fsp.readFile;

/** Writes via a temp file in the same directory and a rename, so a reader (or an interrupted
 *  build) never sees a half-written file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, data, { mode });
  await fsp.rename(tmp, file);
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export async function removePath(p: string): Promise<void> {
  await fsp.rm(p, { recursive: true, force: true });
}

const removals = new Set<Promise<void>>();
let removalCount = 0;

/**
 * Moves `p` aside (a dot-named sibling, the same file system) and deletes it while the build goes
 * on: a discarded 40-package venv is ~10,000 files, 0.4-0.5 s of `rm` here that the install need
 * not wait for. `removalsFinished()` waits for every such deletion; the build phase calls it before
 * it exits, so the exporter never sees the aside directory.
 */
export async function removeInBackground(p: string): Promise<void> {
  const aside = path.join(path.dirname(p), `.${path.basename(p)}.discarded-${process.pid}-${++removalCount}`);
  try {
    await fsp.rename(p, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    await removePath(p);
    return;
  }
  const removal = removePath(aside).finally(() => removals.delete(removal));
  removals.add(removal);
}

export async function removalsFinished(): Promise<void> {
  await Promise.all([...removals]);
}

export async function makeDir(p: string): Promise<void> {
  await fsp.mkdir(p, { recursive: true });
}

export type EntryKind = 'file' | 'dir' | 'other';

/** The names in a directory with their kind (symlinks followed); [] if it cannot be read. */
export async function listDir(dir: string): Promise<Array<{ name: string; kind: EntryKind }>> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  return Promise.all(
    names.sort().map(async (name) => {
      try {
        const st = await fsp.stat(path.join(dir, name));
        return { name, kind: (st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other') as EntryKind };
      } catch {
        return { name, kind: 'other' as EntryKind };
      }
    }),
  );
}

export type FileRead = { ok: true; bytes: Buffer } | { ok: false; problem: string };

/** Reads a small regular file without ever throwing: the answer says what went wrong instead
 *  (a directory, unreadable, too large). Detect must never error on odd input. */
export async function readSmallFile(file: string, maxBytes = 4 * 1024 * 1024): Promise<FileRead> {
  try {
    const st = await fsp.stat(file);
    if (st.isDirectory()) return { ok: false, problem: 'is a directory, not a file' };
    if (!st.isFile()) return { ok: false, problem: 'is not a regular file' };
    if (st.size > maxBytes) return { ok: false, problem: `is ${st.size} bytes, larger than the ${maxBytes} bytes expected` };
    await fsp.access(file, fsc.R_OK);
    return { ok: true, bytes: await fsp.readFile(file) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, problem: code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be read (${code ?? 'error'})` };
  }
}

/** What a path is and whether this process may execute it; undefined when it does not exist. */
export async function fileStat(p: string): Promise<{ kind: EntryKind; executable: boolean } | undefined> {
  let st;
  try {
    st = await fsp.stat(p);
  } catch {
    return (await pathExists(p)) ? { kind: 'other', executable: false } : undefined; // a dangling link is "other"
  }
  const kind: EntryKind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  const executable = await fsp.access(p, fsc.X_OK).then(() => true, () => false);
  return { kind, executable };
}

/** Makes a tree readable by every account and writable only by its owner (links left alone):
 *  directories 0755, files 0644 (0755 when executable by the owner). */
export async function makeSharedReadOnly(root: string): Promise<void> {
  const st = await fsp.lstat(root);
  if (st.isSymbolicLink()) return;
  const mode = st.isDirectory() || st.mode & 0o100 ? 0o755 : 0o644;
  if ((st.mode & 0o7777) !== mode) await fsp.chmod(root, mode);
  if (st.isDirectory()) for (const name of await fsp.readdir(root)) await makeSharedReadOnly(path.join(root, name));
}

/**
 * Points TMPDIR (this process's, so every child's and Node's own os.tmpdir()) at a directory of
 * this build inside the one it was given, removed when the process exits. The tools a build runs
 * leave files in TMPDIR: found in /tmp after the test suite, owned by the build user, were
 * `tmp*cacert.pem` (a pip of 24.0 or older run from a wheel or zip extracts certifi's bundle and
 * never removes it), `poetry-chef-*` directories, `pipenv-request-*.json` and `uv-*.lock`. With
 * this, nothing the build's tools write outlives the build outside the layers.
 */
export function useBuildScratchAsTmpdir(): string {
  givenTmpdir = os.tmpdir();
  const scratch = mkdtempSync(path.join(givenTmpdir, `${BUILD_SCRATCH_PREFIX}${process.pid}-`));
  process.env.TMPDIR = scratch;
  process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
  return scratch;
}

/** A build's scratch directory: `python-cnb-build-<pid>-XXXXXX`. */
export const BUILD_SCRATCH_PREFIX = 'python-cnb-build-';
let givenTmpdir: string | undefined;

/** The TMPDIR the build was given, before useBuildScratchAsTmpdir pointed it at the scratch. */
export function baseTmpdir(): string {
  return givenTmpdir ?? os.tmpdir();
}

/**
 * Removes the `<prefix><pid>-*` directories in `dir` whose process is gone: what a build killed
 * with SIGKILL (no exit handler runs) left. A build running beside this one keeps its own.
 */
export async function removeStaleDirs(dir: string, prefix: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = /^(\d+)-/.exec(name.slice(prefix.length))?.[1];
    if (!pid || processAlive(Number(pid))) continue;
    await fsp.rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}
