/**
 * The loopback dependency mirror (test/helpers/mirror.ts) itself: downloader tests trust its
 * fault modes to fail exactly as documented, so each one is pinned here. Runs against a small
 * temporary root (no dependency on prepare-runtimes.sh), plus one check of the real fixture
 * index when it has been prepared.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as TOML from '@iarna/toml';
import * as tar from 'tar-stream';
import { buildpackDependencies } from '../helpers/buildpack-manifest';
import {
  type FixtureIndex,
  type Mirror,
  readFixtureIndex,
  runtimeEntry,
  startMirror,
  writeEntry,
  writeRuntimeManifest,
} from '../helpers/mirror';

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The response ended early (socket destroyed, or aborted by us). */
  aborted: boolean;
}

function get(url: string, opts: { abortAfterMs?: number; method?: string } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let aborted = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        if (timer) clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), aborted });
      };
      if (opts.abortAfterMs !== undefined) {
        timer = setTimeout(() => {
          aborted = true;
          req.destroy();
        }, opts.abortAfterMs);
      }
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('aborted', () => {
        aborted = true;
      });
      res.on('error', () => {
        aborted = true;
      });
      res.on('close', finish);
    });
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
    });
    req.end();
  });
}

/** The mirror logs a request when its response closes, which can be just after the client saw the end. */
async function settledLog(m: Mirror, count: number): Promise<ReturnType<Mirror['requests']>> {
  for (let i = 0; i < 100 && m.requests().length < count; i++) await new Promise((r) => setTimeout(r, 10));
  return m.requests();
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function tarEntries(gz: Buffer): Promise<Array<{ name: string; type: string; linkname: string | null | undefined }>> {
  const extract = tar.extract();
  const out: Array<{ name: string; type: string; linkname: string | null | undefined }> = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      out.push({ name: header.name, type: header.type ?? 'file', linkname: header.linkname });
      stream.on('end', next);
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(zlib.gunzipSync(gz));
  await done;
  return out;
}

describe('loopback dependency mirror', () => {
  let root: string;
  let mirror: Mirror;
  const payload = Buffer.alloc(256 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
  const archiveName = 'cpython-3.11.7-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz';
  const fullName = 'cpython-3.11.7-x86_64-unknown-linux-gnu-pgo+lto-full.tar.zst';

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mirror-test-'));
    fs.writeFileSync(path.join(root, archiveName), payload);
    fs.writeFileSync(path.join(root, fullName), payload.subarray(0, 1000));
    fs.mkdirSync(path.join(root, 'pip'));
    fs.writeFileSync(path.join(root, 'pip', 'pip-26.3-py3-none-any.whl'), 'wheel');
    fs.writeFileSync(path.join(root, '.hidden'), 'secret');
    fs.writeFileSync(path.join(os.tmpdir(), 'mirror-test-outside.txt'), 'outside');
    fs.symlinkSync('/etc/hostname', path.join(root, 'link-out'));
    const artifact = (file: string, flavor: string, compression: string, prefix: string, body: Buffer) => ({
      version: '3.11.7', arch: 'amd64', os: 'linux', file, sha256: sha256(body), size: body.length,
      prefix, compression, flavor, shared: true, build_prefix: '/root/.pyenv/versions/3.11.7', build_prefix_files: [],
    });
    const index = {
      runtimes: [
        artifact(archiveName, 'install_only_stripped', 'gzip', 'python/', payload),
        artifact(fullName, 'full', 'zstd', 'python/install/', payload.subarray(0, 1000)),
      ],
      pip: { id: 'pip', version: '26.3', file: 'pip/pip-26.3-py3-none-any.whl', sha256: sha256(Buffer.from('wheel')), size: 5 },
      sqlite: null,
    };
    fs.writeFileSync(path.join(root, 'index.json'), JSON.stringify(index));
    mirror = await startMirror({ root, slowBytesPerSecond: 10_000 });
  });

  afterAll(async () => {
    await mirror.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(path.join(os.tmpdir(), 'mirror-test-outside.txt'), { force: true });
  });

  beforeEach(() => mirror.clearLog());

  it('listens on loopback and serves files with Content-Length, logging each request', async () => {
    expect(mirror.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await get(mirror.urlFor(archiveName));
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(payload.length));
    expect(r.body.equals(payload)).toBe(true);
    const head = await get(mirror.urlFor('pip/pip-26.3-py3-none-any.whl'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('5');
    expect(await settledLog(mirror, 2)).toEqual([
      { method: 'GET', path: `/${archiveName}`, status: 200, bytes: payload.length },
      { method: 'HEAD', path: '/pip/pip-26.3-py3-none-any.whl', status: 200, bytes: 0 },
    ]);
    expect(mirror.urlFor(fullName)).toContain('pgo%2Blto');
    expect((await get(mirror.urlFor(fullName))).status).toBe(200);
  });

  it.each([
    '/missing.tar.gz',
    '/pip',
    '/..%2fmirror-test-outside.txt',
    '/%2e%2e/mirror-test-outside.txt',
    '/pip/..%2f..%2fmirror-test-outside.txt',
    '/.hidden',
    '/link-out',
    '/%zz',
  ])('answers 404 for %s', async (p) => {
    const r = await get(`${mirror.url}${p}`);
    expect(r.status).toBe(404);
  });

  it('/fault/500/ always fails', async () => {
    for (let i = 0; i < 2; i++) expect((await get(mirror.urlFor(archiveName, '500'))).status).toBe(500);
  });

  it('/fault/503-once/ fails once per file, then serves it', async () => {
    const url = mirror.urlFor('pip/pip-26.3-py3-none-any.whl', '503-once');
    expect((await get(url)).status).toBe(503);
    const second = await get(url);
    expect(second.status).toBe(200);
    expect(second.body.toString()).toBe('wheel');
    expect((await settledLog(mirror, 2)).map((r) => r.status)).toEqual([503, 200]);
  });

  it('/fault/cut/ promises the whole file and delivers half', async () => {
    const r = await get(mirror.urlFor(archiveName, 'cut'));
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(payload.length));
    expect(r.aborted).toBe(true);
    expect(r.body.equals(payload.subarray(0, payload.length / 2))).toBe(true);
    expect((await settledLog(mirror, 1))[0]).toMatchObject({ status: 200, bytes: payload.length / 2 });
  });

  it('/fault/corrupt/ flips exactly one byte, keeping the length', async () => {
    const r = await get(mirror.urlFor(archiveName, 'corrupt'));
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(payload.length);
    const diffs = [...r.body].filter((b, i) => b !== payload[i]).length;
    expect(diffs).toBe(1);
    expect(sha256(r.body)).not.toBe(await mirror.sha256(archiveName));
  });

  it('/fault/slow/ trickles at the configured rate', async () => {
    const r = await get(mirror.urlFor(archiveName, 'slow'), { abortAfterMs: 600 });
    expect(r.status).toBe(200);
    expect(r.aborted).toBe(true);
    expect(r.body.length).toBeGreaterThan(0);
    expect(r.body.length).toBeLessThanOrEqual(8_000); // 10 kB/s for 0.6 s
  });

  it('/fault/stall/ sends a first chunk and then nothing', async () => {
    const r = await get(mirror.urlFor(archiveName, 'stall'), { abortAfterMs: 500 });
    expect(r.status).toBe(200);
    expect(r.aborted).toBe(true);
    expect(r.body.length).toBe(1024);
  });

  it('/fault/dotdot/ and /fault/symlink-escape/ serve hostile archives with a stable checksum', async () => {
    const dotdot = await get(mirror.urlFor(archiveName, 'dotdot'));
    expect(dotdot.status).toBe(200);
    expect(sha256(dotdot.body)).toBe(await mirror.sha256(`/fault/dotdot/${archiveName}`));
    expect((await tarEntries(dotdot.body)).map((e) => e.name)).toContain('python/../../escape.txt');

    const link = await get(mirror.urlFor(archiveName, 'symlink-escape'));
    expect(sha256(link.body)).toBe(await mirror.sha256(mirror.urlFor(archiveName, 'symlink-escape')));
    expect(await tarEntries(link.body)).toContainEqual({ name: 'python/lib/evil', type: 'symlink', linkname: '/etc' });
  });

  it('writes an operator manifest for the fixtures, with [defaults] and custom entries', async () => {
    const out = path.join(root, 'out', 'manifest.toml');
    expect(await writeRuntimeManifest(mirror, out)).toBe(out);
    const doc = TOML.parse(fs.readFileSync(out, 'utf8')) as unknown as {
      defaults: Record<string, string>;
      dependencies: Array<Record<string, unknown>>;
    };
    expect(doc.defaults).toEqual({ python: '3.11' });
    expect(doc.dependencies.map((d) => `${d.id} ${d.version} ${d.prefix ?? ''}`)).toEqual(['python 3.11.7 python/', 'pip 26.3 ']);
    expect(doc.dependencies[0]).toMatchObject({
      arch: 'amd64',
      os: 'linux',
      uri: mirror.urlFor(archiveName),
      checksum: `sha256:${sha256(payload)}`,
      licenses: ['PSF-2.0'],
      deprecation_date: '2027-10-31T00:00:00Z',
    });

    await writeRuntimeManifest(mirror, out, { versions: ['3.11.7+full'], uriFor: (f) => mirror.urlFor(f, '503-once'), pip: false });
    const full = TOML.parse(fs.readFileSync(out, 'utf8')) as unknown as { dependencies: Array<Record<string, unknown>> };
    expect(full.dependencies).toHaveLength(1);
    expect(full.dependencies[0]).toMatchObject({ version: '3.11.7', prefix: 'python/install/', uri: mirror.urlFor(fullName, '503-once') });

    const index = readFixtureIndex(root);
    const hostile = { ...runtimeEntry(mirror, index.runtimes[0]!, (f) => mirror.urlFor(f, 'dotdot')), version: '3.11.99' };
    hostile.checksum = `sha256:${await mirror.sha256(hostile.uri)}`;
    await writeEntry(out, hostile);
    const appended = TOML.parse(fs.readFileSync(out, 'utf8')) as unknown as { dependencies: Array<Record<string, unknown>> };
    expect(appended.dependencies.map((d) => d.version)).toEqual(['3.11.7', '3.11.99']);
  });
});

const realIndex = path.resolve(__dirname, '..', '..', '.cache', 'fixtures', 'runtimes', 'index.json');
(fs.existsSync(realIndex) ? describe : describe.skip)('prepared runtime fixtures', () => {
  it('index.json lists gzip runtimes, the 3.11 full archive, pip and SQLite, all present with their sizes', () => {
    const index: FixtureIndex = readFixtureIndex();
    const dir = path.dirname(realIndex);
    expect(index.runtimes.some((r) => r.flavor === 'full' && r.prefix === 'python/install/' && r.compression === 'zstd')).toBe(true);
    expect(index.pip?.file).toMatch(/^pip\/pip-[\d.]+-py3-none-any\.whl$/);
    expect(index.sqlite).toMatchObject({ version: '3.52.0', prefix: 'sqlite-autoconf-3520000/' });
    for (const a of [...index.runtimes, index.pip!, index.sqlite!, ...(index.pips ?? [])]) {
      expect(fs.statSync(path.join(dir, a.file)).size).toBe(a.size);
    }
  });

  it('index.json lists every pip wheel buildpack.toml pins, by its sha256 (one per Python line)', () => {
    const pinned = buildpackDependencies('pip').map((d) => `${d.version} ${d.checksum}`);
    expect((readFixtureIndex().pips ?? []).map((p) => `${p.version} sha256:${p.sha256}`).sort()).toEqual(pinned.sort());
  });
});
