/**
 * A small NLTK data server on loopback: an index.xml in the format of NLTK's own
 * (https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/index.xml) and the zip of each package,
 * made in the test from the files it is given, with their real sizes, md5 and sha256.
 *
 * Why a proxy: NLTK's downloader (3.10) refuses URLs that resolve to loopback or private addresses
 * (its SSRF filter in nltk/pathsec.py). It does allow a fetch through a proxy the operator trusts
 * (NLTK_ALLOW_PROXIED_URLOPEN=1), as in a build network whose egress is a proxy. So the index URL
 * names a host that never resolves (`nltk-data.invalid`, RFC 2606), the downloader's http_proxy is
 * this server, and every request it makes lands here, in the access log: nothing leaves loopback.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const NLTK_INDEX_HOST = 'nltk-data.invalid';

export interface NltkPackage {
  id: string;
  /** Where NLTK puts it: corpora, tokenizers, taggers ... */
  subdir: string;
  /** Files inside the package directory (the zip holds <id>/<name>). */
  files: Record<string, string>;
}

export interface NltkIndex {
  /** NLTK_DOWNLOAD_URL for the build. */
  readonly url: string;
  /** The platform env that sends the downloader here: NLTK_DOWNLOAD_URL, http_proxy, its opt-in, and no_proxy for the loopback package index. */
  env(): Record<string, string>;
  /** "GET /index.xml 200", in order. */
  requests(): string[];
  clearLog(): void;
  close(): Promise<void>;
}

function zipPackage(dir: string, pkg: NltkPackage): string {
  const src = path.join(dir, 'src', pkg.id);
  fs.mkdirSync(src, { recursive: true });
  for (const [name, content] of Object.entries(pkg.files)) fs.writeFileSync(path.join(src, name), content);
  const zip = path.join(dir, `${pkg.id}.zip`);
  const r = spawnSync('zip', ['-q', '-X', '-r', zip, pkg.id], { cwd: path.join(dir, 'src'), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`zip ${pkg.id} failed: ${r.stderr}`);
  return zip;
}

function packageXml(pkg: NltkPackage, zip: string): string {
  const bytes = fs.readFileSync(zip);
  const unzipped = Object.values(pkg.files).reduce((n, c) => n + Buffer.byteLength(c), 0);
  const attrs: Record<string, string> = {
    id: pkg.id,
    name: `${pkg.id} (test package)`,
    subdir: pkg.subdir,
    url: `http://${NLTK_INDEX_HOST}/packages/${pkg.subdir}/${pkg.id}.zip`,
    size: String(bytes.length),
    unzipped_size: String(unzipped),
    checksum: createHash('md5').update(bytes).digest('hex'),
    sha256_checksum: createHash('sha256').update(bytes).digest('hex'),
    unzip: '1',
  };
  return `    <package ${Object.entries(attrs).map(([k, v]) => `${k}="${v}"`).join(' ')} />`;
}

export async function startNltkIndex(packages: NltkPackage[]): Promise<NltkIndex> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nltk-index-'));
  const files = new Map<string, string>();
  const entries = packages.map((p) => {
    const zip = zipPackage(dir, p);
    files.set(`/packages/${p.subdir}/${p.id}.zip`, zip);
    return packageXml(p, zip);
  });
  const indexXml = `<?xml version="1.0"?>\n<nltk_data>\n  <packages>\n${entries.join('\n')}\n  </packages>\n  <collections>\n  </collections>\n</nltk_data>\n`;
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    // Through a proxy the request line holds the absolute URL; only our made-up host is served.
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'unknown'}`);
    const send = (status: number, body: Buffer | string, type = 'application/octet-stream') => {
      log.push(`${req.method} ${url.pathname} ${status}`);
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (url.hostname !== NLTK_INDEX_HOST) return send(403, `only ${NLTK_INDEX_HOST} is served here\n`, 'text/plain');
    if (url.pathname === '/index.xml') return send(200, indexXml, 'application/xml');
    const file = files.get(url.pathname);
    if (file) return send(200, fs.readFileSync(file), 'application/zip');
    return send(404, 'not found\n', 'text/plain');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${NLTK_INDEX_HOST}/index.xml`;
  return {
    url,
    env: () => ({ NLTK_DOWNLOAD_URL: url, http_proxy: `http://127.0.0.1:${port}`, NLTK_ALLOW_PROXIED_URLOPEN: '1', no_proxy: '127.0.0.1,localhost' }),
    requests: () => [...log],
    clearLog: () => void log.splice(0),
    close: async () => {
      server.closeAllConnections(); // keep-alive sockets of the downloader would hold close() open
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
