/**
 * A PEP 503 "simple" package index on loopback, serving the wheelhouse that
 * test/setup/fill-index.sh fills from PyPI once.
 *
 * Why a server rather than `--find-links <dir>`: the buildpack is configured with an index URL
 * (PIP_INDEX_URL and friends pass through from the platform), and the behaviours worth testing
 * live on the HTTP side: which files a rebuild downloads again (the access log), credentials in
 * the index URL (basic auth; they must never end up in a layer or the log), and a build that can
 * reach nothing else. A directory would hide all of it.
 *
 * Why Node's http and not `python -m http.server`: the test process owns the server, so the log
 * is plain memory, there is no port race, and closing is synchronous with the test's lifetime.
 *
 * Kept deliberately small: one flat directory, one version per project as the fill script pins
 * it, hashes computed once at start (pip verifies every download against the `#sha256=`
 * fragment, so a corrupt or swapped file fails loudly). No PEP 658 metadata files and no
 * `data-requires-python`: with a single version per project pip never needs them to choose.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

const DEFAULT_ROOT = path.resolve(__dirname, '..', '..', '.cache', 'fixtures', 'wheelhouse');
const DIST_EXTENSIONS = ['.whl', '.tar.gz', '.zip', '.tar.bz2', '.tgz'] as const;

export interface PackageIndexOptions {
  /** Directory of distributions (flat). Default: .cache/fixtures/wheelhouse of this checkout. */
  root?: string;
  /** When set, every request needs exactly these credentials (401 + WWW-Authenticate otherwise). */
  basicAuth?: { user: string; password: string };
}

export interface IndexRequest {
  method: string;
  /** The request path as sent (percent-encoded, no query string). */
  path: string;
  status: number;
  /** Body bytes actually sent (0 for HEAD, less than the file for an aborted download). */
  bytes: number;
}

export interface PackageIndex {
  /** The simple index URL to give pip, e.g. `http://127.0.0.1:41234/simple/`. */
  readonly url: string;
  /** `url` with the basicAuth credentials in it (`url` itself when there are none). */
  readonly urlWithCredentials: string;
  readonly port: number;
  readonly root: string;
  /**
   * The platform env that points pip at this index: PIP_INDEX_URL (with the credentials, if
   * any) and PIP_TRUSTED_HOST. The latter is not about TLS here: pip keeps its HTTP cache (the
   * pip-cache layer) only for https and trusted hosts, so without it every rebuild downloads
   * every file again, and pip-cache tests would pass against PyPI but fail against this index.
   */
  pipEnv(): { PIP_INDEX_URL: string; PIP_TRUSTED_HOST: string };
  /** Normalized project names the index serves. */
  projects(): string[];
  /** Every request since start or the last clearLog(), in order of completion. */
  requests(): IndexRequest[];
  /** File names of distributions served completely (GET, 200), in order, repeats kept. */
  downloads(): string[];
  clearLog(): void;
  close(): Promise<void>;
}

interface Distribution {
  file: string;
  project: string;
  size: number;
  sha256: string;
}

/** PEP 503: lowercase, and runs of `-`, `_`, `.` become one `-`. */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * The project a distribution file belongs to, from its name alone. Wheels: the first
 * dash-separated field (PEP 427 escapes dashes in names). Sdists: everything before the last
 * `-<digit>`, which also reads legacy names like `python-dateutil-2.8.2.tar.gz`.
 */
export function projectOfFile(file: string): string | undefined {
  if (file.endsWith('.whl')) {
    const parts = file.slice(0, -'.whl'.length).split('-');
    return parts.length >= 5 && parts[0] ? normalizeProjectName(parts[0]) : undefined;
  }
  const extension = DIST_EXTENSIONS.find((ext) => file.endsWith(ext));
  if (!extension) return undefined;
  const match = /^(.+)-\d[^-]*$/.exec(file.slice(0, -extension.length));
  return match?.[1] ? normalizeProjectName(match[1]) : undefined;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function scan(root: string): Promise<Map<string, Distribution[]>> {
  const names = (await fs.promises.readdir(root, { withFileTypes: true }))
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
  const dists = await Promise.all(
    names.map(async (file): Promise<Distribution | undefined> => {
      const project = projectOfFile(file);
      if (!project) return undefined;
      const full = path.join(root, file);
      const [stat, sha256] = await Promise.all([fs.promises.stat(full), sha256File(full)]);
      return { file, project, size: stat.size, sha256 };
    }),
  );
  const byProject = new Map<string, Distribution[]>();
  for (const dist of dists) {
    if (!dist) continue;
    const list = byProject.get(dist.project) ?? [];
    list.push(dist);
    byProject.set(dist.project, list);
  }
  return byProject;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, links: string[]): string {
  return [
    '<!DOCTYPE html>',
    '<html><head><meta name="pypi:repository-version" content="1.0">',
    `<title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>`,
    ...links.map((link) => `${link}<br/>`),
    '</body></html>',
    '',
  ].join('\n');
}

export async function startPackageIndex(options: PackageIndexOptions = {}): Promise<PackageIndex> {
  const root = path.resolve(options.root ?? DEFAULT_ROOT);
  if (!fs.existsSync(root) || (options.root === undefined && !fs.existsSync(path.join(root, '.complete')))) {
    throw new Error(
      `No complete wheelhouse at ${root}. Run test/setup/fill-index.sh once (the only step that reaches PyPI).`,
    );
  }
  const byProject = await scan(root);
  const byFile = new Map<string, Distribution>();
  for (const list of byProject.values()) for (const dist of list) byFile.set(dist.file, dist);

  const expectedAuth = options.basicAuth
    ? Buffer.from(
        `Basic ${Buffer.from(`${options.basicAuth.user}:${options.basicAuth.password}`).toString('base64')}`,
      )
    : undefined;
  const authorized = (header: string | undefined): boolean => {
    if (!expectedAuth) return true;
    const given = Buffer.from(header ?? '');
    return given.length === expectedAuth.length && timingSafeEqual(given, expectedAuth);
  };

  let log: IndexRequest[] = [];

  const server = http.createServer((req, res) => {
    const urlPath = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    let bytes = 0;
    let logged = false;
    // 'finish' (all handed to the socket) comes first normally; 'close' alone means aborted.
    const record = (): void => {
      if (logged) return;
      logged = true;
      log.push({ method, path: urlPath, status: res.statusCode, bytes });
    };
    res.on('finish', record);
    res.on('close', record);

    const send = (status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void => {
      const buffer = Buffer.from(body);
      res.writeHead(status, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': buffer.length,
        ...headers,
      });
      if (method === 'HEAD') {
        res.end();
      } else {
        bytes = buffer.length;
        res.end(buffer);
      }
    };
    const html = (body: string): void => send(200, body, { 'Content-Type': 'text/html; charset=utf-8' });

    if (method !== 'GET' && method !== 'HEAD') return send(405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    if (!authorized(req.headers.authorization)) {
      return send(401, 'authentication required\n', { 'WWW-Authenticate': 'Basic realm="python-cnb test index"' });
    }

    if (urlPath === '/simple' || urlPath === '/') return send(301, '', { Location: '/simple/' });
    if (urlPath === '/simple/') {
      const projects = [...byProject.keys()].sort();
      return html(page('Simple index', projects.map((p) => `<a href="${p}/">${p}</a>`)));
    }

    const simple = /^\/simple\/([^/]+)(\/?)$/.exec(urlPath);
    if (simple) {
      let requested: string;
      try {
        requested = decodeURIComponent(simple[1] ?? '');
      } catch {
        return send(400, 'bad project name\n');
      }
      const project = normalizeProjectName(requested);
      const dists = byProject.get(project);
      if (!dists) return send(404, `no project named ${project}\n`);
      // PEP 503 allows redirecting to the normalized name; pip already asks for it.
      if (requested !== project || simple[2] !== '/') return send(301, '', { Location: `/simple/${project}/` });
      const links = dists.map(
        (d) => `<a href="../../files/${encodeURIComponent(d.file)}#sha256=${d.sha256}">${escapeHtml(d.file)}</a>`,
      );
      return html(page(`Links for ${project}`, links));
    }

    const fileMatch = /^\/files\/([^/]+)$/.exec(urlPath);
    let dist: Distribution | undefined;
    try {
      dist = fileMatch ? byFile.get(decodeURIComponent(fileMatch[1] ?? '')) : undefined;
    } catch {
      dist = undefined;
    }
    if (!dist) return send(404, 'not found\n');
    // Cacheable the way files.pythonhosted.org serves them: pip's HTTP cache (the pip-cache
    // layer) stores a download only when the response allows it, and a rebuild that adds one
    // requirement must fetch just that one file, here as against PyPI.
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': dist.size,
      'Cache-Control': 'public, max-age=31536000, immutable',
      ETag: `"${dist.sha256}"`,
    });
    if (method === 'HEAD') return res.end();
    const stream = fs.createReadStream(path.join(root, dist.file));
    stream.on('data', (chunk) => {
      bytes += chunk.length;
    });
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/simple/`;
  const credentials = options.basicAuth
    ? `${encodeURIComponent(options.basicAuth.user)}:${encodeURIComponent(options.basicAuth.password)}@`
    : '';
  const urlWithCredentials = `http://${credentials}127.0.0.1:${port}/simple/`;

  return {
    url,
    urlWithCredentials,
    pipEnv: () => ({ PIP_INDEX_URL: urlWithCredentials, PIP_TRUSTED_HOST: '127.0.0.1' }),
    port,
    root,
    projects: () => [...byProject.keys()].sort(),
    requests: () => log.map((entry) => ({ ...entry })),
    downloads: () =>
      log
        .filter((e) => e.method === 'GET' && e.status === 200 && e.path.startsWith('/files/'))
        .filter((e) => e.bytes === byFile.get(decodeURIComponent(e.path.slice('/files/'.length)))?.size)
        .map((e) => decodeURIComponent(e.path.slice('/files/'.length))),
    clearLog: () => {
      log = [];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
