// Downloads without an end (issue 17, class 2): a hostile HTTP server in this test trickles,
// loops, redirects to file:// and to plain http elsewhere, sends endless bodies and broken
// Location headers. Each download must end in the titled message, in bounded time, with nothing
// left outside the layer it was unpacking into.
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../src/errors';
import { toUserError } from '../../src/explain';
import { DownloadFailed } from '../../src/failures';
import { DEFAULT_DOWNLOAD_LIMITS, downloadFileName, downloadLimitsFromEnv, downloadVerified, fetchText, MANIFEST_MAX_BYTES, type DownloadLimits } from '../../src/io/download';
import { extractTar } from '../../src/io/extract';
import { loadOperatorManifest } from '../../src/python/manifest';

const ZERO_SHA = '0'.repeat(64);
let server: http.Server;
let base: string;

/** Routes of the hostile server. */
function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  const redirect = (to: string) => {
    res.writeHead(302, { Location: to });
    res.end();
  };
  if (url === '/trickle') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const timer = setInterval(() => res.write(Buffer.alloc(8)), 50);
    res.on('close', () => clearInterval(timer));
    return;
  }
  if (url === '/loop') return redirect('/loop');
  if (url === '/to-file') return redirect('file:///dev/zero');
  if (url === '/to-plain-http') return redirect('http://example.invalid/python.tar.gz');
  if (url === '/bad-location') return redirect('http://[::1/x');
  if (url === '/percent') return redirect('/%ZZ');
  if (url === '/endless') {
    res.writeHead(200, { 'content-type': 'text/plain' }); // chunked: no Content-Length
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (res.write(chunk));
    };
    res.on('drain', pump);
    pump();
    return;
  }
  if (url === '/huge-length') {
    res.writeHead(200, { 'content-length': String(10 * 1024 ** 3) });
    res.write('x');
    return;
  }
  res.writeHead(404);
  res.end();
}

let sandbox: string;
let layer: string;
beforeAll(async () => {
  server = http.createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(async () => {
  sandbox = await fsp.mkdtemp(path.join(os.tmpdir(), 'hardening-download-'));
  for (const d of ['layers/python', 'cache', 'tmp']) await fsp.mkdir(path.join(sandbox, d), { recursive: true });
  layer = path.join(sandbox, 'layers', 'python');
});
afterEach(() => fsp.rm(sandbox, { recursive: true, force: true }));

const FAST: Partial<DownloadLimits> = { rateGraceMs: 300, minBytesPerSecond: 4096, deadlineMs: 4000, maxBytes: 1 << 20 };

/** Downloads `url` into the layer as a runtime would be, and returns the rendered failure and the time taken. */
async function failedDownload(url: string, limits: Partial<DownloadLimits> = FAST): Promise<{ message: string; ms: number; error: unknown }> {
  const started = Date.now();
  const error = await downloadVerified(url, ZERO_SHA, (body) => extractTar(body, layer, { compression: 'gzip', prefix: 'python/' }).then(() => undefined), {
    attempts: 2,
    backoffMs: 10,
    idleTimeoutMs: 1000,
    limits,
    reset: async () => {
      await fsp.rm(layer, { recursive: true, force: true });
      await fsp.mkdir(layer);
    },
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  const shown = toUserError(error);
  expect(shown).toBeInstanceOf(UserError);
  return { message: (shown as UserError).message, ms: Date.now() - started, error };
}

/** Nothing but the empty layer, the cache dir and the temp dir is in the sandbox. */
async function expectNothingOutside(): Promise<void> {
  expect((await fsp.readdir(sandbox)).sort()).toEqual(['cache', 'layers', 'tmp']);
  expect(await fsp.readdir(path.join(sandbox, 'layers'))).toEqual(['python']);
  expect(await fsp.readdir(layer)).toEqual([]);
  expect(await fsp.readdir(path.join(sandbox, 'cache'))).toEqual([]);
  expect(await fsp.readdir(path.join(sandbox, 'tmp'))).toEqual([]);
}

describe('hostile servers', () => {
  it('a 160 B/s trickle is given up on by the minimum average rate', async () => {
    const { message, ms } = await failedDownload(`${base}/trickle`);
    expect(message).toMatch(/Download failed[\s\S]*below the minimum of 4 KiB\/s[\s\S]*Gave up after 2 attempts/);
    expect(ms).toBeLessThan(3000);
    await expectNothingOutside();
  });

  it('the total deadline ends a trickle even with no minimum rate', async () => {
    const { message, ms } = await failedDownload(`${base}/trickle`, { ...FAST, minBytesPerSecond: 0, deadlineMs: 800 });
    expect(message).toMatch(/Download too slow[\s\S]*did not finish within 1 s[\s\S]*BP_PYTHON_DOWNLOAD_TIMEOUT/);
    expect(ms).toBeLessThan(2500);
    await expectNothingOutside();
  });

  it('headers trickled a few bytes at a time, each inside the idle timeout, meet the deadline', async () => {
    const trickler = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.write('HTTP/1.1 200 OK\r\n');
      const timer = setInterval(() => socket.write('X-Slow: y\r\n'), 100);
      socket.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((r) => trickler.listen(0, '127.0.0.1', r));
    try {
      const { message, ms } = await failedDownload(`http://127.0.0.1:${(trickler.address() as AddressInfo).port}/python.tar.gz`, { ...FAST, deadlineMs: 800 });
      expect(message).toMatch(/Download too slow[\s\S]*did not finish within 1 s/);
      expect(ms).toBeLessThan(2500);
      await expectNothingOutside();
    } finally {
      await new Promise((r) => trickler.close(r));
    }
  });

  it.each<[string, string, RegExp]>([
    ['a redirect loop', '/loop', /Download redirect refused[\s\S]*redirected more than 10 times/],
    ['a redirect to file:///dev/zero', '/to-file', /Download redirect refused[\s\S]*redirects to a file: URL, and only http\(s\) redirects are followed/],
    ['a redirect to plain http off loopback', '/to-plain-http', /Download redirect refused[\s\S]*plain http on example\.invalid/],
    ['a malformed Location', '/bad-location', /Download redirect refused[\s\S]*Location header "http:\/\/\[::1\/x" is not a valid URL/],
    ['a Location with %ZZ', '/percent', /Download failed[\s\S]*%ZZ answered HTTP 404/],
    ['an endless chunked body', '/endless', /Download too large[\s\S]*more than the limit of 1\.0 MiB/],
    ['a Content-Length of 10 GiB', '/huge-length', /Download too large[\s\S]*10 GiB, more than the limit of 1\.0 MiB/],
  ])('%s', async (_what, route, pattern) => {
    const { message, ms } = await failedDownload(`${base}${route}`);
    expect(message).toMatch(pattern);
    expect(ms).toBeLessThan(3000);
    await expectNothingOutside();
  });

  it.each([['http://[::1/x'], ['http://%ZZ/x'], ['file://host%2Fx/%2F']])('an unparsable URL %s is a titled error', async (url) => {
    const { message, error } = await failedDownload(url);
    expect(error).toBeInstanceOf(DownloadFailed);
    expect(message).toMatch(/Invalid download URL|Download failed/);
    await expectNothingOutside();
  });

  it('a file:// artifact that is a FIFO or a device is not read', async () => {
    const fifo = path.join(sandbox, 'tmp', 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const url of [`file://${fifo}`, 'file:///dev/zero']) {
      const started = Date.now();
      const { message } = await failedDownload(url);
      expect(message).toMatch(/Download source is not a file/);
      expect(Date.now() - started).toBeLessThan(2000);
    }
    await fsp.rm(fifo);
    await expectNothingOutside();
  });
});

describe('operator manifest (BP_PYTHON_MANIFEST)', () => {
  const io = { fetchText: (u: string) => fetchText(u, { attempts: 1, limits: FAST }) };
  const load = async (location: string) => {
    const started = Date.now();
    const error = await loadOperatorManifest(location, io).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    return { message: (error as UserError).message, ms: Date.now() - started };
  };

  it.each<[string, () => Promise<string>, RegExp]>([
    ['served endlessly', async () => `${base}/endless`, /Could not read BP_PYTHON_MANIFEST[\s\S]*Download too large|more than the limit/],
    ['a FIFO', async () => {
      const fifo = path.join(sandbox, 'tmp', 'manifest.fifo');
      execFileSync('mkfifo', [fifo]);
      return fifo;
    }, /Could not read BP_PYTHON_MANIFEST[\s\S]*not a regular file/],
    ['a device', async () => '/dev/zero', /not a regular file/],
    ['a directory', async () => sandbox, /not a regular file/],
    ['a file larger than the cap', async () => {
      const big = path.join(sandbox, 'tmp', 'manifest.toml');
      await fsp.writeFile(big, Buffer.alloc(MANIFEST_MAX_BYTES + 1, 0x23));
      return big;
    }, /4\.0 MiB/],
  ])('%s', async (_what, location, pattern) => {
    const { message, ms } = await load(await location());
    expect(message).toMatch(pattern);
    expect(ms).toBeLessThan(3000);
  });

  it('a plain path to a real manifest still works', async () => {
    const file = path.join(sandbox, 'tmp', 'ok.toml');
    await fsp.writeFile(file, '[defaults]\npython = "3.12"\n');
    expect((await loadOperatorManifest(file, io))?.defaults).toEqual({ python: '3.12' });
  });
});

describe('download file names and limits', () => {
  it.each([
    ['https://h/pip-26.3-py3-none-any.whl', 'pip-26.3-py3-none-any.whl'],
    ['https://h/a/..%2F..%2Fescape.whl', 'fallback.whl'],
    ['https://h/a/..%2F..', 'fallback.whl'],
    ['https://h/%2E%2E', 'fallback.whl'],
    ['https://h/x/%ZZ.whl', 'fallback.whl'],
    ['https://h/dir/', 'fallback.whl'],
    ['https://h/nul%00.whl', 'fallback.whl'],
    ['https://h/space%20name.whl', 'space name.whl'],
  ])('%s is stored as %s, inside its temp dir', (uri, name) => {
    expect(downloadFileName(uri, 'fallback.whl')).toBe(name);
    const tmp = '/tmp/python-cnb-pip-x';
    expect(path.dirname(path.join(tmp, downloadFileName(uri, 'fallback.whl')))).toBe(tmp);
  });

  it('BP_PYTHON_DOWNLOAD_TIMEOUT and BP_PYTHON_DOWNLOAD_MIN_RATE', () => {
    expect(downloadLimitsFromEnv({})).toEqual(DEFAULT_DOWNLOAD_LIMITS);
    expect(downloadLimitsFromEnv({ BP_PYTHON_DOWNLOAD_TIMEOUT: '90', BP_PYTHON_DOWNLOAD_MIN_RATE: '2' })).toMatchObject({ deadlineMs: 90_000, minBytesPerSecond: 2048 });
    for (const bad of ['0', '-1', '1e3', 'soon', '9999999999']) {
      expect(() => downloadLimitsFromEnv({ BP_PYTHON_DOWNLOAD_TIMEOUT: bad })).toThrow(/Invalid BP_PYTHON_DOWNLOAD_TIMEOUT[\s\S]*whole number of seconds/);
    }
    // Finite defaults: a download can never wait forever.
    expect(Number.isFinite(DEFAULT_DOWNLOAD_LIMITS.deadlineMs) && DEFAULT_DOWNLOAD_LIMITS.minBytesPerSecond > 0 && Number.isFinite(DEFAULT_DOWNLOAD_LIMITS.maxBytes)).toBe(true);
  });
});
