// Builds tar archives in memory for the extractor's tests (tar-stream, the extractor's own parser).
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';

export type TarEntry = {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device' | 'block-device';
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
  mtime?: Date;
};

/** A tar (gzip'd unless told otherwise) of the entries, in order. */
export async function tarball(entries: readonly TarEntry[], gzip = true): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const out = gzip ? pack.pipe(zlib.createGzip()) : pack;
  const done = new Promise<void>((resolve) => {
    out.on('data', (c: unknown) => chunks.push(c as Buffer));
    out.on('end', () => resolve());
  });
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode, ...(e.mtime ? { mtime: e.mtime } : {}) };
    if (header.type === 'file') pack.entry(header, e.body ?? '');
    else pack.entry(header);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
