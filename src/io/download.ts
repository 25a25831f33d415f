// Downloads that are verified while they stream. The body is hashed on its way to the consumer
// (an extractor), so there is no temporary copy and no buffering of the whole archive; when the sum
// does not match, the caller's `reset` wipes whatever the consumer wrote. Transient failures (a
// connection error or cut, a timeout, 408/429/5xx) are retried with exponential backoff; a 4xx or a
// checksum mismatch is final.
import { createHash } from 'node:crypto';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DownloadFailed, Failure } from '../failures';
import { redactUrl } from '../redact';
import { UserError, printable } from '../errors';

/** Bounds on one download, so that no mirror can keep a build waiting or fill a disk. */
export interface DownloadLimits {
  /** Redirects followed per request. */
  maxRedirects: number;
  /** The whole download, every attempt and backoff included. */
  deadlineMs: number;
  /** Slowest average rate accepted for an attempt, once `rateGraceMs` has passed. */
  minBytesPerSecond: number;
  rateGraceMs: number;
  /** Largest artifact (a Content-Length above it fails at once; a body is cut there). */
  maxBytes: number;
}

export const DEFAULT_DOWNLOAD_LIMITS: DownloadLimits = {
  maxRedirects: 10,
  deadlineMs: 30 * 60_000,
  minBytesPerSecond: 16 * 1024,
  rateGraceMs: 60_000,
  maxBytes: 2 * 1024 ** 3,
};

/** An operator manifest is a few KiB of TOML; more than this is not one. */
export const MANIFEST_MAX_BYTES = 4 * 1024 ** 2;

/**
 * BP_PYTHON_DOWNLOAD_TIMEOUT (seconds for one whole download) and BP_PYTHON_DOWNLOAD_MIN_RATE
 * (KiB/s, the slowest average accepted after the first minute) from the platform env. Pure.
 */
export function downloadLimitsFromEnv(env: Record<string, string | undefined>): DownloadLimits {
  const read = (name: string, unit: string, example: string): number | undefined => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return undefined;
    if (!/^\d{1,9}$/.test(raw) || Number(raw) === 0) {
      throw new UserError(`Invalid ${name}`, [`${name} is set to "${printable(raw)}".`, `Expected a whole number of ${unit} greater than 0, for example ${name}=${example}.`, 'Fix the value in your platform environment, or unset it to use the default.']);
    }
    return Number(raw);
  };
  const timeout = read('BP_PYTHON_DOWNLOAD_TIMEOUT', 'seconds', '3600');
  const rate = read('BP_PYTHON_DOWNLOAD_MIN_RATE', 'KiB per second', '4');
  return {
    ...DEFAULT_DOWNLOAD_LIMITS,
    ...(timeout !== undefined ? { deadlineMs: timeout * 1000 } : {}),
    ...(rate !== undefined ? { minBytesPerSecond: rate * 1024 } : {}),
  };
}

let configured: DownloadLimits = DEFAULT_DOWNLOAD_LIMITS;

/** Sets the limits every later download uses (build calls it once with the platform env). */
export function configureDownloads(env: Record<string, string | undefined>): DownloadLimits {
  configured = downloadLimitsFromEnv(env);
  return configured;
}

export interface DownloadOptions {
  /** Attempts in all, first included. */
  attempts?: number;
  /** No byte for this long (connecting or streaming) aborts the attempt. */
  idleTimeoutMs?: number;
  /** First backoff delay; doubles each retry. */
  backoffMs?: number;
  /** Called before a retry, after the failed attempt's output was wiped. */
  onRetry?: (info: { attempt: number; reason: string; delayMs: number }) => void;
  /** Wipes what a failed attempt's consumer wrote. */
  reset?: () => Promise<void>;
  /** Overrides of the configured limits (the artifact's known size as maxBytes, tests). */
  limits?: Partial<DownloadLimits>;
}

export interface DownloadResult {
  url: string;
  bytes: number;
  ms: number;
  attempts: number;
}

class TransientError extends Error {}

/** Hosts where plain http is acceptable (local caches and tests), as for mirrors. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new DownloadFailed(redactUrl(url), 'invalid-url');
  }
}

/**
 * The file name a download may be stored under in its private temp dir: the URL's last path
 * segment, decoded, when that is a plain name; `fallback` when it is empty, undecodable (`%ZZ`),
 * or would name another directory (`..%2F..`, `.`, `..`).
 */
export function downloadFileName(uri: string, fallback: string): string {
  let segment: string;
  try {
    segment = decodeURIComponent(new URL(uri).pathname.split('/').pop() ?? '');
  } catch {
    return fallback;
  }
  const plain = segment !== '' && segment !== '.' && segment !== '..' && !/[/\\\0]/.test(segment) && Buffer.byteLength(segment) <= 255;
  return plain ? segment : fallback;
}

/** A local artifact: only a regular file is read (a FIFO or a device would block or never end). */
async function openFile(url: string, u: URL, maxBytes: number): Promise<{ body: Readable; length?: number }> {
  let file: string;
  try {
    file = fileURLToPath(u);
  } catch {
    throw new DownloadFailed(redactUrl(url), 'invalid-url');
  }
  let handle: fsp.FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
    handle = await fsp.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    throw new DownloadFailed(url, 'unreadable', { cause: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
  }
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    throw new DownloadFailed(url, 'not-a-file');
  }
  if (stat.size > maxBytes) {
    await handle.close();
    throw new DownloadFailed(url, 'too-large', { size: stat.size, limit: maxBytes });
  }
  return { body: handle.createReadStream(), length: stat.size };
}

/**
 * Opens `url` (following redirects) up to its response headers. The deadline is a timer here, not a
 * check per chunk: a server may trickle its headers a byte at a time, just inside the idle timeout.
 */
function open(url: string, idleTimeoutMs: number, limits: DownloadLimits, deadline: number, redirects = 0): Promise<{ body: Readable; length?: number }> {
  let u: URL;
  try {
    u = parseUrl(url);
  } catch (e) {
    return Promise.reject(e);
  }
  if (u.protocol === 'file:') return openFile(url, u, limits.maxBytes);
  const client = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
  if (!client) return Promise.reject(new DownloadFailed(redactUrl(url), 'unsupported-url'));
  return new Promise((resolve, reject) => {
    const req = client.get(u, { headers: { 'user-agent': 'python-cnb' } }, (res) => {
      clearTimeout(timer);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location !== undefined) {
        res.resume();
        try {
          const next = redirectTarget(url, u, res.headers.location, redirects, limits.maxRedirects);
          resolve(open(next, idleTimeoutMs, limits, deadline, redirects + 1));
        } catch (e) {
          reject(e);
        }
        return;
      }
      if (status !== 200) {
        res.resume();
        const message = `${redactUrl(url)} answered HTTP ${status}`;
        reject(status === 408 || status === 429 || status >= 500 ? new TransientError(message) : new DownloadFailed(redactUrl(url), 'http', { status }));
        return;
      }
      const length = Number(res.headers['content-length']);
      if (Number.isFinite(length) && length > limits.maxBytes) {
        res.destroy();
        reject(new DownloadFailed(redactUrl(url), 'too-large', { size: length, limit: limits.maxBytes }));
        return;
      }
      resolve({ body: res, length: Number.isFinite(length) ? length : undefined });
    });
    const timer = setTimeout(() => req.destroy(new DownloadFailed(redactUrl(url), 'too-slow', { limit: limits.deadlineMs })), Math.max(0, deadline - Date.now()));
    req.setTimeout(idleTimeoutMs, () => req.destroy(new TransientError(`no data from ${redactUrl(url)} for ${idleTimeoutMs / 1000}s`)));
    req.once('error', (e) => {
      clearTimeout(timer);
      reject(e instanceof TransientError || e instanceof Failure ? e : new TransientError(`${redactUrl(url)}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
  });
}

/** Where a redirect leads, if it may be followed: http(s) only, plain http only to loopback, a bounded number. */
function redirectTarget(url: string, base: URL, location: string, redirects: number, max: number): string {
  let next: URL;
  try {
    next = new URL(location, base);
  } catch {
    throw new DownloadFailed(redactUrl(url), 'bad-redirect', { cause: `its Location header "${printable(location, 200)}" is not a valid URL` });
  }
  if (redirects >= max) throw new DownloadFailed(redactUrl(url), 'bad-redirect', { cause: `it redirected more than ${max} times (a redirect loop?)` });
  if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new DownloadFailed(redactUrl(url), 'bad-redirect', { cause: `it redirects to a ${next.protocol} URL, and only http(s) redirects are followed` });
  if (next.protocol === 'http:' && !isLoopbackHost(next.hostname)) throw new DownloadFailed(redactUrl(url), 'bad-redirect', { cause: `it redirects to plain http on ${next.hostname}, and plain http is followed only to a loopback address` });
  return next.href;
}

/**
 * The body's chunks, cut off when the artifact grows past its size cap or the whole download
 * passes its deadline (both final), or when the attempt's average rate stays below the minimum
 * after the grace period (transient: another attempt may find a faster path).
 */
async function* guarded(body: Readable, url: string, limits: DownloadLimits, deadline: number): AsyncGenerator<Buffer> {
  const began = Date.now();
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > limits.maxBytes) throw new DownloadFailed(redactUrl(url), 'too-large', { limit: limits.maxBytes });
    const now = Date.now();
    if (now > deadline) throw new DownloadFailed(redactUrl(url), 'too-slow', { limit: limits.deadlineMs });
    const seconds = (now - began) / 1000;
    if (seconds * 1000 > limits.rateGraceMs && bytes / seconds < limits.minBytesPerSecond) {
      throw new TransientError(`${redactUrl(url)} sent ${Math.round(bytes / seconds / 1024)} KiB/s on average, below the minimum of ${Math.round(limits.minBytesPerSecond / 1024)} KiB/s (BP_PYTHON_DOWNLOAD_MIN_RATE)`);
    }
    yield chunk;
  }
}

function limitsFor(options: DownloadOptions): DownloadLimits {
  return { ...configured, ...options.limits };
}

/** Waits before a retry, unless the retry could not start before the deadline. */
async function backoff(url: string, delayMs: number, deadline: number, limits: DownloadLimits, cause: string, attempt: number): Promise<void> {
  if (Date.now() + delayMs >= deadline) throw new DownloadFailed(redactUrl(url), 'too-slow', { limit: limits.deadlineMs, cause, attempts: attempt });
  await new Promise((r) => setTimeout(r, delayMs));
}

export async function downloadVerified(url: string, sha256: string, consume: (body: Readable) => Promise<void>, options: DownloadOptions = {}): Promise<DownloadResult> {
  const attempts = options.attempts ?? 4;
  const idle = options.idleTimeoutMs ?? 30_000;
  const limits = limitsFor(options);
  const started = Date.now();
  const deadline = started + limits.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      const { body, length } = await open(url, Math.min(idle, limits.deadlineMs), limits, deadline);
      // We read the body ourselves so that it is hashed to the end even when the consumer fails
      // early: a flipped byte usually breaks decompression first, and the checksum is the truer
      // message ("the mirror serves another file") than "invalid gzip data".
      const toConsumer = new PassThrough();
      let consumerError: unknown;
      const consumed = consume(toConsumer).catch((e) => {
        consumerError = e;
        toConsumer.resume();
      });
      try {
        for await (const chunk of guarded(body, url, limits, deadline)) {
          hash.update(chunk);
          bytes += chunk.length;
          if (consumerError === undefined && !toConsumer.destroyed && !toConsumer.write(chunk)) {
            await new Promise<void>((r) => {
              const done = () => {
                toConsumer.off('drain', done);
                toConsumer.off('close', done);
                r();
              };
              toConsumer.on('drain', done);
              toConsumer.on('close', done);
            });
          }
        }
      } catch (e) {
        toConsumer.destroy();
        await consumed;
        throw e instanceof Failure || e instanceof TransientError ? e : new TransientError(`${redactUrl(url)}: the connection broke after ${bytes} bytes (${(e as Error).message})`);
      }
      toConsumer.end();
      await consumed;
      if (length !== undefined && bytes !== length) throw new TransientError(`${redactUrl(url)}: got ${bytes} of ${length} bytes`);
      const actual = hash.digest('hex');
      if (actual !== sha256) {
        throw new DownloadFailed(redactUrl(url), 'checksum', { expected: sha256, actual });
      }
      if (consumerError !== undefined) throw consumerError instanceof Failure ? consumerError : new DownloadFailed(redactUrl(url), 'unpack', { cause: (consumerError as Error).message });
      return { url, bytes, ms: Date.now() - started, attempts: attempt };
    } catch (e) {
      await options.reset?.();
      const transient = e instanceof TransientError || (!(e instanceof Failure) && isNetworkError(e));
      if (!transient) throw e;
      if (attempt >= attempts) {
        throw new DownloadFailed(redactUrl(url), 'network', { cause: (e as Error).message, attempts: attempt });
      }
      const delayMs = Math.min((options.backoffMs ?? 500) * 2 ** (attempt - 1), 8000);
      options.onRetry?.({ attempt, reason: (e as Error).message, delayMs });
      await backoff(url, delayMs, deadline, limits, (e as Error).message, attempt);
    }
  }
}

function isNetworkError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  return ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_STREAM_PREMATURE_CLOSE', 'Z_BUF_ERROR'].includes(code) || /aborted|premature|socket hang up|unexpected end/i.test((e as Error)?.message ?? '');
}

/**
 * A small text document (an operator manifest): no checksum, same retries, redirect rules and
 * deadline; at most MANIFEST_MAX_BYTES (a path or file:// must name a regular file).
 */
export async function fetchText(url: string, options: DownloadOptions = {}): Promise<string> {
  const attempts = options.attempts ?? 3;
  const limits = { ...limitsFor(options), maxBytes: Math.min(options.limits?.maxBytes ?? MANIFEST_MAX_BYTES, MANIFEST_MAX_BYTES) };
  const deadline = Date.now() + limits.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const { body } = await open(url, Math.min(options.idleTimeoutMs ?? 30_000, limits.deadlineMs), limits, deadline);
      const chunks: Buffer[] = [];
      for await (const c of guarded(body, url, limits, deadline)) chunks.push(c);
      return Buffer.concat(chunks).toString('utf8');
    } catch (e) {
      if (e instanceof Failure || attempt >= attempts) throw e instanceof Failure ? e : new DownloadFailed(redactUrl(url), 'network', { cause: (e as Error).message });
      await backoff(url, (options.backoffMs ?? 500) * 2 ** (attempt - 1), deadline, limits, (e as Error).message, attempt);
    }
  }
}
