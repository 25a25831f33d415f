import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { compressionOf, entryTarget, extractTar } from '../../src/io/extract';
import { runtimeLeaveOut } from '../../src/runtime/stdlib-bytecode';
import { tarball, type TarEntry } from '../helpers/tarball';

type Entry = TarEntry;

let dest: string;
beforeEach(async () => {
  dest = await fsp.mkdtemp(path.join(os.tmpdir(), 'extract-'));
});
afterEach(() => fsp.rm(dest, { recursive: true, force: true }));

describe('extractTar', () => {
  it('strips the prefix, keeps modes and links, skips what is outside the prefix', async () => {
    const archive = await tarball([
      { name: 'python/', type: 'directory' },
      { name: 'python/bin/python3.12', body: '#!bin', mode: 0o755 },
      { name: 'python/bin/python3', type: 'symlink', linkname: 'python3.12' },
      { name: 'python/lib/libpython.so', body: 'lib' },
      { name: 'python/lib/libpython.so.1', type: 'link', linkname: 'python/lib/libpython.so' },
      { name: 'PYTHON.json', body: '{}' },
    ]);
    const stats = await extractTar(Readable.from([archive]), dest, { compression: 'gzip', prefix: 'python/' });
    expect(stats.files).toBe(2);
    expect(await fsp.readlink(path.join(dest, 'bin', 'python3'))).toBe('python3.12');
    expect((await fsp.stat(path.join(dest, 'bin', 'python3.12'))).mode & 0o777).toBe(0o755);
    expect(await fsp.readFile(path.join(dest, 'lib', 'libpython.so.1'), 'utf8')).toBe('lib');
    await expect(fsp.stat(path.join(dest, 'PYTHON.json'))).rejects.toThrow();
  });

  it("keeps each file's mtime from the archive, as tar does (a runtime's timestamp .pyc depend on it)", async () => {
    const mtime = new Date('2026-05-09T07:35:33Z');
    const archive = await tarball([
      { name: 'python/lib/json/__init__.py', body: 'x = 1\n', mtime },
      { name: 'python/lib/json/__pycache__/__init__.cpython-311.pyc', body: 'pyc', mtime: new Date('2026-05-09T07:35:36Z') },
    ]);
    await extractTar(Readable.from([archive]), dest, { compression: 'gzip', prefix: 'python/' });
    expect((await fsp.stat(path.join(dest, 'lib', 'json', '__init__.py'))).mtime.toISOString()).toBe(mtime.toISOString());
    expect((await fsp.stat(path.join(dest, 'lib', 'json', '__pycache__', '__init__.cpython-311.pyc'))).mtime.toISOString()).toBe('2026-05-09T07:35:36.000Z');
  });

  it('leaveOut: the -O/-OO bytecode is never written (nor a hard link to it), and counted', async () => {
    const archive = await tarball([
      { name: 'python/lib/json/__init__.py', body: 'x = 1\n' },
      { name: 'python/lib/json/__pycache__/__init__.cpython-311.pyc', body: 'pyc' },
      { name: 'python/lib/json/__pycache__/__init__.cpython-311.opt-1.pyc', body: 'opt1' },
      { name: 'python/lib/json/__pycache__/__init__.cpython-311.opt-2.pyc', body: 'opt-2' },
      { name: 'python/lib/json/__pycache__/same.cpython-311.opt-1.pyc', type: 'link', linkname: 'python/lib/json/__pycache__/__init__.cpython-311.opt-1.pyc' },
      { name: 'python/lib/opt-1.pyc.txt', body: 'not bytecode' },
    ]);
    const stats = await extractTar(Readable.from([archive]), dest, { compression: 'gzip', prefix: 'python/', leaveOut: runtimeLeaveOut(true) });
    expect(stats.leftOut).toEqual({ '-O/-OO bytecode': { files: 3, bytes: 9 } });
    expect(stats.files).toBe(3);
    expect((await fsp.readdir(path.join(dest, 'lib', 'json', '__pycache__'))).sort()).toEqual(['__init__.cpython-311.pyc']);
    expect(await fsp.readFile(path.join(dest, 'lib', 'opt-1.pyc.txt'), 'utf8')).toBe('not bytecode');
  });

  it("leaveOut: the runtime's bundled pip is not unpacked unless a tool needs it (no empty directories left)", async () => {
    const entries: Entry[] = [
      { name: 'python/lib/python3.11/site-packages/', type: 'directory' },
      { name: 'python/lib/python3.11/site-packages/README.txt', body: 'readme' },
      { name: 'python/lib/python3.11/site-packages/pip/', type: 'directory' },
      { name: 'python/lib/python3.11/site-packages/pip/_internal/', type: 'directory' },
      { name: 'python/lib/python3.11/site-packages/pip/__init__.py', body: 'pip' },
      { name: 'python/lib/python3.11/site-packages/pip/_internal/main.py', body: 'main' },
      { name: 'python/lib/python3.11/site-packages/pip-23.2.1.dist-info/', type: 'directory' },
      { name: 'python/lib/python3.11/site-packages/pip-23.2.1.dist-info/METADATA', body: 'Name: pip' },
      { name: 'python/lib/python3.11/site-packages/pipx_like/', type: 'directory' },
      { name: 'python/lib/python3.11/site-packages/pipx_like/x.py', body: 'x' },
      { name: 'python/bin/pip3.11', body: '#!py' },
      { name: 'python/bin/pip3', body: '#!py' },
      { name: 'python/bin/pip', type: 'symlink', linkname: 'pip3.11' },
      { name: 'python/bin/pipeline', body: 'not pip' },
    ];
    const left = await extractTar(Readable.from([await tarball(entries)]), dest, { compression: 'gzip', prefix: 'python/', leaveOut: runtimeLeaveOut(false) });
    expect(left.leftOut).toEqual({ 'bundled pip': { files: 4, bytes: 15 }, 'bundled pip 23.2.1': { files: 1, bytes: 9 } });
    expect((await fsp.readdir(path.join(dest, 'lib', 'python3.11', 'site-packages'))).sort()).toEqual(['README.txt', 'pipx_like']);
    // bin/pip, a symlink, is written (links are not left out); the finish removes it with the rest.
    expect((await fsp.readdir(path.join(dest, 'bin'))).sort()).toEqual(['pip', 'pipeline']);
    await fsp.rm(dest, { recursive: true });
    await fsp.mkdir(dest);
    const kept = await extractTar(Readable.from([await tarball(entries)]), dest, { compression: 'gzip', prefix: 'python/', leaveOut: runtimeLeaveOut(true) });
    expect(kept.leftOut).toEqual({});
    expect((await fsp.readdir(path.join(dest, 'lib', 'python3.11', 'site-packages'))).sort()).toEqual(['README.txt', 'pip', 'pip-23.2.1.dist-info', 'pipx_like']);
  });

  it('a corrupt stream under a left-out entry is an error, not a crash', async () => {
    const { randomBytes } = await import('node:crypto');
    const archive = await tarball([
      { name: 'python/lib/__pycache__/big.cpython-311.opt-1.pyc', body: randomBytes(1 << 20) },
      { name: 'python/lib/after.py', body: 'x = 1\n' },
    ]);
    const middle = Math.floor(archive.length / 2); // inside the left-out body's compressed bytes
    archive[middle] = archive[middle]! ^ 0xff;
    await expect(extractTar(Readable.from([archive]), dest, { compression: 'gzip', prefix: 'python/', leaveOut: runtimeLeaveOut(false) })).rejects.toThrow();
  });

  it('the old "full" layout: only python/install/ is kept', async () => {
    const archive = await tarball([
      { name: 'python/PYTHON.json', body: '{}' },
      { name: 'python/build/junk', body: 'x' },
      { name: 'python/install/bin/python3', body: 'py', mode: 0o755 },
    ]);
    await extractTar(Readable.from([archive]), dest, { compression: 'gzip', prefix: 'python/install/' });
    expect(await fsp.readdir(dest)).toEqual(['bin']);
  });

  it.each<[string, Entry[], RegExp]>([
    ['a .. entry', [{ name: 'python/../../escape.txt', body: 'x' }], /points outside the destination/],
    ['an absolute path', [{ name: '/etc/evil', body: 'x' }], /absolute path/],
    ['a symlink out', [{ name: 'python/lib/evil', type: 'symlink', linkname: '/etc' }], /link pointing outside/],
    ['a relative symlink out', [{ name: 'python/lib/evil', type: 'symlink', linkname: '../../../etc' }], /link pointing outside/],
  ])('refuses %s', async (_name, entries, pattern) => {
    const archive = await tarball(entries);
    await expect(extractTar(Readable.from([archive]), dest, { compression: 'gzip', prefix: 'python/' })).rejects.toThrow(pattern);
    await expect(fsp.stat(path.join(dest, '..', 'escape.txt'))).rejects.toThrow();
  });

  it('entryTarget', () => {
    expect(entryTarget('./python/bin/x', 'python/', '/d')).toBe('/d/bin/x');
    expect(entryTarget('python/', 'python/', '/d')).toBeUndefined();
    expect(entryTarget('other/x', 'python/', '/d')).toBeUndefined();
  });

  it('compressionOf', () => {
    expect(compressionOf('https://x/a.tar.gz')).toBe('gzip');
    expect(compressionOf('https://x/a.tar.zst?sig=1')).toBe('zstd');
    expect(compressionOf('https://x/a.tar')).toBe('none');
  });
});
