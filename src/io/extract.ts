// Streams a (gzip | zstd | plain) tar into a directory with tar-stream. Only entries under
// `prefix` are kept, with the prefix stripped (python-build-standalone puts the install under
// "python/", or "python/install/" in its old "full" archives). An entry that would land outside the
// destination ("..", an absolute path, a symlink or hard link pointing outside) aborts the
// extraction: the caller wipes the partial output. archive-tree.ts decides where each entry really
// lands (through the links made before it) and refuses what would leave the destination; the
// writer only ever gets those canonical paths. Sizes, path lengths and entry counts are capped.
//
// Speed (bench/README.md has the figures): this thread downloads, hashes and parses, zlib inflates
// in the threadpool, and one worker thread does every file-system call synchronously, in archive
// order (see FileWriter). Creating ~4,300 small files is nearly all kernel time in openat, so the
// writer thread is the critical path, as tar is in `curl | tar -xz`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Duplex, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import * as tar from 'tar-stream';
import { UnsafeArchive } from '../failures';
import { ArchiveRefusal, ArchiveTree, DEFAULT_TREE_LIMITS, type TreeLimits } from './archive-tree';

export type Compression = 'gzip' | 'zstd' | 'xz' | 'none';

export function compressionOf(uri: string): Compression {
  const p = uri.split(/[?#]/)[0]!.toLowerCase();
  if (p.endsWith('.tar.gz') || p.endsWith('.tgz')) return 'gzip';
  if (p.endsWith('.tar.zst') || p.endsWith('.tzst')) return 'zstd';
  if (p.endsWith('.tar.xz') || p.endsWith('.txz')) return 'xz';
  return 'none';
}

/**
 * xz through the `xz` program (python.org's source tarballs; Node has no xz and the pure-JS
 * decoders are an order of magnitude slower). Only source builds use it, and their preflight
 * checks that `xz` is on PATH. A non-zero exit (a corrupt stream) fails the pipeline.
 */
function xzDecoder(): NodeJS.ReadWriteStream {
  const child = spawn('xz', ['--decompress', '--stdout'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 2000) stderr += c.toString();
  });
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.on('error', (e) => duplex.destroy(e));
  child.on('exit', (code, signal) => {
    if (code !== 0 && !duplex.destroyed) duplex.destroy(new Error(`xz failed (${signal ?? `exit code ${code}`}): ${stderr.trim()}`));
  });
  duplex.on('close', () => {
    if (child.exitCode === null) child.kill();
  });
  return duplex;
}

/** fzstd's streaming decoder as a Node Transform (Node 20 has no zstd in zlib). */
function zstdDecoder(): Transform {
  let transform!: Transform;
  const decoder = new Decompress((chunk) => transform.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        decoder.push(chunk);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
    flush(done) {
      try {
        decoder.push(new Uint8Array(0), true);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
  return transform;
}

function unsafe(entry: string, why: string): UnsafeArchive {
  return new UnsafeArchive(entry, why);
}

/**
 * The entry's path relative to the destination, or undefined when outside the prefix; throws when
 * it is absolute or has a ".." component (as GNU tar, which refuses such members).
 */
export function entryPath(name: string, prefix: string): string | undefined {
  const clean = name.replace(/^(\.\/)+/, '');
  if (path.posix.isAbsolute(clean)) throw unsafe(name, 'is an absolute path');
  if (clean.split('/').includes('..')) throw unsafe(name, 'points outside the destination (a ".." component)');
  if (clean.includes('\0')) throw unsafe(name, 'has a NUL byte in its name');
  const normal = path.posix.normalize(clean);
  const withSlash = normal.endsWith('/') ? normal : `${normal}/`;
  if (prefix && !withSlash.startsWith(prefix)) return undefined;
  const rel = normal.slice(prefix.length).replace(/\/$/, '');
  if (rel === '' || rel === '.') return undefined;
  return rel;
}

/** The entry's path inside `dest`, or undefined when outside the prefix; throws when unsafe. */
export function entryTarget(name: string, prefix: string, dest: string): string | undefined {
  const rel = entryPath(name, prefix);
  return rel === undefined ? undefined : path.join(dest, rel);
}

/** Bounds on what one archive may unpack to. */
export interface ExtractLimits extends TreeLimits {
  /** Bytes of the uncompressed tar stream (files, headers, padding): a gzip bomb stops here. */
  maxUnpackedBytes: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { ...DEFAULT_TREE_LIMITS, maxUnpackedBytes: 4 * 1024 ** 3 };

/** Passes the uncompressed stream through, failing once it is longer than `max` bytes. */
function sizeCap(max: number, current: () => string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > max) done(tooBig(current(), max));
      else done(null, chunk);
    },
  });
}

function tooBig(entry: string, max: number): UnsafeArchive {
  return unsafe(entry, `takes what the archive unpacks to beyond ${formatLimit(max)}, the limit for one artifact (a runtime archive unpacks to a few hundred MiB)`);
}

function formatLimit(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${bytes} bytes`;
}

const UMASK = process.umask();

/**
 * Executes the extractor's file-system operations in order, synchronously (one thread, no
 * threadpool round trips). The source is a string so that it runs unchanged in a worker thread
 * (bundled or packaged, there is no module file to point a Worker at) and, as a fallback, inline.
 * A batch is { ops, bufs }: ops are arrays [code, ...args]; file bodies are (buf index, offset,
 * length) slices of the transferred ArrayBuffers in bufs.
 *   0 mkdir -p dir | 1 open path mode (truncates; a symlink or dir in the way is removed first)
 *   2 write buf off len | 3 close chmodMode (0: keep) mtimeSeconds (-1: now) | 4 symlink link path
 *   5 hard link src path
 */
const EXECUTOR_SOURCE = `
function createExecutor(fs) {
  const FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;
  let fd = -1;
  function open(p, mode) {
    try {
      fd = fs.openSync(p, FLAGS, mode);
    } catch (e) {
      if (e.code !== 'ELOOP' && e.code !== 'EISDIR') throw e;
      fs.rmSync(p, { recursive: true, force: true });
      fd = fs.openSync(p, FLAGS, mode);
    }
  }
  function close(chmod, mtime) {
    if (fd < 0) return;
    const f = fd;
    fd = -1;
    try {
      if (chmod) fs.fchmodSync(f, chmod);
      if (mtime >= 0) fs.futimesSync(f, mtime, mtime);
    } finally {
      fs.closeSync(f);
    }
  }
  return {
    run(batch) {
      const bufs = batch.bufs.map((b) => Buffer.from(b));
      for (const op of batch.ops) {
        switch (op[0]) {
          case 0: fs.mkdirSync(op[1], { recursive: true }); break;
          case 1: open(op[1], op[2]); break;
          case 2: {
            const buf = bufs[op[1]];
            let off = op[2];
            const end = off + op[3];
            while (off < end) off += fs.writeSync(fd, buf, off, end - off);
            break;
          }
          case 3: close(op[1], op[2]); break;
          case 4: fs.rmSync(op[2], { force: true }); fs.symlinkSync(op[1], op[2]); break;
          case 5: fs.rmSync(op[2], { force: true }); fs.linkSync(op[1], op[2]); break;
        }
      }
    },
    abort() {
      try { close(0, -1); } catch {}
    },
  };
}
`;

const WORKER_SOURCE = `${EXECUTOR_SOURCE}
const { parentPort } = require('node:worker_threads');
const executor = createExecutor(require('node:fs'));
let failed = false;
parentPort.on('message', (m) => {
  if (m.end) {
    executor.abort();
    parentPort.postMessage({ finished: true });
    return;
  }
  if (!failed) {
    try {
      executor.run(m);
    } catch (e) {
      failed = true;
      executor.abort();
      parentPort.postMessage({ error: { message: e.message, code: e.code } });
    }
  }
  // The buffers go back to be filled again: no allocation per batch on either side.
  parentPort.postMessage({ done: m.bytes, bufs: m.bufs }, m.bufs);
});
`;

type Op = [number, ...Array<string | number>];
interface Batch {
  ops: Op[];
  bufs: ArrayBuffer[];
  bytes: number;
}
interface Executor {
  run(batch: Batch): void;
  abort(): void;
}

const ARENA = 256 << 10;
/** Buffer bytes handed to the writer and not yet back, beyond which parsing waits (bounds memory). */
const HIGH_WATER = 8 << 20;
const LOW_WATER = 2 << 20;

/**
 * Writes files from a thread of its own, while this thread downloads, hashes, parses (and the
 * threadpool decompresses): creating thousands of small files is mostly kernel time in openat,
 * and `curl | tar -xz` gets its speed from the same split (gzip and tar in separate processes).
 * Operations run in the order they were queued, so a hard link always finds its source. Queued
 * operations are sent in batches, file bodies copied into one transferable arena per batch.
 */
class FileWriter {
  private worker: Worker | undefined;
  private inline: Executor | undefined;
  private batch: Batch = { ops: [], bufs: [], bytes: 0 };
  private arena: Buffer | undefined;
  private arenaUsed = 0;
  /** The arena's index in the batch's bufs. */
  private arenaIndex = 0;
  /** Arenas the writer has sent back. */
  private spare: ArrayBuffer[] = [];
  private flushScheduled = false;
  private outstanding = 0;
  private failure: Error | undefined;
  private waiters: Array<() => void> = [];
  private finished: (() => void) | undefined;

  constructor() {
    try {
      this.worker = new Worker(WORKER_SOURCE, { eval: true });
    } catch {
      this.worker = undefined;
    }
    if (!this.worker) {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      this.inline = new Function('fs', `${EXECUTOR_SOURCE}\nreturn createExecutor(fs);`)(fs) as Executor;
      return;
    }
    this.worker.on('message', (m: { done?: number; bufs?: ArrayBuffer[]; error?: { message: string; code?: string }; finished?: boolean }) => {
      if (m.error && !this.failure) this.failure = Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {});
      for (const b of m.bufs ?? []) if (b.byteLength === ARENA && this.spare.length < HIGH_WATER / ARENA) this.spare.push(b);
      if (m.done !== undefined) {
        this.outstanding -= m.done;
        if (this.outstanding <= LOW_WATER || this.failure) this.wake();
      }
      if (m.finished) this.finished?.();
    });
    this.worker.on('error', (e) => {
      this.failure ??= e;
      this.wake();
      this.finished?.();
    });
  }

  mkdir(dir: string): void {
    this.queue([0, dir]);
  }

  open(file: string, mode: number): void {
    this.queue([1, file, mode]);
  }

  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (chunk.length > ARENA / 4) {
      const own = new Uint8Array(chunk.length);
      own.set(chunk);
      this.batch.bufs.push(own.buffer);
      this.batch.bytes += chunk.length;
      this.queue([2, this.batch.bufs.length - 1, 0, chunk.length]);
      return;
    }
    if (!this.arena || this.arenaUsed + chunk.length > this.arena.length) this.newArena();
    chunk.copy(this.arena!, this.arenaUsed);
    this.queue([2, this.arenaIndex, this.arenaUsed, chunk.length]);
    this.arenaUsed += chunk.length;
  }

  close(chmod: number, mtimeSeconds: number): void {
    this.queue([3, chmod, mtimeSeconds]);
  }

  symlink(link: string, file: string): void {
    this.queue([4, link, file]);
  }

  link(source: string, file: string): void {
    this.queue([5, source, file]);
  }

  full(): boolean {
    return this.outstanding + this.batch.bytes > HIGH_WATER;
  }

  /** Resolves when the writer has caught up enough to queue more; throws its first failure. */
  async ready(): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.full()) return;
    this.flush();
    while (this.outstanding > LOW_WATER && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) throw this.failure;
  }

  /** Everything queued is written (or the first failure is thrown); the thread is stopped. */
  async finish(): Promise<void> {
    this.flush();
    if (this.worker) {
      const done = new Promise<void>((r) => (this.finished = r));
      this.worker.postMessage({ end: true });
      await done;
      await this.worker.terminate();
      this.worker = undefined;
    } else {
      this.inline?.abort();
    }
    if (this.failure) throw this.failure;
  }

  /** Stops at once: nothing else is written after this resolves (the caller wipes the output). */
  async abort(): Promise<void> {
    this.failure ??= new Error('extraction aborted');
    this.batch = { ops: [], bufs: [], bytes: 0 };
    if (this.worker) {
      await this.worker.terminate();
      this.worker = undefined;
    }
    this.inline?.abort();
    this.wake();
  }

  private newArena(): void {
    const recycled = this.spare.pop();
    this.arena = recycled ? Buffer.from(recycled) : Buffer.allocUnsafeSlow(ARENA);
    this.arenaUsed = 0;
    this.arenaIndex = this.batch.bufs.push(this.arena.buffer as ArrayBuffer) - 1;
    this.batch.bytes += ARENA;
  }

  private queue(op: Op): void {
    this.batch.ops.push(op);
    if (this.batch.bytes >= 4 * ARENA || this.batch.ops.length >= 1024) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    const batch = this.batch;
    if (batch.ops.length === 0) return;
    this.batch = { ops: [], bufs: [], bytes: 0 };
    // The arena travels with this batch; the next write starts a new one.
    this.arena = undefined;
    if (this.failure) return;
    if (this.worker) {
      this.outstanding += batch.bytes;
      this.worker.postMessage(batch, batch.bufs);
      return;
    }
    try {
      this.inline!.run(batch);
    } catch (e) {
      this.failure = e as Error;
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Consumes an entry's body we do not write (tar-stream needs every body read to go on). */
/** Reads an entry's body to its end without writing it. A broken body (a corrupt gzip stream under
 *  it) rejects, as a written one does: an 'error' without a listener would end the process. */
function drain(stream: { resume(): unknown; on(event: 'end' | 'error', cb: (e?: unknown) => void): unknown }): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve());
    stream.on('error', reject);
    stream.resume();
  });
}

export interface ExtractStats {
  files: number;
  bytes: number;
  /** Regular files the caller's `leaveOut` kept from being written (and hard links to them), by
   *  the label it gave them. */
  leftOut: Record<string, { files: number; bytes: number }>;
}

export async function extractTar(
  input: Readable,
  dest: string,
  options: {
    compression: Compression;
    prefix: string;
    limits?: Partial<ExtractLimits>;
    /** Regular files (and directories) not to write at all, by their path under `dest`: cheaper
     *  than writing and deleting them. Returns the label files are counted under, or undefined to
     *  write the entry. */
    leaveOut?: (rel: string) => string | undefined;
  },
): Promise<ExtractStats> {
  const limits = { ...DEFAULT_EXTRACT_LIMITS, ...options.limits };
  // The model below knows only what this archive made; anything already there would be unknown.
  if (fs.readdirSync(dest).length > 0) throw new Error(`extractTar needs an empty destination, and ${dest} is not empty`);
  const stats: ExtractStats = { files: 0, bytes: 0, leftOut: {} };
  /** Each file left out, and its label. */
  const leftOut = new Map<string, string>();
  const countLeftOut = (label: string, bytes: number) => {
    const c = (stats.leftOut[label] ??= { files: 0, bytes: 0 });
    c.files++;
    c.bytes += bytes;
  };
  const writer = new FileWriter();
  const tree = new ArchiveTree(limits);
  const prefix = options.prefix && !options.prefix.endsWith('/') ? `${options.prefix}/` : options.prefix;
  const extract = tar.extract();
  const at = (canonical: string) => path.join(dest, canonical);
  const mkdirs = (dirs: readonly string[]) => {
    for (const d of dirs) writer.mkdir(at(d));
  };
  /** Asks the model where the entry goes; its refusal becomes the titled error naming the entry. */
  const decide = <T>(entry: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw e instanceof ArchiveRefusal ? unsafe(entry, e.message) : e;
    }
  };

  let current = '(the first entry)';
  extract.on('entry', (header, stream, next) => {
    current = header.name;
    const handle = async () => {
      await writer.ready();
      const rel = entryPath(header.name, prefix);
      if (rel === undefined) return drain(stream);
      // No setuid, setgid or sticky bit and nothing world-writable lands in a layer.
      const mode = (header.mode ?? 0o644) & 0o775;
      switch (header.type) {
        case 'directory':
          // A directory left out is not made (the files in it are left out too, by the same rule).
          if (options.leaveOut?.(rel) === undefined) mkdirs(decide(header.name, () => tree.directory(rel)));
          return drain(stream);
        case 'file':
        case 'contiguous-file': {
          const size = header.size ?? 0;
          const label = options.leaveOut?.(rel);
          if (label !== undefined) {
            leftOut.set(rel, label);
            countLeftOut(label, size);
            return drain(stream);
          }
          if (stats.bytes + size > limits.maxUnpackedBytes) throw tooBig(header.name, limits.maxUnpackedBytes);
          const { path: file, dirs } = decide(header.name, () => tree.leaf(rel, 'file'));
          mkdirs(dirs);
          writer.open(at(file), mode);
          for await (const c of stream) {
            writer.write(c as Buffer);
            if (writer.full()) await writer.ready();
          }
          // The archive's mtime, as tar keeps it: a runtime's timestamp .pyc record their source's
          // mtime, and are valid only while it is kept (src/runtime/stdlib-bytecode.ts).
          const mtime = header.mtime instanceof Date && !Number.isNaN(header.mtime.getTime()) ? Math.max(0, Math.floor(header.mtime.getTime() / 1000)) : -1;
          writer.close(mode & UMASK ? mode : 0, mtime); // the umask filtered the mode we asked for
          stats.files++;
          stats.bytes += size;
          return;
        }
        case 'symlink': {
          const link = header.linkname ?? '';
          const { path: file, dirs } = decide(`${header.name} -> ${link}`, () => tree.leaf(rel, 'symlink', link));
          mkdirs(dirs);
          writer.symlink(link, at(file));
          return drain(stream);
        }
        case 'link': {
          const shown = `${header.name} -> ${header.linkname ?? ''}`;
          const sourceRel = entryPath(header.linkname ?? '', prefix);
          if (sourceRel === undefined) throw unsafe(shown, 'is a hard link to a file outside the destination');
          const label = leftOut.get(sourceRel);
          if (label !== undefined) {
            countLeftOut(label, 0); // a second name of a file left out: left out too
            return drain(stream);
          }
          const source = decide(shown, () => tree.hardLinkSource(sourceRel));
          const { path: file, dirs } = decide(shown, () => tree.leaf(rel, 'file'));
          mkdirs(dirs);
          writer.link(at(source), at(file)); // in order: the source was written before
          return drain(stream);
        }
        case 'character-device':
        case 'block-device':
        case 'fifo':
          // A device node would give the app raw access to the host's hardware; a FIFO blocks
          // whoever opens it. Neither belongs in a runtime archive.
          throw unsafe(header.name, `is a ${header.type === 'fifo' ? 'FIFO (named pipe)' : 'device node'}`);
        default:
          return drain(stream); // pax and GNU extension records are consumed by tar-stream itself
      }
    };
    handle().then(
      () => next(),
      (e) => {
        stream.on('error', () => {}); // the unread body is destroyed with the same error, reported once, below
        next(e);
      },
    );
  });

  const stages: NodeJS.ReadWriteStream[] = [];
  // Larger output chunks than zlib's 16 KiB: fewer round trips between the threadpool and this thread.
  if (options.compression === 'gzip') stages.push(zlib.createGunzip({ chunkSize: 128 * 1024 }));
  if (options.compression === 'zstd') stages.push(zstdDecoder());
  if (options.compression === 'xz') stages.push(xzDecoder());
  stages.push(sizeCap(limits.maxUnpackedBytes, () => current));
  try {
    await pipeline([input, ...stages, extract] as unknown as NodeJS.ReadWriteStream[]);
    const leaving = tree.linksLeavingRoot();
    if (leaving.length) throw unsafe(leaving[0]!, `is a link pointing outside the destination once the whole archive is unpacked${leaving.length > 1 ? ` (and ${leaving.length - 1} more such links)` : ''}`);
  } catch (e) {
    await writer.abort();
    throw e;
  }
  await writer.finish();
  return stats;
}
