/**
 * A real OCI registry on loopback for the end-to-end tests: Debian's `docker-registry`
 * (distribution/distribution 2.8), started with a temp config on a free port of 127.0.0.1 and its
 * storage in a temp dir, both removed by close(). It speaks plain HTTP, so clients must treat it as
 * insecure: the lifecycle through CNB_INSECURE_REGISTRIES=<host>, skopeo through
 * --src-tls-verify=false / --dest-tls-verify=false. No auth (anonymous push and pull).
 *
 *   const registry = await startRegistry();
 *   registry.host            // "127.0.0.1:41234"
 *   registry.ref('app')      // "127.0.0.1:41234/app:latest"
 *   await registry.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Registry {
  /** host:port, e.g. 127.0.0.1:41234 */
  host: string;
  port: number;
  /** Root of the registry's filesystem storage. */
  storageDir: string;
  /** `<host>/<repo>:<tag>` (tag default latest). */
  ref(repo: string, tag?: string): string;
  /** The registry's own log (stdout and stderr). */
  log(): string;
  /** Tags of a repository, from the registry API ([] when the repository does not exist). */
  tags(repo: string): Promise<string[]>;
  close(): Promise<void>;
}

export interface RegistryOptions {
  /** docker-registry binary (default: `docker-registry` on PATH, i.e. /usr/bin/docker-registry). */
  binary?: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

function registryConfig(port: number, storageDir: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    'health:',
    '  storagedriver:',
    '    enabled: false',
    '',
  ].join('\n');
}

export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-registry-'));
  const storageDir = path.join(root, 'storage');
  fs.mkdirSync(storageDir);
  let lastError: unknown;
  // A free port can be taken between freePort() and the registry's bind: try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const configFile = path.join(root, 'config.yml');
    fs.writeFileSync(configFile, registryConfig(port, storageDir));
    let log = '';
    const child: ChildProcess = spawn(options.binary ?? 'docker-registry', ['serve', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root },
    });
    let exited: number | null | undefined;
    child.on('exit', (code) => (exited = code));
    child.on('error', (err) => {
      lastError = err;
      exited = -1;
    });
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (log += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (log += c));

    const host = `127.0.0.1:${port}`;
    const deadline = Date.now() + 15000;
    let up = false;
    while (Date.now() < deadline && exited === undefined) {
      try {
        const r = await httpGet(`http://${host}/v2/`);
        if (r.status === 200) {
          up = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!up) {
      child.kill('SIGKILL');
      lastError = lastError ?? new Error(`docker-registry did not answer on ${host} (exit ${exited}):\n${log}`);
      continue;
    }
    const registry: Registry = {
      host,
      port,
      storageDir,
      ref: (repo, tag = 'latest') => `${host}/${repo}:${tag}`,
      log: () => log,
      async tags(repo) {
        const r = await httpGet(`http://${host}/v2/${repo}/tags/list`);
        if (r.status === 404) return [];
        if (r.status !== 200) throw new Error(`GET /v2/${repo}/tags/list: HTTP ${r.status} ${r.body}`);
        return (JSON.parse(r.body) as { tags?: string[] | null }).tags ?? [];
      },
      close: () =>
        new Promise<void>((resolve) => {
          const done = () => {
            fs.rmSync(root, { recursive: true, force: true });
            resolve();
          };
          if (exited !== undefined) return done();
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(timer);
            done();
          });
          child.kill('SIGTERM');
        }),
    };
    return registry;
  }
  fs.rmSync(root, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error(`could not start docker-registry: ${String(lastError)}`);
}
