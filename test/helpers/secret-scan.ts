/**
 * Secret scan: proof that no secret reached what a build leaves behind.
 *
 * A secret is given as text; long ones (a private key's base64, its PEM body) are searched as
 * EVERY 32-character window, so a fragment of a key (a copied line, a truncated dump) is found as
 * well as the whole; short ones (a password) are searched whole. Every file under the given roots
 * is scanned (symlinks are not followed), gzip files (the OCI layout's layer blobs) decompressed
 * first, plus any texts given (the build log). Exact: a rolling hash finds window candidates in
 * one pass, each candidate is compared byte for byte. The scan runs in a worker thread: plain
 * Node there, since byte loops inside Jest's module sandbox run about 20 times slower.
 *
 *   const needles = [...keySecrets('deploy key', pem, base64), { label: 'index password', text: pw }];
 *   const findings = await scanForSecrets({ secrets: needles, roots: [s.root], exclude: [envDir], texts: { 'build log': r.log } });
 *   expect(findings).toEqual([]);
 */
import { Worker } from 'node:worker_threads';

export const WINDOW = 32;

export interface Secret {
  /** Names the secret in findings ("the deploy key (PEM body)"); never the secret itself. */
  label: string;
  text: string;
  /** Search every WINDOW-character slice (default: when text is longer than WINDOW). */
  windows?: boolean;
  /**
   * Windows that also occur in these texts are not secret and are skipped: every unencrypted
   * OpenSSH key of a type starts with the same ~60 bytes (magic, "none", "none", the key type),
   * so those windows of the PEM body would match any other key of that type.
   */
  notSecretIn?: string[];
}

export interface Finding {
  /** File path (with " (gunzipped)" for a decompressed blob) or the name of a text. */
  where: string;
  label: string;
  /** Offset of the first match in that file's (decompressed) bytes. */
  offset: number;
}

/** The base64 body of a PEM text, on one line. */
export function pemBody(pem: string): string {
  return pem
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('-----'))
    .join('');
}

/**
 * The secrets of one private key: its PEM body and its base64 as given to CUSTOM_SSH_KEY. `reference`
 * is another key of the same type and format: windows the two share (the fixed header every such key
 * starts with) are not secret and not searched.
 */
export function keySecrets(label: string, pem: string, base64?: string, reference?: string): Secret[] {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return [
    { label: `${label} (PEM body)`, text: pemBody(pem), windows: true, ...(reference ? { notSecretIn: [pemBody(reference)] } : {}) },
    { label: `${label} (base64 of the key file)`, text: (base64 ?? b64(pem)).replace(/\s+/g, ''), windows: true, ...(reference ? { notSecretIn: [b64(reference)] } : {}) },
  ];
}

/** A password, and the base64 of "user:password" (an Authorization header someone might store). */
export function passwordSecrets(label: string, user: string, password: string): Secret[] {
  return [
    { label, text: password, windows: false },
    { label: `${label} (in a Basic Authorization header)`, text: Buffer.from(`${user}:${password}`).toString('base64'), windows: false },
  ];
}

export interface ScanOptions {
  secrets: readonly Secret[];
  /** Directories (or files) scanned recursively. */
  roots: readonly string[];
  /** Paths left out (the platform env and bindings, which hold the secrets by design). */
  exclude?: readonly string[];
  /** Named texts scanned too (the build log). */
  texts?: Record<string, string>;
}

export interface ScanResult {
  findings: Finding[];
  /** How much was scanned, to show the scan did look. */
  files: number;
  gunzipped: number;
  bytes: number;
}

/**
 * The whole scan, self-contained (it runs as the source text of a worker thread, so it uses only
 * what it requires itself).
 */
function scanInWorker(): void {
  /* eslint-disable @typescript-eslint/no-var-requires */
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const { createGunzip } = require('node:zlib') as typeof import('node:zlib');
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const WINDOW = 32;
  const B = 257;
  const FILTER_BITS = 22;

  class Matcher {
    private readonly windows = new Map<string, string>(); // window text (latin1) -> label
    private readonly filter = new Uint8Array(1 << FILTER_BITS);
    private readonly whole: Array<{ label: string; bytes: Buffer }> = [];
    private readonly pow: number;
    readonly overlap: number;

    constructor(secrets: readonly Secret[]) {
      let pow = 1;
      for (let i = 0; i < WINDOW - 1; i++) pow = Math.imul(pow, B);
      this.pow = pow;
      let longest = WINDOW;
      for (const s of secrets) {
        if (!s.text) throw new Error(`secret ${s.label} is empty`);
        const useWindows = s.windows ?? s.text.length > WINDOW;
        if (useWindows && s.text.length >= WINDOW) {
          const bytes = Buffer.from(s.text, 'utf8');
          const common = s.notSecretIn ?? [];
          for (let i = 0; i + WINDOW <= bytes.length; i++) {
            const w = bytes.subarray(i, i + WINDOW);
            if (common.some((c) => c.includes(w.toString('utf8')))) continue;
            this.windows.set(w.toString('latin1'), s.label);
            this.filter[this.hash(w, 0) & ((1 << FILTER_BITS) - 1)] = 1;
          }
        } else {
          const bytes = Buffer.from(s.text, 'utf8');
          this.whole.push({ label: s.label, bytes });
          longest = Math.max(longest, bytes.length);
        }
      }
      this.overlap = longest - 1;
    }

    private hash(buf: Buffer, start: number): number {
      let h = 0;
      for (let i = start; i < start + WINDOW; i++) h = (Math.imul(h, B) + buf[i]!) | 0;
      return h;
    }

    /** Matches in buf, each {label, offset}; `skip` ignores matches that end before that offset (already seen). */
    scan(buf: Buffer, base: number, skipBefore: number, found: (label: string, offset: number) => void): void {
      for (const w of this.whole) {
        let at = buf.indexOf(w.bytes);
        while (at >= 0) {
          if (at + w.bytes.length > skipBefore) found(w.label, base + at);
          at = buf.indexOf(w.bytes, at + 1);
        }
      }
      if (!this.windows.size || buf.length < WINDOW) return;
      const mask = (1 << FILTER_BITS) - 1;
      let h = this.hash(buf, 0);
      for (let start = 0; ; start++) {
        if (this.filter[h & mask] && start + WINDOW > skipBefore) {
          const label = this.windows.get(buf.toString('latin1', start, start + WINDOW));
          if (label) found(label, base + start);
        }
        const next = start + WINDOW;
        if (next >= buf.length) break;
        h = (Math.imul(h - Math.imul(buf[start]!, this.pow), B) + buf[next]!) | 0;
      }
    }
  }

  async function scanStream(stream: NodeJS.ReadableStream, matcher: Matcher, report: (label: string, offset: number) => void): Promise<void> {
    let carry = Buffer.alloc(0);
    let base = 0; // offset of carry[0] in the whole stream
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      matcher.scan(buf, base, carry.length, report);
      const keep = Math.min(matcher.overlap, buf.length);
      carry = Buffer.from(buf.subarray(buf.length - keep));
      base += buf.length - keep;
    }
  }

  function isGzip(file: string): boolean {
    const fd = fs.openSync(file, 'r');
    try {
      const magic = Buffer.alloc(2);
      return fs.readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
    } finally {
      fs.closeSync(fd);
    }
  }

  function* walk(dir: string, exclude: readonly string[]): Generator<string> {
    if (exclude.some((e) => dir === e || dir.startsWith(e + path.sep))) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (exclude.some((x) => full === x || full.startsWith(x + path.sep))) continue;
      if (e.isDirectory()) yield* walk(full, exclude);
      else if (e.isFile()) yield full;
    }
  }


  async function scanForSecrets(options: ScanOptions): Promise<ScanResult> {
    const matcher = new Matcher(options.secrets);
    const exclude = (options.exclude ?? []).map((e) => path.resolve(e));
    const findings: Finding[] = [];
    const result: ScanResult = { findings, files: 0, gunzipped: 0, bytes: 0 };
    const reporter = (where: string) => {
      const seen = new Set<string>();
      return (label: string, offset: number) => {
        if (seen.has(label)) return;
        seen.add(label);
        findings.push({ where, label, offset });
      };
    };
    for (const root of options.roots) {
      const stat = fs.lstatSync(root, { throwIfNoEntry: false });
      const files = !stat ? [] : stat.isDirectory() ? [...walk(path.resolve(root), exclude)] : stat.isFile() ? [root] : [];
      for (const file of files) {
        result.files++;
        result.bytes += fs.statSync(file).size;
        await scanStream(fs.createReadStream(file, { highWaterMark: 4 * 1024 * 1024 }), matcher, reporter(file));
        if (isGzip(file)) {
          result.gunzipped++;
          try {
            await scanStream(fs.createReadStream(file).pipe(createGunzip()), matcher, reporter(`${file} (gunzipped)`));
          } catch {
            // not really gzip (a file that starts with the magic by chance): its raw bytes were scanned
          }
        }
      }
    }
    for (const [name, text] of Object.entries(options.texts ?? {})) {
      const buf = Buffer.from(text, 'utf8');
      result.bytes += buf.length;
      matcher.scan(buf, 0, 0, reporter(name));
    }
    return result;
  }

  scanForSecrets(workerData as ScanOptions).then(
    (result) => parentPort!.postMessage({ result }),
    (error: Error) => parentPort!.postMessage({ error: String(error?.stack ?? error) }),
  );
}

export async function scanForSecrets(options: ScanOptions): Promise<ScanResult> {
  const worker = new Worker(`(${scanInWorker.toString()})()`, { eval: true, workerData: options });
  try {
    const reply = await new Promise<{ result?: ScanResult; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`secret scan worker exited with ${code}`)));
    });
    if (reply.error || !reply.result) throw new Error(`secret scan failed: ${reply.error}`);
    return reply.result;
  } finally {
    await worker.terminate();
  }
}
