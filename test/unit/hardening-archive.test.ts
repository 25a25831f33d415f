// Hostile archives (issue 17, class 1): each is built here with tar-stream, unpacked into a layer
// of a sandbox that also has a cache dir and a temp dir, and must end in the titled error, in
// bounded time, with nothing created outside the layer.
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { UserError } from '../../src/errors';
import { toUserError } from '../../src/explain';
import { extractTar, type ExtractLimits } from '../../src/io/extract';
import { tarball, type TarEntry } from '../helpers/tarball';

type Entry = TarEntry;

/** Every path under `root` (lstat, no link followed), as relative paths. */
async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const d of await fsp.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      out.push(path.relative(root, p));
      if (d.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return out.sort();
}

let sandbox: string;
let layer: string;
let outside: string[];
const MARK = `hardening-${process.pid}`;

beforeEach(async () => {
  sandbox = await fsp.mkdtemp(path.join(os.tmpdir(), 'hardening-archive-'));
  for (const d of ['layers/python', 'cache', 'tmp']) await fsp.mkdir(path.join(sandbox, d), { recursive: true });
  await fsp.writeFile(path.join(sandbox, 'layers', 'secret.env'), 'PLATFORM_SECRET=s3cr3t\n');
  layer = path.join(sandbox, 'layers', 'python');
  outside = (await listTree(sandbox)).filter((p) => !p.startsWith('layers/python/'));
});
afterEach(() => fsp.rm(sandbox, { recursive: true, force: true }));

async function unpack(entries: Entry[], limits?: Partial<ExtractLimits>): Promise<{ error?: unknown; ms: number }> {
  const archive = await tarball(entries);
  const started = Date.now();
  try {
    await extractTar(Readable.from([archive]), layer, { compression: 'gzip', prefix: 'python/', limits });
    return { ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

/** The sandbox outside the layer is as it was, and nothing with our marker appeared in the temp dir. */
async function expectNothingOutside(): Promise<void> {
  expect((await listTree(sandbox)).filter((p) => !p.startsWith('layers/python/'))).toEqual(outside);
  expect((await fsp.readdir(os.tmpdir())).filter((n) => n.includes(MARK))).toEqual([]);
}

async function expectRefused(entries: Entry[], message: RegExp, limits?: Partial<ExtractLimits>): Promise<void> {
  const { error, ms } = await unpack(entries, limits);
  const shown = toUserError(error);
  expect(shown).toBeInstanceOf(UserError);
  expect((shown as UserError).message).toMatch(message);
  expect(ms).toBeLessThan(5000);
  await expectNothingOutside();
}

// Enough `..` links to climb from the layer past / (the sandbox is under the temp dir).
const tmpDepth = path.relative('/', os.tmpdir()).split('/').length + 5;

describe('hostile archives', () => {
  it('a chain of links that each look inside (x -> .., x/y -> .., ...), then files under it', async () => {
    const chain: Entry[] = [{ name: 'python/a/b/c/d/', type: 'directory' }];
    let at = 'python/a/b/c/d';
    for (const n of ['x', 'y', 'z', 'w', 'v', 'u', 'q']) {
      chain.push({ name: `${at}/${n}`, type: 'symlink', linkname: '..' });
      at = `${at}/${n}`;
    }
    chain.push({ name: `${at}/cache/${MARK}`, body: 'escaped' }, { name: `${at}/${MARK}`, body: 'escaped' });
    await expectRefused(chain, /Unsafe archive[\s\S]*outside the destination/);
  });

  it('a chain deep enough to reach /tmp, written through', async () => {
    const chain: Entry[] = [{ name: 'python/a/', type: 'directory' }];
    let at = 'python/a';
    for (let i = 0; i < tmpDepth; i++) {
      chain.push({ name: `${at}/l${i}`, type: 'symlink', linkname: '..' });
      at = `${at}/l${i}`;
    }
    chain.push({ name: `${at}/tmp/${MARK}`, body: 'escaped' });
    await expectRefused(chain, /Unsafe archive/);
  });

  it('a hard link through the chain to a platform secret', async () => {
    await expectRefused(
      [
        { name: 'python/a/x', type: 'symlink', linkname: '..' },
        { name: 'python/a/x/y', type: 'symlink', linkname: '..' },
        { name: 'python/lib/secret.env', type: 'link', linkname: 'python/a/x/y/secret.env' },
      ],
      /Unsafe archive/,
    );
    await expect(fsp.stat(path.join(layer, 'lib', 'secret.env'))).rejects.toThrow();
  });

  it.each<[string, Entry[]]>([
    ['a symlink', [{ name: 'python/s', type: 'symlink', linkname: 'f' }, { name: 'python/f', body: 'x' }, { name: 'python/h', type: 'link', linkname: 'python/s' }]],
    ['a directory', [{ name: 'python/d/', type: 'directory' }, { name: 'python/h', type: 'link', linkname: 'python/d' }]],
    ['a file that comes later', [{ name: 'python/h', type: 'link', linkname: 'python/f' }, { name: 'python/f', body: 'x' }]],
    ['a file outside the prefix', [{ name: 'other/f', body: 'x' }, { name: 'python/h', type: 'link', linkname: 'other/f' }]],
    ['an absolute path', [{ name: 'python/h', type: 'link', linkname: '/etc/passwd' }]],
  ])('a hard link to %s', async (_what, entries) => {
    await expectRefused(entries, /Unsafe archive[\s\S]*(hard link|absolute)/);
  });

  it('a link that leaves the layer only after a later entry changes what it goes through', async () => {
    await expectRefused(
      [
        { name: 'python/sub/a', type: 'symlink', linkname: '../d/..' }, // d does not exist yet: the layer root
        { name: 'python/d', type: 'symlink', linkname: '.' }, // now ../d/.. is the layer's parent
      ],
      /pointing outside the destination once the whole archive is unpacked/,
    );
  });

  it.each<[string, Entry[], RegExp]>([
    ['an absolute link', [{ name: 'python/etc', type: 'symlink', linkname: '/etc' }], /absolute target/],
    ['a link loop written through', [{ name: 'python/a', type: 'symlink', linkname: 'b' }, { name: 'python/b', type: 'symlink', linkname: 'a' }, { name: 'python/a/f', body: 'x' }], /link loop/],
    ['a file used as a directory', [{ name: 'python/f', body: 'x' }, { name: 'python/f/g', body: 'y' }], /is a file, as if it were a directory/],
    ['a link replacing a directory', [{ name: 'python/d/f', body: 'x' }, { name: 'python/d', type: 'symlink', linkname: '.' }], /replace a directory/],
    ['a FIFO', [{ name: 'python/pipe', type: 'fifo' }], /FIFO/],
    ['a character device', [{ name: 'python/null', type: 'character-device' }], /device node/],
    ['a block device', [{ name: 'python/sda', type: 'block-device' }], /device node/],
    ['a ".." in the middle of a name', [{ name: 'python/a/../../x', body: 'x' }], /outside the destination/],
    ['a path longer than the limit', [{ name: `python/${'d/'.repeat(600)}f`, body: 'x' }], /longer than 1024 bytes/],
    ['a name component longer than 255 bytes', [{ name: `python/${'n'.repeat(300)}`, body: 'x' }], /Unsafe archive/],
    ['an over-long link target', [{ name: 'python/l', type: 'symlink', linkname: 'a/'.repeat(600) }], /target is longer/],
  ])('refuses %s', async (_what, entries, message) => {
    await expectRefused(entries, message);
  });

  it('strips setuid, setgid, sticky and world-writable bits', async () => {
    const { error } = await unpack([
      { name: 'python/bin/suid', body: '#!/bin/sh\n', mode: 0o4777 },
      { name: 'python/bin/sgid', body: '#!/bin/sh\n', mode: 0o2755 },
      { name: 'python/bin/sticky', body: 'x', mode: 0o1666 },
    ]);
    expect(error).toBeUndefined();
    for (const f of ['suid', 'sgid', 'sticky']) {
      const mode = (await fsp.stat(path.join(layer, 'bin', f))).mode;
      expect(mode & 0o7002).toBe(0);
    }
    expect((await fsp.stat(path.join(layer, 'bin', 'sgid'))).mode & 0o777).toBe(0o755);
  });

  it('a gzip bomb stops at the unpacked-size cap, fast', async () => {
    // 64 MiB of zeros in one entry compress to ~64 KiB; the cap here is 8 MiB.
    const body = Buffer.alloc(64 << 20);
    await expectRefused([{ name: 'python/zeros', body }], /Unsafe archive[\s\S]*beyond 8\.0 MiB, the limit/, { maxUnpackedBytes: 8 << 20 });
    const written = await listTree(layer);
    for (const f of written) expect((await fsp.lstat(path.join(layer, f))).size).toBeLessThanOrEqual(8 << 20);
  });

  it('a header declaring more than the cap is refused before its body is written', async () => {
    await expectRefused([{ name: 'python/small', body: 'x' }, { name: 'python/big', body: Buffer.alloc(2 << 20) }], /Unsafe archive[\s\S]*python\/big[\s\S]*beyond 1\.0 MiB/, { maxUnpackedBytes: 1 << 20 });
    await expect(fsp.stat(path.join(layer, 'big'))).rejects.toThrow();
  });

  it('a thousand links with the longest allowed targets through links: bounded work', async () => {
    const target = `${'s/'.repeat(340)}x`.slice(0, 1000); // s -> . : each "s/" is a hop-free lookup, then a link
    const entries: Entry[] = [{ name: 'python/s', type: 'symlink', linkname: '.' }];
    for (let i = 0; i < 1000; i++) entries.push({ name: `python/l${i}`, type: 'symlink', linkname: target });
    const { error, ms } = await unpack(entries);
    expect(error === undefined || toUserError(error) instanceof UserError).toBe(true);
    expect(ms).toBeLessThan(15_000);
    await expectNothingOutside();
  });

  it('too many entries', async () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ name: `python/f${i}`, body: '' }));
    await expectRefused(many, /beyond the limit of 20 entries/, { maxEntries: 20 });
  });

  it('genuine layouts still work: links into later files, links through links, hard links, replaced files', async () => {
    const { error } = await unpack([
      { name: 'python/bin/python3', type: 'symlink', linkname: 'python3.12' },
      { name: 'python/bin/python3.12', body: 'py', mode: 0o755 },
      { name: 'python/lib/current', type: 'symlink', linkname: 'python3.12' },
      { name: 'python/lib/python3.12/os.py', body: 'os' },
      { name: 'python/lib/current/site.py', body: 'site' }, // written through a link that stays inside
      { name: 'python/lib/libpython.so', body: 'lib' },
      { name: 'python/lib/libpython.so.1', type: 'link', linkname: 'python/lib/libpython.so' },
      { name: 'python/share/x', body: 'old' },
      { name: 'python/share/x', body: 'new' },
    ]);
    expect(error).toBeUndefined();
    expect(await fsp.readFile(path.join(layer, 'lib', 'python3.12', 'site.py'), 'utf8')).toBe('site');
    expect(await fsp.readFile(path.join(layer, 'bin', 'python3'), 'utf8')).toBe('py');
    expect(await fsp.readFile(path.join(layer, 'lib', 'libpython.so.1'), 'utf8')).toBe('lib');
    expect(await fsp.readFile(path.join(layer, 'share', 'x'), 'utf8')).toBe('new');
    await expectNothingOutside();
  });
});

describe('random archives never write outside the layer (property)', () => {
  const name = fc.constantFrom('a', 'b', 'c', 'x', '..', '.', `${MARK}`, 'tmp', 'cache', 'layers');
  const rel = fc.array(name, { minLength: 1, maxLength: 5 }).map((p) => p.join('/'));
  const entry: fc.Arbitrary<Entry> = fc.oneof(
    rel.map((n) => ({ name: `python/${n}`, body: 'data' })),
    rel.map((n) => ({ name: `python/${n}/`, type: 'directory' as const })),
    fc.tuple(rel, rel).map(([n, t]) => ({ name: `python/${n}`, type: 'symlink' as const, linkname: t })),
    fc.tuple(rel, rel).map(([n, t]) => ({ name: `python/${n}`, type: 'link' as const, linkname: `python/${t}` })),
  );

  it('returns or throws a UserError; the sandbox outside the layer is untouched', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 12 }), async (entries) => {
        await fsp.rm(layer, { recursive: true, force: true });
        await fsp.mkdir(layer);
        const { error } = await unpack(entries);
        if (error !== undefined && !(toUserError(error) instanceof UserError)) throw error;
        await expectNothingOutside();
        // Whatever stayed in the layer resolves inside it.
        for (const f of await listTree(layer)) {
          const real = await fsp.realpath(path.join(layer, f)).catch(() => undefined);
          if (real !== undefined) expect(real === layer || real.startsWith(`${layer}/`)).toBe(true);
        }
      }),
      // Each run unpacks a real archive (~20 ms): the long mode caps this one at 3,000 runs.
      { seed: 17, numRuns: Math.min(Number(process.env.FUZZ_RUNS ?? 60), 3000) },
    );
  });
});
