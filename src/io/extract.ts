// Streams a (gzip | zstd | plain) tar into a directory with tar-stream. Only entries under
// `prefix` are kept, with the prefix stripped (python-build-standalone puts the install under
// "python/", or "python/install/" in its old "full" archives). An entry that would land outside the
// destination ("..", an absolute path, a symlink or hard link pointing outside) aborts the
// extraction: the caller wipes the partial output.
import { createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import * as tar from 'tar-stream';
import { UserError, printable } from '../errors';

export type Compression = 'gzip' | 'zstd' | 'none';

export function compressionOf(uri: string): Compression {
  const p = uri.split(/[?#]/)[0]!.toLowerCase();
  if (p.endsWith('.tar.gz') || p.endsWith('.tgz')) return 'gzip';
  if (p.endsWith('.tar.zst') || p.endsWith('.tzst')) return 'zstd';
  return 'none';
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

function unsafe(entry: string, why: string): UserError {
  return new UserError('Unsafe archive', [`The archive contains "${printable(entry)}", which ${why}.`, 'Nothing from it was kept. The artifact is not a genuine runtime archive: check the manifest entry and any dependency mirror.']);
}

/** The entry's path inside `dest`, or undefined when outside the prefix; throws when unsafe. */
export function entryTarget(name: string, prefix: string, dest: string): string | undefined {
  const clean = name.replace(/^\.\//, '');
  if (path.posix.isAbsolute(clean)) throw unsafe(name, 'is an absolute path');
  const normal = path.posix.normalize(clean);
  if (normal === '..' || normal.startsWith('../')) throw unsafe(name, 'points outside the destination');
  const withSlash = normal.endsWith('/') ? normal : `${normal}/`;
  if (prefix && !withSlash.startsWith(prefix)) return undefined;
  const rel = normal.slice(prefix.length).replace(/\/$/, '');
  if (rel === '' || rel === '.') return undefined;
  return path.join(dest, rel);
}

function inside(dest: string, p: string): boolean {
  const r = path.relative(dest, p);
  return r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
}

const SMALL_FILE = 1 << 20;
const UMASK = process.umask();

async function writeSmall(target: string, data: Buffer, mode: number): Promise<void> {
  await fsp.writeFile(target, data, { mode });
  if (mode & UMASK) await fsp.chmod(target, mode); // the umask filtered the mode we asked for
}

/** Bounded background work: `add` waits only when `limit` tasks are already running; the first
 *  failure is re-thrown by the next `add` or by `settle`. */
class InFlight {
  private readonly running = new Set<Promise<void>>();
  private failure: unknown;
  constructor(private readonly limit: number) {}

  async add(task: Promise<void>): Promise<void> {
    const tracked = task.then(
      () => void this.running.delete(tracked),
      (e) => {
        this.running.delete(tracked);
        this.failure ??= e;
      },
    );
    this.running.add(tracked);
    if (this.running.size >= this.limit) await Promise.race(this.running);
    if (this.failure) throw this.failure;
  }

  async settle(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure) throw this.failure;
  }
}

/** Consumes an entry's body we do not write (tar-stream needs every body read to go on). */
function drain(stream: { resume(): unknown; on(event: 'end', cb: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => {
    stream.on('end', () => resolve());
    stream.resume();
  });
}

export interface ExtractStats {
  files: number;
  bytes: number;
}

export async function extractTar(input: Readable, dest: string, options: { compression: Compression; prefix: string }): Promise<ExtractStats> {
  const stats: ExtractStats = { files: 0, bytes: 0 };
  const writes = new InFlight(64);
  const prefix = options.prefix && !options.prefix.endsWith('/') ? `${options.prefix}/` : options.prefix;
  const extract = tar.extract();
  const madeDirs = new Set<string>();
  const mkdirp = async (dir: string) => {
    if (madeDirs.has(dir)) return;
    await fsp.mkdir(dir, { recursive: true });
    madeDirs.add(dir);
  };

  extract.on('entry', (header, stream, next) => {
    const handle = async () => {
      const target = entryTarget(header.name, prefix, dest);
      if (!target) return drain(stream);
      const mode = (header.mode ?? 0o644) & 0o7777;
      switch (header.type) {
        case 'directory':
          await mkdirp(target);
          return drain(stream);
        case 'file':
        case 'contiguous-file': {
          await mkdirp(path.dirname(target));
          if ((header.size ?? 0) <= SMALL_FILE) {
            // Small files (nearly all of a runtime) are written in the background, many at once, while
            // the next entries are decompressed and parsed: creating thousands of files costs more
            // CPU in the kernel than decompressing them, and this keeps both cores busy (as
            // `curl | tar -xz` does with three processes).
            const chunks: Buffer[] = [];
            for await (const c of stream) chunks.push(c as Buffer);
            await writes.add(writeSmall(target, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), mode));
          } else {
            await pipeline(stream, createWriteStream(target, { mode }));
            if (mode & UMASK) await fsp.chmod(target, mode);
          }
          stats.files++;
          stats.bytes += header.size ?? 0;
          return;
        }
        case 'symlink': {
          const link = header.linkname ?? '';
          if (path.isAbsolute(link) || !inside(dest, path.resolve(path.dirname(target), link))) throw unsafe(`${header.name} -> ${link}`, 'is a link pointing outside the destination');
          await mkdirp(path.dirname(target));
          await fsp.rm(target, { force: true });
          await fsp.symlink(link, target);
          return drain(stream);
        }
        case 'link': {
          await writes.settle(); // the link's source may still be in flight
          const source = entryTarget(header.linkname ?? '', prefix, dest);
          if (!source) throw unsafe(`${header.name} -> ${header.linkname}`, 'is a hard link to a file outside the destination');
          await mkdirp(path.dirname(target));
          await fsp.rm(target, { force: true });
          await fsp.link(source, target);
          return drain(stream);
        }
        default:
          return drain(stream); // devices, FIFOs: never in a runtime archive, and they break layer export
      }
    };
    handle().then(() => next(), (e) => next(e));
  });

  const stages: NodeJS.ReadWriteStream[] = [];
  if (options.compression === 'gzip') stages.push(zlib.createGunzip());
  if (options.compression === 'zstd') stages.push(zstdDecoder());
  try {
    await pipeline([input, ...stages, extract] as unknown as NodeJS.ReadWriteStream[]);
  } finally {
    await writes.settle().catch(() => undefined);
  }
  await writes.settle();
  return stats;
}
