// The operator path (`npm run build-runtime`): a CPython compiled by the same code as the python
// layer's source build (source-build.ts), packed as a python-build-standalone "install_only"
// archive (python/bin, python/lib, python/include, ...), plus its [[dependencies]] entry for
// BP_PYTHON_MANIFEST or a mirror, so that production builds unpack it instead of compiling.
// The archive installs through the normal archive path: the python layer reads the old prefix
// from _sysconfigdata and rewrites it (src/layers/python.ts relocate), as for PBS's `/install`.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import type { Target } from '../cnb/context';
import { stringifyToml } from '../cnb/toml';
import type { Dependency } from './manifest';
import { minorOf } from './source-plan';

/** Fixed mtime (1980-01-02) and owner: the same tree packs to the same bytes. */
const MTIME = new Date('1980-01-02T00:00:00Z');

/** The archive's file name: version, arch and the distro whose system libraries it links. */
export function runtimeArchiveName(version: string, target: Pick<Target, 'arch' | 'distroName' | 'distroVersion'>): string {
  const distro = `${target.distroName ?? 'linux'}${target.distroVersion ?? ''}`.replace(/[^A-Za-z0-9.]/g, '');
  return `cpython-${version}-${target.arch}-${distro}-install_only.tar.gz`;
}

/**
 * The manifest entry for the archive. `distros`: the build links the image's OpenSSL, libffi,
 * SQLite... dynamically, so the archive is for that distro (forTarget skips it elsewhere).
 */
export function runtimeArchiveEntry(opts: { source: Dependency; target: Target; uri: string; sha256: string; deprecationDate?: string }): string {
  const { source, target } = opts;
  const entry: Record<string, unknown> = {
    id: 'python',
    name: 'CPython',
    version: source.version,
    arch: target.arch,
    os: target.os,
    uri: opts.uri,
    checksum: `sha256:${opts.sha256}`,
    prefix: 'python/',
    ...(target.distroName ? { distros: [{ name: target.distroName, ...(target.distroVersion ? { version: target.distroVersion } : {}) }] } : {}),
    purl: `pkg:generic/cpython@${source.version}?download_url=${encodeURIComponent(opts.uri)}`,
    cpes: [`cpe:2.3:a:python:python:${source.version}:*:*:*:*:*:*:*`],
    licenses: ['PSF-2.0'],
    ...(opts.deprecationDate ? { deprecation_date: opts.deprecationDate } : {}),
    source: source.uri,
    'source-checksum': source.checksum,
  };
  return stringifyToml({ dependencies: [entry] });
}

/**
 * PBS's trampoline for console scripts (pydoc, 2to3, idle, pythonX-config is a shell script and is
 * left alone): `make install` wrote the absolute build prefix into their shebangs, which would not
 * exist where the archive is unpacked. The trampoline runs the interpreter beside the script.
 */
export async function relocatableScripts(prefix: string, version: string): Promise<string[]> {
  const bin = path.join(prefix, 'bin');
  const changed: string[] = [];
  for (const name of await fsp.readdir(bin)) {
    const file = path.join(bin, name);
    const stat = await fsp.lstat(file);
    if (!stat.isFile() || stat.size > 1024 * 1024) continue;
    const text = await fsp.readFile(file, 'utf8').catch(() => '');
    const [first, ...rest] = text.split('\n');
    // An absolute shebang to the interpreter of the prefix it was built for (wherever that was).
    if (!first || !/^#!\/\S*\/bin\/python[\d.]*$/.test(first.trim())) continue;
    const trampoline = ['#!/bin/sh', `'''exec' "$(dirname -- "$(realpath -- "$0")")"/'python${minorOf(version)}' "$0" "$@"`, "' '''"];
    await fsp.writeFile(file, [...trampoline, ...rest].join('\n'));
    changed.push(name);
  }
  return changed;
}

/** Packs `prefix` as python/... into a gzip tar (sorted, fixed mtime, root owner); returns its sha256 and size. */
export async function packRuntimeArchive(prefix: string, outFile: string): Promise<{ sha256: string; bytes: number }> {
  const pack = tar.pack();
  const hash = createHash('sha256');
  let bytes = 0;
  const out = fs.createWriteStream(outFile);
  const written = pipeline(
    pack,
    zlib.createGzip({ level: 9 }),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
    },
    out,
  );
  const entry = (header: Parameters<typeof pack.entry>[0], body?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const h = { ...header, mtime: MTIME, uid: 0, gid: 0, uname: '', gname: '' };
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body) pack.entry(h, body, done);
      else pack.entry(h, done);
    });
  const walk = async (dir: string, inArchive: string): Promise<void> => {
    await entry({ name: `${inArchive}/`, type: 'directory', mode: 0o755 });
    for (const name of (await fsp.readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const stat = await fsp.lstat(full);
      const name2 = `${inArchive}/${name}`;
      if (stat.isDirectory()) await walk(full, name2);
      else if (stat.isSymbolicLink()) await entry({ name: name2, type: 'symlink', linkname: await fsp.readlink(full), mode: 0o777 });
      else if (stat.isFile()) await entry({ name: name2, type: 'file', mode: stat.mode & 0o755, size: stat.size }, await fsp.readFile(full));
    }
  };
  await walk(prefix, 'python');
  pack.finalize();
  await written;
  return { sha256: hash.digest('hex'), bytes };
}
