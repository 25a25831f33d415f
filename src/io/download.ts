// Downloads that are verified while they stream. The body is hashed on its way to the consumer
// (an extractor), so there is no temporary copy and no buffering of the whole archive; when the sum
// does not match, the caller's `reset` wipes whatever the consumer wrote. Transient failures (a
// connection error or cut, a timeout, 408/429/5xx) are retried with exponential backoff; a 4xx or a
// checksum mismatch is final.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DownloadFailed, Failure } from '../failures';
import { redactUrl } from '../redact';

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
}

export interface DownloadResult {
  url: string;
  bytes: number;
  ms: number;
  attempts: number;
}

class TransientError extends Error {}

function open(url: string, idleTimeoutMs: number): Promise<{ body: Readable; length?: number }> {
  const u = new URL(url);
  if (u.protocol === 'file:') {
    const body = createReadStream(fileURLToPath(u));
    return new Promise((resolve, reject) => {
      body.once('open', () => resolve({ body }));
      body.once('error', (e) => reject(new DownloadFailed(url, 'unreadable', { cause: (e as NodeJS.ErrnoException).code ?? e.message })));
    });
  }
  const client = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
  if (!client) return Promise.reject(new DownloadFailed(redactUrl(url), 'unsupported-url'));
  return new Promise((resolve, reject) => {
    const req = client.get(u, { headers: { 'user-agent': 'python-cnb' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        resolve(open(new URL(res.headers.location, u).href, idleTimeoutMs));
        return;
      }
      if (status !== 200) {
        res.resume();
        const message = `${redactUrl(url)} answered HTTP ${status}`;
        reject(status === 408 || status === 429 || status >= 500 ? new TransientError(message) : new DownloadFailed(redactUrl(url), 'http', { status }));
        return;
      }
      const length = Number(res.headers['content-length']);
      resolve({ body: res, length: Number.isFinite(length) ? length : undefined });
    });
    req.setTimeout(idleTimeoutMs, () => req.destroy(new TransientError(`no data from ${redactUrl(url)} for ${idleTimeoutMs / 1000}s`)));
    req.once('error', (e) => reject(e instanceof TransientError ? e : new TransientError(`${redactUrl(url)}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
  });
}

export async function downloadVerified(url: string, sha256: string, consume: (body: Readable) => Promise<void>, options: DownloadOptions = {}): Promise<DownloadResult> {
  const attempts = options.attempts ?? 4;
  const idle = options.idleTimeoutMs ?? 30_000;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      const { body, length } = await open(url, idle);
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
        for await (const chunk of body as AsyncIterable<Buffer>) {
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
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

function isNetworkError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  return ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_STREAM_PREMATURE_CLOSE', 'Z_BUF_ERROR'].includes(code) || /aborted|premature|socket hang up|unexpected end/i.test((e as Error)?.message ?? '');
}

/** A small text document (an operator manifest): no checksum, same retries and timeouts. */
export async function fetchText(url: string, options: DownloadOptions = {}): Promise<string> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      const { body } = await open(url, options.idleTimeoutMs ?? 30_000);
      const chunks: Buffer[] = [];
      for await (const c of body as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks).toString('utf8');
    } catch (e) {
      if (e instanceof Failure || attempt >= attempts) throw e instanceof Failure ? e : new DownloadFailed(redactUrl(url), 'network', { cause: (e as Error).message });
      await new Promise((r) => setTimeout(r, (options.backoffMs ?? 500) * 2 ** (attempt - 1)));
    }
  }
}
