/**
 * End-to-end image helpers (test/e2e/): build an app with the REAL lifecycle and export it to a
 * registry (test/helpers/registry.ts) instead of an OCI layout, pull and unpack the exported image,
 * and start one of its processes the way a container runtime would: through the CNB launcher
 * (/cnb/process/<type>), chrooted into the unpacked root filesystem, in its own mount and PID
 * namespaces, as the image's user (uid 1002, the run user), with the image config's env and PORT.
 *
 * Nothing here replaces a lifecycle phase: runRegistryBuild() calls runPhase() of
 * test/helpers/lifecycle.ts for analyzer, detector, restorer, builder and exporter, with registry
 * references and CNB_INSECURE_REGISTRIES=<registry host> (the registry speaks plain HTTP).
 *
 * API:
 *   e2eRunImageLayout() -> path of the OCI layout made by test/setup/e2e-run-image.sh (cached)
 *   pushRunImage(registry, repo?) -> ref of the run image pushed to the registry (skopeo copy)
 *   runRegistryBuild(scenario, { registry, image, runImage }) -> RegistryBuildResult
 *   pullImage(ref, dir) -> PulledImage (skopeo copy to an OCI layout; umoci unpack as root)
 *   startProcess(rootfs, type, { port }) -> RunningProcess   (any process type; or { command } through the launcher)
 *   startWebProcess(rootfs, { port }) -> { msToFirst200, response, stop(), output() }
 *       the time from starting the container to the first HTTP 200 on 127.0.0.1:<port>
 *       (used by the benchmark too).
 *
 * Needs root (chroot, mount, unshare, umoci unpack keeping the layers' owners), skopeo, umoci and
 * util-linux's unshare (scripts/setup.sh installs them).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as TOML from '@iarna/toml';
import {
  BUILD_UID,
  CNB_GID,
  REPO_ROOT,
  RUN_UID,
  PHASES,
  lifecycleDir,
  runPhases,
  type LogLevel,
  type PhaseName,
  type PhasesResult,
  type Scenario,
} from './lifecycle';
import type { Registry } from './registry';

export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
export const E2E_RUN_REPO = 'python-cnb/e2e-run';

function run(command: string, args: string[], what: string, options: { timeoutMs?: number } = {}): string {
  const r = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 10 * 60 * 1000 });
  if (r.status !== 0) {
    throw new Error(`${what} failed (${command} ${args.join(' ')}: exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

// -- run image ---------------------------------------------------------------------------------

/** The e2e run image's OCI layout (tag latest), made once per machine by test/setup/e2e-run-image.sh. */
export function e2eRunImageLayout(): string {
  if (process.env.E2E_RUN_IMAGE_DIR) return process.env.E2E_RUN_IMAGE_DIR;
  const out = run('bash', [path.join(REPO_ROOT, 'test', 'setup', 'e2e-run-image.sh')], 'making the e2e run image (test/setup/e2e-run-image.sh)');
  const dir = out.trim().split('\n').pop()!;
  process.env.E2E_RUN_IMAGE_DIR = dir;
  return dir;
}

/** skopeo copy with TLS verification off for registry ends (the test registry is plain HTTP on loopback). */
export function skopeoCopy(from: string, to: string): string {
  const args = ['copy', '--quiet', '--insecure-policy'];
  if (from.startsWith('docker://')) args.push('--src-tls-verify=false');
  if (to.startsWith('docker://')) args.push('--dest-tls-verify=false');
  // The lifecycle pushes Docker media types; umoci unpacks only OCI ones.
  if (to.startsWith('oci:')) args.push('--format', 'oci');
  return run('skopeo', [...args, from, to], `skopeo copy ${from} ${to}`);
}

/** Pushes the e2e run image to the registry; returns its reference (<host>/python-cnb/e2e-run:latest). */
export function pushRunImage(registry: Registry, repo: string = E2E_RUN_REPO): string {
  const ref = registry.ref(repo);
  // As Docker media types, like the run images on Docker Hub: the lifecycle keeps the base's
  // manifest type and appends Docker layer types, so an OCI base would give a mixed manifest
  // that umoci refuses to unpack.
  run('skopeo', ['copy', '--quiet', '--insecure-policy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${e2eRunImageLayout()}:latest`, `docker://${ref}`], `pushing the run image to ${ref}`);
  return ref;
}

// -- build -------------------------------------------------------------------------------------

export interface RegistryBuildOptions {
  registry: Registry;
  /** The app image reference to export (<host>/<repo>:<tag>); also the previous image of a rebuild. */
  image: string;
  /** The run image reference (see pushRunImage). */
  runImage: string;
  logLevel?: LogLevel;
  /** Extra env for the phase processes. */
  env?: Record<string, string>;
  /** Per-phase timeout (default 10 minutes; a build that compiles CPython needs more). */
  timeoutMs?: number;
}

export interface RegistryBuildResult extends PhasesResult {
  /** <layers>/report.toml, written by the exporter (image digest, tags). */
  report?: { image?: { tags?: string[]; digest?: string; 'image-id'?: string; manifest?: { size?: number } } };
  durationMs: number;
}

function copyApp(s: Scenario): void {
  fs.rmSync(s.appDir, { recursive: true, force: true });
  run('cp', ['-a', '--', s.sourceDir, s.appDir], 'copying the app');
  if (IS_ROOT) run('chown', ['-R', '--no-dereference', `${BUILD_UID}:${CNB_GID}`, s.appDir], 'chown of the app');
}

function resetLayers(s: Scenario): void {
  fs.rmSync(s.layersDir, { recursive: true, force: true });
  fs.mkdirSync(s.layersDir, { recursive: true });
  if (IS_ROOT) fs.chownSync(s.layersDir, BUILD_UID, CNB_GID);
}

/**
 * One build in the platform order (as `creator` runs it: analyzer, detector, restorer, builder,
 * exporter), like runBuild() of lifecycle.ts but with the images in a registry: the analyzer finds
 * the previous app image and the run image there, the exporter pushes the app image there. The
 * layer cache is the scenario's cache dir (-cache-dir), so a second build on the same scenario is a
 * rebuild. Starts from an empty layers dir and a fresh copy of the app, as pack does.
 */
export async function runRegistryBuild(s: Scenario, options: RegistryBuildOptions): Promise<RegistryBuildResult> {
  const started = Date.now();
  const logLevel = options.logLevel ?? 'info';
  copyApp(s);
  resetLayers(s);
  const analyzed = path.join(s.layersDir, 'analyzed.toml');
  const group = path.join(s.layersDir, 'group.toml');
  const plan = path.join(s.layersDir, 'plan.toml');
  const report = path.join(s.layersDir, 'report.toml');
  const common = ['-layers', s.layersDir, '-analyzed', analyzed, '-log-level', logLevel, '-no-color'];
  const argsFor: Record<PhaseName, string[]> = {
    analyzer: [...common, '-run-image', options.runImage, options.image],
    detector: [
      '-app', s.appDir, '-buildpacks', s.buildpacksDir, '-order', s.orderPath, '-platform', s.platformDir,
      '-layers', s.layersDir, '-analyzed', analyzed, '-group', group, '-plan', plan, '-log-level', 'debug', '-no-color',
    ],
    restorer: [...common, '-group', group, '-cache-dir', s.cacheDir],
    builder: [...common, '-app', s.appDir, '-buildpacks', s.buildpacksDir, '-group', group, '-plan', plan, '-platform', s.platformDir],
    exporter: [
      ...common,
      '-app', s.appDir,
      '-group', group,
      '-cache-dir', s.cacheDir,
      '-launcher', path.join(lifecycleDir(), 'launcher'),
      '-report', report,
      options.image,
    ],
  };
  const env = {
    CNB_INSECURE_REGISTRIES: options.registry.host,
    // Anonymous access to the test registry; never the host's ~/.docker/config.json.
    CNB_REGISTRY_AUTH: '{}',
    ...options.env,
  };
  const result: RegistryBuildResult = { ...(await runPhases(PHASES, (phase) => argsFor[phase], { env, timeoutMs: options.timeoutMs })), durationMs: 0 };
  if (fs.existsSync(report)) result.report = TOML.parse(fs.readFileSync(report, 'utf8')) as RegistryBuildResult['report'];
  result.durationMs = Date.now() - started;
  return result;
}

// -- pull and unpack ---------------------------------------------------------------------------

export interface ImageConfig {
  config?: {
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    Labels?: Record<string, string>;
    User?: string;
    WorkingDir?: string;
  };
}

export interface PulledImage {
  ref: string;
  /** The OCI layout skopeo wrote (tag latest). */
  layoutDir: string;
  /** The runtime bundle umoci unpacked: config.json and rootfs/. */
  bundleDir: string;
  rootfs: string;
  /** The manifest digest in the registry (what the exporter's report.toml names). */
  registryDigest: string;
  /** The manifest digest in the local OCI layout (skopeo converted the Docker manifest to OCI). */
  manifestDigest: string;
  /** The image's env (config Env) as a record. */
  env: Record<string, string>;
  /**
   * Paths inside the image of the layers and the app: the image's CNB_LAYERS_DIR / CNB_APP_DIR.
   * The harness builds on host directories, and the exporter keeps absolute layer paths, so these
   * are the scenario's <root>/layers and <root>/app (a platform such as pack uses /layers and
   * /workspace). Join them to `rootfs` to look at the files.
   */
  layersDir: string;
  appDir: string;
  config: ImageConfig;
  labels: Record<string, string>;
  /** io.buildpacks.build.metadata, parsed (processes, buildpacks, launcher). */
  buildMetadata?: {
    processes?: Array<{ type: string; command: string[]; args?: string[]; direct?: boolean; buildpackID?: string }>;
    buildpacks?: Array<{ id: string; version: string }>;
  };
  /** Removes the layout and the bundle. */
  cleanup(): void;
}

function readBlob(layoutDir: string, digest: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(layoutDir, 'blobs', ...digest.split(':')), 'utf8'));
}

/** Reads the image config of the only (or `latest`) manifest of an OCI layout. */
export function readLayoutImage(layoutDir: string): { manifestDigest: string; manifest: { layers: Array<{ digest: string; size: number }> }; config: ImageConfig } {
  const index = JSON.parse(fs.readFileSync(path.join(layoutDir, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'latest') ?? index.manifests[0];
  if (!entry) throw new Error(`${layoutDir}: no manifest`);
  const manifest = readBlob(layoutDir, entry.digest) as { config: { digest: string }; layers: Array<{ digest: string; size: number }> };
  return { manifestDigest: entry.digest, manifest, config: readBlob(layoutDir, manifest.config.digest) as ImageConfig };
}

/**
 * Pulls `ref` from the (insecure) test registry into <dir>/layout and unpacks it into
 * <dir>/bundle/rootfs with umoci (as root, so file owners are the image's: the layers stay
 * 1001:1000, read-only for the run user).
 */
export function pullImage(ref: string, dir: string): PulledImage {
  const layoutDir = path.join(dir, 'layout');
  const bundleDir = path.join(dir, 'bundle');
  fs.rmSync(layoutDir, { recursive: true, force: true });
  fs.rmSync(bundleDir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  skopeoCopy(`docker://${ref}`, `oci:${layoutDir}:latest`);
  const inspected = JSON.parse(run('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], `skopeo inspect ${ref}`)) as { Digest: string };
  run('umoci', ['unpack', ...(IS_ROOT ? [] : ['--rootless']), '--image', `${layoutDir}:latest`, bundleDir], `umoci unpack ${ref}`);
  const { manifestDigest, config } = readLayoutImage(layoutDir);
  const labels = config.config?.Labels ?? {};
  const rawBuild = labels['io.buildpacks.build.metadata'];
  const env = envListToRecord(config.config?.Env ?? []);
  return {
    ref,
    layoutDir,
    bundleDir,
    rootfs: path.join(bundleDir, 'rootfs'),
    registryDigest: inspected.Digest,
    manifestDigest,
    env,
    layersDir: env.CNB_LAYERS_DIR ?? '/layers',
    appDir: env.CNB_APP_DIR ?? '/workspace',
    config,
    labels,
    ...(rawBuild ? { buildMetadata: JSON.parse(rawBuild) } : {}),
    cleanup() {
      fs.rmSync(layoutDir, { recursive: true, force: true });
      fs.rmSync(bundleDir, { recursive: true, force: true });
    },
  };
}

// -- run ---------------------------------------------------------------------------------------

export interface StartOptions {
  /** PORT for the process (default: none set, the buildpack's default 8080 applies). */
  port?: number;
  /** Env of the container; default: the image's (umoci's bundle config.json, i.e. the image config Env). */
  env?: Record<string, string>;
  /** Extra env on top (as `docker run -e`). */
  extraEnv?: Record<string, string>;
  /** user uid:gid; default the image's User (bundle config.json), else 1002:1000. */
  user?: { uid: number; gid: number };
  /** Echo the process output to this stream as it arrives (e.g. process.stderr). */
  echo?: NodeJS.WritableStream;
  /** Run this command through the launcher (`/cnb/lifecycle/launcher -- <command>`, as
   *  `docker run --entrypoint launcher <image> -- <command>` does) instead of process `type`. */
  command?: string[];
}

export interface RunningProcess {
  child: ChildProcess;
  /** Wall-clock ms (Date.now()) when the container was started. */
  startedAt: number;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal) once the container is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM to the container's init (its PID 1), SIGKILL after graceMs (default 5000). */
  stop(graceMs?: number): Promise<void>;
}

interface BundleConfig {
  process?: { env?: string[]; cwd?: string; user?: { uid?: number; gid?: number }; args?: string[] };
}

function readBundleConfig(rootfs: string): BundleConfig | undefined {
  const file = path.join(path.dirname(rootfs), 'config.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as BundleConfig) : undefined;
}

function envListToRecord(list: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of list) {
    const i = entry.indexOf('=');
    if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return env;
}

function homeOf(rootfs: string, uid: number): string {
  try {
    for (const line of fs.readFileSync(path.join(rootfs, 'etc', 'passwd'), 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 6 && Number(f[2]) === uid && f[5]) return f[5];
    }
  } catch {
    // no passwd
  }
  return '/';
}

/** The host pid of the container's init (the child unshare forked), if it is still there. */
function initPid(unsharePid: number): number | undefined {
  try {
    const children = fs.readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return children.length ? Number(children[0]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts process `type` of the unpacked image at `rootfs` as a container would: the CNB launcher
 * through /cnb/process/<type>, in new mount and PID namespaces (`unshare --mount --pid --fork`),
 * chrooted into rootfs with the host's /dev bound in and a fresh /proc, as the image's user with
 * only the image's env (plus PORT), in its WorkingDir. The host's network is shared, so the app
 * is reachable on 127.0.0.1:<port>.
 */
export function startProcess(rootfs: string, type: string, options: StartOptions = {}): RunningProcess {
  if (!IS_ROOT) throw new Error('startProcess needs root (unshare, mount, chroot)');
  const bundle = readBundleConfig(rootfs);
  const user = options.user ?? {
    uid: bundle?.process?.user?.uid ?? RUN_UID,
    gid: bundle?.process?.user?.gid ?? CNB_GID,
  };
  const env: Record<string, string> = {
    ...(options.env ?? envListToRecord(bundle?.process?.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'])),
  };
  env.HOME ??= homeOf(rootfs, user.uid);
  env.HOSTNAME ??= 'python-cnb-e2e';
  if (options.port !== undefined) env.PORT = String(options.port);
  Object.assign(env, options.extraEnv ?? {});
  const cwd = bundle?.process?.cwd || '/workspace';
  const entry = options.command ? '/cnb/lifecycle/launcher' : `/cnb/process/${type}`;
  if (!fs.existsSync(path.join(rootfs, entry)) && !fs.lstatSync(path.join(rootfs, entry), { throwIfNoEntry: false })) {
    throw new Error(`${rootfs}: the image has no ${entry}`);
  }

  const script = [
    'set -e',
    'R="$1"; shift',
    'mount --rbind /dev "$R/dev"',
    'mount -t proc proc "$R/proc"',
    'exec chroot "$@"',
  ].join('\n');
  const args = [
    '--mount', '--pid', '--fork', '--kill-child', '--propagation', 'private', '--',
    '/bin/sh', '-c', script, 'container', rootfs,
    `--userspec=${user.uid}:${user.gid}`, rootfs,
    '/usr/bin/env', '-i', '-C', cwd, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), entry,
    ...(options.command ? ['--', ...options.command] : []),
  ];
  const startedAt = Date.now();
  const child = spawn('unshare', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  let output = '';
  const onData = (c: string) => {
    output += c;
    options.echo?.write(c);
  };
  child.stdout!.setEncoding('utf8').on('data', onData);
  child.stderr!.setEncoding('utf8').on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      output += `\n${err.message}\n`;
      resolve({ code: -1, signal: null });
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    child,
    startedAt,
    output: () => output,
    exited,
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        // unshare --fork ignores SIGTERM itself; the container's init (PID 1 of the new PID
        // namespace) is its child. As PID 1 it ignores signals it has no handler for (a plain
        // `python worker.py` has none for SIGTERM), and --kill-child's parent-death signal does
        // not survive chroot --userspec's change of credentials, so SIGKILL goes to the init
        // itself after the grace period: the kernel then kills everything in its namespace.
        const init = child.pid ? initPid(child.pid) : undefined;
        const signal = (sig: NodeJS.Signals) => {
          try {
            if (init) process.kill(init, sig);
          } catch {
            // already gone
          }
        };
        signal('SIGTERM');
        const timer = setTimeout(() => {
          signal('SIGKILL');
          child.kill('SIGKILL');
        }, graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

export interface HttpResponse {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function httpGet(url: string, timeoutMs = 5000): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export interface WebProcess extends RunningProcess {
  /** ms from starting the container to the first HTTP 200 on 127.0.0.1:<port><path>. */
  msToFirst200: number;
  /** That first 200 response. */
  response: HttpResponse;
}

export interface StartWebOptions extends StartOptions {
  port: number;
  /** Path polled for the first 200 (default /). */
  path?: string;
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** Poll interval (default 10 ms). */
  intervalMs?: number;
}

/**
 * Starts the image's default `web` process (/cnb/process/web) with PORT=<port> and waits for the
 * first HTTP 200 on http://127.0.0.1:<port><path>. Rejects (after stopping the container) when the
 * process exits first or nothing answers 200 in time; the error carries the process output.
 */
export async function startWebProcess(rootfs: string, options: StartWebOptions): Promise<WebProcess> {
  const proc = startProcess(rootfs, 'web', options);
  const url = `http://127.0.0.1:${options.port}${options.path ?? '/'}`;
  const deadline = proc.startedAt + (options.timeoutMs ?? 60000);
  let gone = false;
  void proc.exited.then(() => (gone = true));
  let last = 'no answer';
  while (!gone && Date.now() < deadline) {
    try {
      const r = await httpGet(url, 2000);
      if (r.status === 200) return { ...proc, msToFirst200: Date.now() - proc.startedAt, response: r };
      last = `HTTP ${r.status}: ${r.body.slice(0, 500)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 10));
  }
  await proc.stop();
  const how = gone ? `the process exited (${JSON.stringify(await proc.exited)})` : `no HTTP 200 within ${options.timeoutMs ?? 60000} ms`;
  throw new Error(`${url}: ${how}; last: ${last}\n--- process output ---\n${proc.output()}`);
}

// -- inspection --------------------------------------------------------------------------------

/** Paths (relative to rootfs) of the *.pyc files under rootfs/<sub>, optionally only those newer than `marker`. */
export function findPyc(rootfs: string, sub: string, newerThan?: string): string[] {
  const dir = path.join(rootfs, sub);
  if (!fs.existsSync(dir)) return [];
  const args = [dir, '-name', '*.pyc', ...(newerThan ? ['-newer', newerThan] : [])];
  return run('find', args, `find ${dir}`)
    .split('\n')
    .filter(Boolean)
    .map((p) => path.relative(rootfs, p))
    .sort();
}

/** What `python -v -c "import <modules>"` did as the run user through the launcher (60 s at most). */
export async function verboseImports(image: PulledImage, modules: readonly string[]): Promise<{ code: number | null; output: string; lines: string[] }> {
  const proc = startProcess(image.rootfs, 'web', { command: ['python', '-v', '-c', `import ${modules.join(', ')}`] });
  const timer = setTimeout(() => void proc.stop(), 60_000);
  const { code } = await proc.exited;
  clearTimeout(timer);
  const output = proc.output();
  return { code, output, lines: output.split('\n') };
}

/**
 * Lines of `python -v` that say a module was NOT loaded from valid bytecode. Python 3: "bytecode is
 * stale", "doesn't match hash", "code object from <x.py>" (compiled from source), "wrote" or "could
 * not create" (a .pyc written or attempted). Python 2: "<x.pyc> has bad mtime", "import x # from
 * <x.py>" (compiled from source), "can't create".
 */
export function notFromBytecode(lines: readonly string[]): string[] {
  return lines.filter((l) => /bytecode is stale|doesn't match hash|^# code object from [^']|^# wrote |^# could not create |has bad mtime|^import \S+ # from \S+\.py$|^# can't create /.test(l));
}

/** The .pyc files `python -v` says modules were loaded from (Python 3: "code object from '<pyc>'"; 2: "# precompiled from <pyc>"). */
export function loadedFromBytecode(lines: readonly string[]): string[] {
  return lines.flatMap((l) => /^# code object from '(.*\.pyc)'$/.exec(l)?.[1] ?? /^import \S+ # precompiled from (\S+\.pyc)$/.exec(l)?.[1] ?? []);
}

/**
 * Shared libraries that do not resolve inside the image, for each ELF file given (paths inside the
 * image): `ldd` run in a chroot of the rootfs. Returns "file: lib => not found" lines.
 */
export function missingLibraries(rootfs: string, files: string[]): string[] {
  if (!IS_ROOT) throw new Error('missingLibraries needs root (chroot)');
  const missing: string[] = [];
  for (const file of files) {
    const r = spawnSync('/usr/sbin/chroot', [rootfs, '/usr/bin/ldd', file], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
    if (r.error) throw r.error;
    for (const line of `${r.stdout}${r.stderr}`.split('\n')) if (/not found/.test(line)) missing.push(`${file}: ${line.trim()}`);
    if (r.status !== 0 && !r.stdout) missing.push(`${file}: ldd exit ${r.status}: ${r.stderr.trim()}`);
  }
  return missing;
}

/** The exporter's (lifecycle's or pack's) "Adding layer" / "Reusing layer" lines for our buildpack's layers. */
export function layerLines(exportLog: string): { added: string[]; reused: string[] } {
  const added: string[] = [];
  const reused: string[] = [];
  for (const m of exportLog.matchAll(/(Adding|Reusing) layer 'python-cnb\/python:([^']+)'/g)) (m[1] === 'Adding' ? added : reused).push(m[2]!);
  return { added: added.sort(), reused: reused.sort() };
}
