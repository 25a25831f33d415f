/**
 * A dependency mirror on loopback: serves the runtime fixtures that
 * test/setup/prepare-runtimes.sh builds (.cache/fixtures/runtimes: CPython archives, the pip
 * wheel, the SQLite tarball) and writes the operator manifest (BP_PYTHON_MANIFEST) that points
 * the buildpack at them.
 *
 * Why a server rather than file:// URIs: the buildpack downloads over HTTP, and what is worth
 * testing lives on the HTTP side: whether a warm rebuild downloads anything (the access log),
 * and how the downloader survives a hostile or broken network. The fault paths below make each
 * failure reproducible on demand, without timing tricks:
 *
 *   /fault/500/<file>             500 every time (a permanent server error: no endless retries)
 *   /fault/503-once/<file>        503 the first time per file, then the file (proves retries)
 *   /fault/cut/<file>             full Content-Length, half the body, then the socket is destroyed
 *   /fault/corrupt/<file>         the file with one byte flipped in the middle (checksum mismatch)
 *   /fault/slow/<file>            the file trickled at `slowBytesPerSecond` (a total deadline)
 *   /fault/stall/<file>           headers and 1 KiB, then silence until the client gives up
 *                                 (an idle/read timeout)
 *   /fault/dotdot/<file>          a gzip tar with an entry `python/../../escape.txt`
 *   /fault/symlink-escape/<file>  a gzip tar with a symlink `python/lib/evil -> /etc`
 *
 * The two hostile archives are generated deterministically (fixed mtimes, zlib's gzip header
 * carries no timestamp), so `archiveFor()` / `mirror.sha256()` give the checksum a manifest
 * entry needs for the download to pass verification and reach the extractor, which is the
 * code under test there.
 *
 * Why Node's http (like package-index.ts): the test process owns the server, the log is plain
 * memory, the port is ephemeral (no races between parallel workers), close() is synchronous
 * with the test's lifetime, and nothing here can reach beyond 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import * as TOML from '@iarna/toml';
import * as tar from 'tar-stream';
import END_OF_LIFE from '../../src/python/end-of-life.json';
import { buildpackDependencies } from './buildpack-manifest';

const DEFAULT_ROOT = path.resolve(__dirname, '..', '..', '.cache', 'fixtures', 'runtimes');

export const FAULT_MODES = ['500', '503-once', 'cut', 'corrupt', 'slow', 'stall', 'dotdot', 'symlink-escape'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];
export type HostileArchive = 'dotdot' | 'symlink-escape';

export interface MirrorOptions {
  /** Directory to serve. Default: .cache/fixtures/runtimes of this checkout. */
  root?: string;
  /** Rate of /fault/slow/ in bytes per second (default 2048: a 20 MB archive would take hours). */
  slowBytesPerSecond?: number;
}

export interface MirrorRequest {
  method: string;
  /** The request path as sent (percent-encoded, no query string). */
  path: string;
  status: number;
  /** Body bytes actually sent (0 for HEAD; less than Content-Length for cut or abandoned downloads). */
  bytes: number;
}

export interface Mirror {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  readonly root: string;
  /** Every request since start or the last clearLog(), in order of completion. */
  requests(): MirrorRequest[];
  clearLog(): void;
  /** The URL of a file under root (relative path, e.g. `pip/pip-26.3-py3-none-any.whl`), optionally through a fault. */
  urlFor(file: string, fault?: FaultMode): string;
  /** sha256 (hex) of the body a path serves when nothing goes wrong: the file, or a generated hostile archive. */
  sha256(fileOrFaultPath: string): Promise<string>;
  close(): Promise<void>;
}

/** One artifact in .cache/fixtures/runtimes/index.json (written by prepare-runtimes.sh). */
export interface RuntimeArtifact {
  version: string;
  arch: string;
  os: string;
  /** Relative to the index's directory. */
  file: string;
  sha256: string;
  size: number;
  prefix: string;
  compression: 'gzip' | 'zstd';
  flavor: 'install_only_stripped' | 'full';
  shared: boolean;
  /** The pyenv prefix the interpreter was built for (what the installer must rewrite). */
  build_prefix: string;
  /** Text files (relative to `prefix` inside the archive) that contain build_prefix. */
  build_prefix_files: string[];
}

export interface FixtureIndex {
  runtimes: RuntimeArtifact[];
  /** 3.6 and 3.7 (pyenv's, as stand-ins for an operator's archive of a line the buildpack compiles
   *  from source): listed only when a test names them (RuntimeManifestOptions.versions). */
  classic_runtimes?: RuntimeArtifact[];
  /** The default pip (buildpack.toml pip-version). */
  pip: { id: 'pip'; version: string; file: string; sha256: string; size: number } | null;
  /** Every pinned pip, one per Python line (absent from fixtures made before there were several). */
  pips?: Array<{ id: 'pip'; version: string; file: string; sha256: string; size: number }>;
  /** The linux/amd64 uv wheel (absent from fixtures made before uv support). */
  uv?: { id: 'uv'; version: string; file: string; sha256: string; size: number } | null;
  sqlite: { id: 'sqlite'; version: string; file: string; sha256: string; size: number; prefix: string } | null;
}

/** A manifest entry in the buildpack's schema (see src/python/manifest.ts). */
export interface ManifestEntry {
  id: string;
  name?: string;
  version: string;
  uri: string;
  checksum: string;
  os?: string;
  arch?: string;
  prefix?: string;
  purl?: string;
  cpes?: string[];
  licenses?: string[];
  deprecation_date?: string;
  source?: string;
  'source-checksum'?: string;
  [extra: string]: unknown;
}

// End of life per minor: the buildpack's one table, as scripts/generate-manifest.py writes it.
const EOL: Record<string, string> = Object.fromEntries(Object.entries(END_OF_LIFE.minors).map(([minor, day]) => [minor, `${day}T00:00:00Z`]));

const FIXED_MTIME = new Date('2020-01-01T00:00:00Z');

/** The hostile archives, as gzip bytes. Deterministic, so their sha256 is stable. */
export async function archiveFor(kind: HostileArchive): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
  const add = (header: Parameters<typeof pack.entry>[0], body?: string) =>
    new Promise<void>((resolve, reject) => {
      const full = { ...header, mtime: FIXED_MTIME, uid: 0, gid: 0 };
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body === undefined) pack.entry(full, cb);
      else pack.entry(full, body, cb);
    });
  // A plausible start, so an extractor that checks entries lazily gets past the first ones.
  await add({ name: 'python/', type: 'directory', mode: 0o755 });
  await add({ name: 'python/bin/', type: 'directory', mode: 0o755 });
  await add({ name: 'python/bin/python3', type: 'file', mode: 0o755 }, '#!/bin/sh\necho not a real python\n');
  await add({ name: 'python/lib/', type: 'directory', mode: 0o755 });
  if (kind === 'dotdot') {
    await add({ name: 'python/../../escape.txt', type: 'file', mode: 0o644 }, 'written outside the destination\n');
  } else {
    await add({ name: 'python/lib/evil', type: 'symlink', linkname: '/etc', mode: 0o777 });
  }
  await add({ name: 'python/lib/after.txt', type: 'file', mode: 0o644 }, 'an entry after the hostile one\n');
  pack.finalize();
  return zlib.gzipSync(await done, { level: 9 });
}

function sha256Buffer(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Percent-encode each path segment (file names contain `+`). */
function encodePath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

/**
 * The file under root a request path names, or undefined: percent-decoding errors, NUL bytes,
 * `..` segments, directories, dot files (work dirs, partial downloads) and anything whose real
 * path leaves root (a symlink) are all "not found".
 */
function resolveFile(root: string, realRoot: string, relative: string): { full: string; size: number } | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.length === 0 || segments.some((s) => s === '..' || s === '.' || s.startsWith('.'))) return undefined;
  const full = path.join(root, ...segments);
  try {
    const real = fs.realpathSync(full);
    if (!real.startsWith(realRoot + path.sep)) return undefined;
    const stat = fs.statSync(real);
    return stat.isFile() ? { full: real, size: stat.size } : undefined;
  } catch {
    return undefined;
  }
}

/** Flips the byte at `offset` of a stream. */
function flipByteAt(offset: number): Transform {
  let position = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (offset >= position && offset < position + chunk.length) {
        const copy = Buffer.from(chunk);
        copy[offset - position] = (copy[offset - position] ?? 0) ^ 0xff;
        chunk = copy;
      }
      position += chunk.length;
      done(null, chunk);
    },
  });
}

export async function startMirror(options: MirrorOptions = {}): Promise<Mirror> {
  const root = path.resolve(options.root ?? DEFAULT_ROOT);
  if (!fs.existsSync(root)) {
    throw new Error(`No runtime fixtures at ${root}. Run test/setup/prepare-runtimes.sh once.`);
  }
  const realRoot = fs.realpathSync(root);
  const slowRate = Math.max(1, options.slowBytesPerSecond ?? 2048);
  const hostile = new Map<HostileArchive, Promise<Buffer>>();
  const hostileArchive = (kind: HostileArchive): Promise<Buffer> => {
    let p = hostile.get(kind);
    if (!p) {
      p = archiveFor(kind);
      hostile.set(kind, p);
    }
    return p;
  };
  const failedOnce = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let log: MirrorRequest[] = [];

  const server = http.createServer((req, res) => {
    const urlPath = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    let bytes = 0;
    res.on('close', () => log.push({ method, path: urlPath, status: res.statusCode, bytes }));

    const send = (status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void => {
      const buffer = Buffer.from(body);
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': buffer.length, ...headers });
      if (method === 'HEAD') return void res.end();
      bytes = buffer.length;
      res.end(buffer);
    };
    const sendBuffer = (body: Buffer): void => {
      res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Length': body.length });
      if (method === 'HEAD') return void res.end();
      bytes = body.length;
      res.end(body);
    };
    const startFile = (size: number): boolean => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
      if (method === 'HEAD') {
        res.end();
        return false;
      }
      return true;
    };
    const stream = (full: string, transform?: Transform): void => {
      const source = fs.createReadStream(full);
      source.on('error', () => res.destroy());
      const body = transform ? source.pipe(transform) : source;
      body.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      body.pipe(res);
    };

    if (method !== 'GET' && method !== 'HEAD') return send(405, 'method not allowed\n', { Allow: 'GET, HEAD' });

    const fault = /^\/fault\/([^/]+)\/(.+)$/.exec(urlPath);
    const mode = fault?.[1];
    const relative = fault ? fault[2]! : urlPath.replace(/^\/+/, '');

    if (mode === 'dotdot' || mode === 'symlink-escape') {
      hostileArchive(mode).then(sendBuffer, () => send(500, 'could not generate the archive\n'));
      return;
    }
    if (fault && !(FAULT_MODES as readonly string[]).includes(mode!)) return send(404, `unknown fault mode ${mode}\n`);

    const file = resolveFile(root, realRoot, relative);
    if (!file) return send(404, 'not found\n');

    switch (mode as FaultMode | undefined) {
      case undefined:
        if (startFile(file.size)) stream(file.full);
        return;
      case '500':
        return send(500, 'internal server error (injected)\n');
      case '503-once':
        if (!failedOnce.has(file.full)) {
          failedOnce.add(file.full);
          return send(503, 'service unavailable (injected, once)\n', { 'Retry-After': '0' });
        }
        if (startFile(file.size)) stream(file.full);
        return;
      case 'corrupt':
        if (startFile(file.size)) stream(file.full, flipByteAt(Math.floor(file.size / 2)));
        return;
      case 'cut': {
        if (!startFile(file.size)) return;
        const half = Math.floor(file.size / 2);
        const source = fs.createReadStream(file.full, { start: 0, end: Math.max(0, half - 1) });
        source.on('data', (chunk) => {
          bytes += chunk.length;
        });
        source.pipe(res, { end: false });
        // Destroy only once the whole half has left the process (Node's and the socket's write
        // buffers are empty), so the client receives exactly half and then a broken connection.
        const socket = res.socket;
        const destroyWhenFlushed = (): void => {
          if (!socket || socket.destroyed) return;
          if (res.writableLength === 0 && socket.writableLength === 0) socket.destroy();
          else setTimeout(destroyWhenFlushed, 5);
        };
        source.on('end', destroyWhenFlushed);
        source.on('error', () => res.destroy());
        return;
      }
      case 'slow':
      case 'stall': {
        if (!startFile(file.size)) return;
        const fd = fs.openSync(file.full, 'r');
        let position = 0;
        const tickMs = 100;
        const perTick = mode === 'slow' ? Math.max(1, Math.floor((slowRate * tickMs) / 1000)) : 1024;
        const timer = setInterval(() => {
          if (res.destroyed || position >= file.size) return stop(position >= file.size);
          const chunk = Buffer.alloc(Math.min(perTick, file.size - position));
          fs.readSync(fd, chunk, 0, chunk.length, position);
          position += chunk.length;
          bytes += chunk.length;
          res.write(chunk);
          if (mode === 'stall') {
            // Headers and a first chunk, then nothing: the connection stays open until the
            // client times out (or the mirror closes).
            clearInterval(timer);
            timers.delete(timer);
          }
        }, tickMs);
        timers.add(timer);
        const stop = (finished: boolean): void => {
          clearInterval(timer);
          timers.delete(timer);
          try {
            fs.closeSync(fd);
          } catch {
            /* already closed */
          }
          if (finished) res.end();
        };
        res.on('close', () => stop(false));
        return;
      }
      default:
        return send(404, 'not found\n');
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    port,
    root,
    requests: () => log.map((entry) => ({ ...entry })),
    clearLog: () => {
      log = [];
    },
    urlFor: (file, fault) => `${url}${fault ? `/fault/${fault}` : ''}/${encodePath(file)}`,
    sha256: async (fileOrFaultPath) => {
      const p = fileOrFaultPath.replace(/^https?:\/\/[^/]+/, '').replace(/^\/+/, '');
      const fault = /^fault\/([^/]+)\/(.+)$/.exec(p);
      if (fault?.[1] === 'dotdot' || fault?.[1] === 'symlink-escape') return sha256Buffer(await hostileArchive(fault[1]));
      const file = resolveFile(root, realRoot, fault ? fault[2]! : p);
      if (!file) throw new Error(`the mirror serves no file at ${fileOrFaultPath}`);
      return sha256File(file.full);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearInterval(timer);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The fixture index of a mirror's root (or any directory prepare-runtimes.sh filled). */
export function readFixtureIndex(root: string = DEFAULT_ROOT): FixtureIndex {
  const file = path.join(root, 'index.json');
  if (!fs.existsSync(file)) throw new Error(`No ${file}. Run test/setup/prepare-runtimes.sh once.`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as FixtureIndex;
}

function minorOf(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/** A python manifest entry for one fixture archive (uri from `uriFor`, default: the mirror's plain URL). */
export function runtimeEntry(mirror: Mirror, artifact: RuntimeArtifact, uriFor?: (file: string) => string): ManifestEntry {
  const uri = uriFor ? uriFor(artifact.file) : mirror.urlFor(artifact.file);
  const entry: ManifestEntry = {
    id: 'python',
    name: 'CPython',
    version: artifact.version,
    arch: artifact.arch,
    os: artifact.os ?? 'linux',
    uri,
    checksum: `sha256:${artifact.sha256}`,
    prefix: artifact.prefix,
    purl: `pkg:generic/cpython@${artifact.version}?download_url=${encodeURIComponent(uri)}`,
    cpes: [`cpe:2.3:a:python:python:${artifact.version}:*:*:*:*:*:*:*`],
    licenses: ['PSF-2.0'],
  };
  const eol = EOL[minorOf(artifact.version)];
  if (eol) entry.deprecation_date = eol;
  return entry;
}

export interface RuntimeManifestOptions {
  /**
   * Which runtimes to list: exact versions ("3.11.7") or minors ("3.11"). Default: every
   * gzip archive in index.json. The special key "3.11.7+full" (any version with "+full")
   * lists that version's zstd "full" archive INSTEAD of its gzip one (same version, prefix
   * python/install/), to drive the full-archive path through a normal build. A 3.6 or 3.7
   * archive (index.json's classic_runtimes) is listed only when named here.
   */
  versions?: string[];
  /** The URI a file is served at (default: mirror.urlFor(file)); e.g. f => mirror.urlFor(f, '503-once'). */
  uriFor?: (file: string) => string;
  /** Extra entries appended as given (custom or hostile ones; see runtimeEntry / mirror.sha256). */
  extraEntries?: ManifestEntry[];
  /** The [defaults] table (default { python: "3.11" }). */
  defaults?: Record<string, string>;
  /** Leave out the pip / uv / sqlite entries (default: included when the fixtures have them). */
  pip?: boolean;
  uv?: boolean;
  sqlite?: boolean;
}

/**
 * The operator manifest entries for a mirror: python runtimes (see options.versions), then pip
 * and sqlite. Exposed separately from writing so a test can edit entries before writing them.
 */
export function runtimeManifestEntries(mirror: Mirror, options: RuntimeManifestOptions = {}): ManifestEntry[] {
  const index = readFixtureIndex(mirror.root);
  const uriFor = options.uriFor;
  const wanted = options.versions;
  const fullVersions = new Set((wanted ?? []).filter((v) => v.endsWith('+full')).map((v) => v.slice(0, -'+full'.length)));
  const plainWanted = (wanted ?? []).filter((v) => !v.endsWith('+full'));
  const matches = (version: string): boolean =>
    wanted === undefined || plainWanted.some((w) => w === version || w === minorOf(version));

  const entries: ManifestEntry[] = [];
  for (const artifact of index.runtimes) {
    if (artifact.flavor === 'full') {
      if (fullVersions.has(artifact.version)) entries.push(runtimeEntry(mirror, artifact, uriFor));
    } else if (matches(artifact.version) && !fullVersions.has(artifact.version)) {
      entries.push(runtimeEntry(mirror, artifact, uriFor));
    }
  }
  for (const artifact of index.classic_runtimes ?? []) {
    if (plainWanted.some((w) => w === artifact.version || w === minorOf(artifact.version))) entries.push(runtimeEntry(mirror, artifact, uriFor));
  }
  for (const v of fullVersions) {
    if (!index.runtimes.some((a) => a.flavor === 'full' && a.version === v)) {
      throw new Error(`No zstd full archive for ${v} in ${mirror.root}/index.json`);
    }
  }
  // pip: no arch or os, a py3-none-any wheel runs anywhere; uv: the linux/amd64 binary wheel.
  const wheelEntry = (w: { id: string; version: string; file: string; sha256: string }, licenses: string[], target: Partial<ManifestEntry> = {}): ManifestEntry => ({
    id: w.id,
    name: w.id,
    version: w.version,
    ...target,
    uri: uriFor ? uriFor(w.file) : mirror.urlFor(w.file),
    checksum: `sha256:${w.sha256}`,
    purl: `pkg:pypi/${w.id}@${w.version}`,
    licenses,
  });
  // Every pinned pip, with the Requires-Python buildpack.toml records for that wheel (the build picks by it).
  if (options.pip !== false) {
    const pinned = buildpackDependencies('pip');
    for (const pip of index.pips ?? (index.pip ? [index.pip] : [])) {
      const requiresPython = pinned.find((d) => d.checksum === `sha256:${pip.sha256}`)?.['requires-python'];
      entries.push({ ...wheelEntry(pip, ['MIT']), ...(requiresPython && { 'requires-python': requiresPython }) });
    }
  }
  if (index.uv && options.uv !== false) entries.push(wheelEntry(index.uv, ['MIT', 'Apache-2.0'], { arch: 'amd64', os: 'linux' }));
  if (index.sqlite && options.sqlite !== false) {
    const uri = uriFor ? uriFor(index.sqlite.file) : mirror.urlFor(index.sqlite.file);
    entries.push({
      id: 'sqlite',
      name: 'SQLite',
      version: index.sqlite.version,
      uri,
      checksum: `sha256:${index.sqlite.sha256}`,
      prefix: index.sqlite.prefix,
      purl: `pkg:generic/sqlite@${index.sqlite.version}?download_url=${encodeURIComponent(uri)}`,
      cpes: [`cpe:2.3:a:sqlite:sqlite:${index.sqlite.version}:*:*:*:*:*:*:*`],
      licenses: ['blessing'],
    });
  }
  return [...entries, ...(options.extraEntries ?? [])];
}

/** Writes a manifest ([defaults] + [[dependencies]]) to outFile; returns outFile. */
export async function writeManifest(
  outFile: string,
  entries: ManifestEntry[],
  defaults: Record<string, string> = { python: '3.11' },
): Promise<string> {
  const doc = { defaults, dependencies: entries } as unknown as TOML.JsonMap;
  const text = `# Operator manifest written by test/helpers/mirror.ts (BP_PYTHON_MANIFEST).\n${TOML.stringify(doc)}`;
  await fs.promises.mkdir(path.dirname(outFile), { recursive: true });
  await fs.promises.writeFile(outFile, text);
  return outFile;
}

/**
 * The operator manifest the buildpack reads through BP_PYTHON_MANIFEST, listing the mirror's
 * runtimes, pip, uv and SQLite, with `[defaults] python = "3.11"`. Returns outFile.
 */
export async function writeRuntimeManifest(mirror: Mirror, outFile: string, options: RuntimeManifestOptions = {}): Promise<string> {
  return writeManifest(outFile, runtimeManifestEntries(mirror, options), options.defaults ?? { python: '3.11' });
}

/** Appends entries to a manifest written by writeRuntimeManifest / writeManifest. */
export async function writeEntry(manifestFile: string, ...entries: ManifestEntry[]): Promise<void> {
  const doc = TOML.parse(await fs.promises.readFile(manifestFile, 'utf8')) as { defaults?: Record<string, string>; dependencies?: ManifestEntry[] };
  await writeManifest(manifestFile, [...(doc.dependencies ?? []), ...entries], doc.defaults ?? {});
}
