/**
 * The pack tier's tools: real `pack` (scripts/setup-pack.sh built it) against podman's Docker API,
 * the builders in the loopback registry, and `podman run --network host` to start what pack built.
 * The loopback sources (runtime mirror, package index) are the other tiers' (test/helpers/): the
 * runtime manifest reaches the build through a read-only volume, as an operator would mount one.
 *
 *   const env = packEnv();                 // PACK_BIN, builders, DOCKER_HOST, CONTAINERS_* ...
 *   const sources = await startPackSources();
 *   const r = await packBuild({ image, app, builder: env.PACK_BUILDER_FULL, trust: true, sources });
 *   const web = await runWeb(image);      // podman run --network host, until the first HTTP 200
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { httpGet } from '../helpers/image';
export { layerLines } from '../helpers/image';
import { startMirror, writeRuntimeManifest, type Mirror } from '../helpers/mirror';
import { startPackageIndex, type PackageIndex } from '../helpers/package-index';
import { freePort } from '../helpers/registry';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const IS_ROOT = process.getuid?.() === 0;
/** `describe` where the pack tier can run (root: podman's storage, debootstrapped images), else skipped. */
export function describePack(name: string, body: () => void): void {
  (IS_ROOT ? describe : describe.skip)(name, body);
}

export interface PackEnv {
  PACK_DIR: string;
  PACK_BIN: string;
  PACK_REGISTRY: string;
  PACK_BUILDER_FULL: string;
  PACK_BUILDER_MINIMAL: string;
  PACK_LIFECYCLE_IMAGE: string;
  PACK_RUN_IMAGE: string;
  PACK_RUN_IMAGE_2: string;
  CONTAINERS_CONF: string;
  CONTAINERS_STORAGE_CONF: string;
  CONTAINERS_REGISTRIES_CONF: string;
  DOCKER_HOST: string;
  PACK_HOME: string;
  PACK_VOLUME_KEY: string;
}

let cached: PackEnv | undefined;
/** The variables scripts/pack-env.sh defines (the same paths setup and the demo use). */
export function packEnv(): PackEnv {
  if (cached) return cached;
  const r = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'pack-env.sh'), 'env'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/pack-env.sh env failed: ${r.stderr}`);
  cached = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) as unknown as PackEnv;
  return cached;
}

function processEnv(): NodeJS.ProcessEnv {
  const e = packEnv();
  return { ...process.env, CONTAINERS_CONF: e.CONTAINERS_CONF, CONTAINERS_STORAGE_CONF: e.CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF: e.CONTAINERS_REGISTRIES_CONF, DOCKER_HOST: e.DOCKER_HOST, PACK_HOME: e.PACK_HOME, PACK_VOLUME_KEY: e.PACK_VOLUME_KEY };
}

export interface CommandResult {
  status: number;
  output: string;
  ms: number;
}

/** Runs a command with the pack tier's env; stdout and stderr together, in order. */
export function runCommand(command: string, args: string[], timeoutMs = 480000): CommandResult {
  const started = Date.now();
  const r = spawnSync('sh', ['-c', '"$@" 2>&1', 'sh', command, ...args], { encoding: 'utf8', env: processEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status ?? -1, output: `${r.stdout ?? ''}${r.error ? `\n${r.error.message}` : ''}`, ms: Date.now() - started };
}

/**
 * The same, without blocking: the loopback mirror and index run in this process and must answer
 * while pack builds (spawnSync would stall them).
 */
export function runCommandAsync(command: string, args: string[], timeoutMs = 480000): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: processEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (c: Buffer) => (output += c.toString('utf8'));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      output += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, output, ms: Date.now() - started });
    });
  });
}

/** Runs a command that must succeed; returns its output. */
export function mustRun(command: string, args: string[], timeoutMs?: number): string {
  const r = runCommand(command, args, timeoutMs);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${r.status}):\n${r.output}`);
  return r.output;
}

export function podman(...args: string[]): string {
  return mustRun('podman', args).trim();
}

export interface PackSources {
  mirror: Mirror;
  index: PackageIndex;
  /** Host directory holding manifest.toml, mounted read-only into the build. */
  manifestDir: string;
  close(): Promise<void>;
}

const MANIFEST_MOUNT = '/python-cnb-test-manifest';

export async function startPackSources(): Promise<PackSources> {
  // PACK_TEST_RUNTIMES: another runtime fixture dir (regenerated archives under trial).
  const [mirror, index] = await Promise.all([startMirror(process.env.PACK_TEST_RUNTIMES ? { root: process.env.PACK_TEST_RUNTIMES } : {}), startPackageIndex()]);
  const manifestDir = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-pack-manifest-'));
  fs.chmodSync(manifestDir, 0o755);
  await writeRuntimeManifest(mirror, path.join(manifestDir, 'manifest.toml'));
  fs.chmodSync(path.join(manifestDir, 'manifest.toml'), 0o644);
  return {
    mirror,
    index,
    manifestDir,
    async close() {
      await Promise.all([mirror.close(), index.close()]);
      fs.rmSync(manifestDir, { recursive: true, force: true });
    },
  };
}

export interface PackSuite {
  sources: PackSources;
  /** "<what> <ms> ms" entries, printed after the file's tests (for the lead's CI budget). */
  timings: string[];
}

/** Loopback sources for one test file's builds, its timings printed and its images removed after. */
export function packSuite(label: string, images: string[]): PackSuite {
  const suite = { timings: [] as string[] } as PackSuite;
  beforeAll(async () => {
    suite.sources = await startPackSources();
  });
  afterAll(async () => {
    process.stderr.write(`pack tier timings (${label}): ${suite.timings.join(', ')}\n`);
    await suite.sources?.close();
    runCommand('podman', ['rmi', '-f', ...images]);
  });
  return suite;
}

export interface PackBuildOptions {
  image: string;
  app: string;
  builder: string;
  sources: PackSources;
  /** --trust-builder (one creator container) or untrusted (five containers, the lifecycle image). */
  trust: boolean;
  /** --buildpack: a .cnb file or a buildpack directory (default: the builder's own). */
  buildpack?: string;
  publish?: boolean;
  /** --clear-cache: a cold build (with no previous image, nothing is reused). */
  clearCache?: boolean;
  /** More platform env (--env K=V). */
  env?: Record<string, string>;
}

export function packBuild(o: PackBuildOptions): Promise<CommandResult> {
  const e = packEnv();
  const args = ['build', o.image, '--path', o.app, '--builder', o.builder, '--network', 'host', '--docker-host', 'inherit', '--pull-policy', 'always', '--timestamps', '--no-color'];
  args.push('--volume', `${o.sources.manifestDir}:${MANIFEST_MOUNT}:ro`, '--env', `BP_PYTHON_MANIFEST=${MANIFEST_MOUNT}/manifest.toml`);
  for (const [k, v] of Object.entries(o.sources.index.pipEnv())) args.push('--env', `${k}=${v}`);
  for (const [k, v] of Object.entries(o.env ?? {})) args.push('--env', `${k}=${v}`);
  args.push(...(o.trust ? ['--trust-builder'] : ['--lifecycle-image', e.PACK_LIFECYCLE_IMAGE]));
  // A trusted builder with an added buildpack stays trusted (one creator container) only with
  // --trust-extra-buildpacks; else pack falls back to five containers and Docker Hub's lifecycle image.
  if (o.buildpack) args.push('--buildpack', o.buildpack, ...(o.trust ? ['--trust-extra-buildpacks'] : []));
  if (o.publish) args.push('--publish', '--insecure-registry', e.PACK_REGISTRY);
  if (o.clearCache) args.push('--clear-cache');
  return runCommandAsync(e.PACK_BIN, args);
}

/** The image's layer digests (diff IDs, in order) in podman's storage, as one JSON string. */
export function imageLayers(image: string): string {
  return podman('image', 'inspect', '--format', '{{json .RootFS.Layers}}', image);
}

export interface RunningWeb {
  port: number;
  /** From `podman run` to the first HTTP 200 on the port. */
  msToFirst200: number;
  body: string;
  stop(): string;
}

/** `podman run --network host -e PORT=<port, default a free one>` of the image's default process, until it answers 200. */
export async function runWeb(image: string, options: { port?: number; timeoutMs?: number } = {}): Promise<RunningWeb> {
  const port = options.port ?? (await freePort());
  const timeoutMs = options.timeoutMs ?? 60000;
  const name = `python-cnb-pack-${port}`;
  const started = Date.now();
  podman('run', '-d', '--rm', '--network', 'host', '--name', name, '-e', `PORT=${port}`, image);
  const stop = () => {
    const logs = runCommand('podman', ['logs', name]).output;
    runCommand('podman', ['rm', '-f', '-t', '2', name]);
    return logs;
  };
  while (Date.now() - started < timeoutMs) {
    try {
      const r = await httpGet(`http://127.0.0.1:${port}/`, 2000);
      if (r.status === 200) return { port, msToFirst200: Date.now() - started, body: r.body, stop };
    } catch {
      // not listening yet
    }
    const state = runCommand('podman', ['inspect', '--format', '{{.State.Running}}', name]);
    if (state.status !== 0 || state.output.trim() !== 'true') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const logs = stop();
  throw new Error(`${image} did not answer HTTP 200 on 127.0.0.1:${port} within ${timeoutMs} ms; its output:\n${logs}`);
}

/** Runs a command in the image through the launcher (the app's env: PATH, the venv), as the image's user. */
export function runInImage(image: string, command: string[]): CommandResult {
  // `--`: the launcher execs the command as given (without it, it joins the args into a bash -c string).
  return runCommand('podman', ['run', '--rm', '--network', 'host', '--entrypoint', '/cnb/lifecycle/launcher', image, '--', ...command]);
}
