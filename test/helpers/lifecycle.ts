/**
 * Drives the REAL CNB lifecycle (v0.21.17, built by scripts/install-lifecycle.sh) on host
 * directories, the way a platform such as `pack` does, without Docker. Nothing here imitates the
 * lifecycle: every phase is the lifecycle binary itself.
 *
 * How it runs:
 * - `detector` and `builder` refuse to run as root, so every phase runs as the build user of a
 *   builder image (uid 1001, gid 1000; created by test/setup/users.sh) through `setpriv`, with
 *   CNB_USER_ID/CNB_GROUP_ID set to the same ids (analyzer, restorer and exporter call setresuid
 *   with them) and CNB_PLATFORM_API (default 0.15; override with the env var of that name).
 *   When the tests do not run as root, the phases run as the current user instead.
 * - A build is the platform order (Platform API >= 0.7, as `creator` does it): analyzer, detector,
 *   restorer (-cache-dir), builder, exporter (-cache-dir). The images live in an OCI layout
 *   (`-layout -layout-dir`, experimental, so CNB_EXPERIMENTAL_MODE=quiet): the run image made by
 *   test/setup/run-image.sh and the app image the exporter writes, which the next build's analyzer
 *   finds as the previous image. So a second runBuild on the same scenario is a real rebuild:
 *   metadata from the previous image, layer contents from the cache.
 * - Like pack, every build starts with an empty layers dir and a fresh copy of the app source
 *   (pack copies the app into a new volume per build); the cache dir and the layout persist.
 *
 * API (all paths absolute):
 *   createScenario(fixture, { env?, buildpackDir? }) -> Scenario
 *       a temp workspace (under os.tmpdir(), lower-case path, owned by uid 1001) holding source/ (the app the "user" edits), app/
 *       (what the lifecycle sees), layers/, platform/env/, cache/, layout/, buildpacks/ and
 *       order.toml. The buildpack under test is options.buildpackDir, else $TEST_BUILDPACK_DIR,
 *       else the repository root. Helpers: writeAppFile, removeAppFile, chmodAppFile, setEnv,
 *       unsetEnv, cleanup.
 *   runDetector(scenario, { logLevel?, env? }) -> DetectResult
 *       detector alone, at -log-level debug (so our detect output is in `output`); group.toml and
 *       plan.toml parsed (undefined when not written).
 *   runBuild(scenario, { upTo?, logLevel?, env?, freshLayers? }) -> BuildResult
 *       one full build; never throws on a failing phase: check `success`, `failedPhase`,
 *       `phases.<name>.exitCode`. `buildLog` is the builder's output (our buildpack's log),
 *       `exportLog` the exporter's ("Adding layer" / "Reusing layer"), `log` everything.
 *   readLayerToml(scenario, layer) / readLaunchToml(scenario) / readBuildToml(scenario) -> parsed TOML or undefined
 *   layerPath(scenario, layer) -> <layers>/<escaped buildpack id>/<layer>
 *   readAppImage(scenario) -> the exported image's manifest, config and labels (undefined before any export)
 *   cleanupScenarios() -> removes every scenario made in this test file (registered with afterAll
 *       automatically; KEEP_SCENARIOS=1 keeps them and prints where they are).
 *
 * Environment: CNB_LIFECYCLE_DIR (dir of the lifecycle binary and its phase links) and
 * CNB_RUN_IMAGE_DIR (the run image's OCI layout) are set by test/helpers/global-setup.ts; both
 * default to the repository's .cache/.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as TOML from '@iarna/toml';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const BUILD_UID = 1001;
export const RUN_UID = 1002;
export const CNB_GID = 1000;
export const PLATFORM_API = process.env.CNB_PLATFORM_API || '0.15';
export const IMAGE_NAME = 'python-cnb-app';
export const RUN_IMAGE_NAME = 'python-cnb-run';

const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
/** The uid/gid the phases run as. */
export const PHASE_UID = IS_ROOT ? BUILD_UID : (process.getuid?.() ?? BUILD_UID);
export const PHASE_GID = IS_ROOT ? CNB_GID : (process.getgid?.() ?? CNB_GID);

export const PHASES = ['analyzer', 'detector', 'restorer', 'builder', 'exporter'] as const;
export type PhaseName = (typeof PHASES)[number];
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export function lifecycleDir(): string {
  return process.env.CNB_LIFECYCLE_DIR || path.join(REPO_ROOT, '.cache', 'lifecycle');
}

export function runImageDir(): string {
  return process.env.CNB_RUN_IMAGE_DIR || path.join(REPO_ROOT, '.cache', 'run-image');
}

export function defaultBuildpackDir(): string {
  return path.resolve(process.env.TEST_BUILDPACK_DIR || REPO_ROOT);
}

export interface BuildpackRef {
  id: string;
  version: string;
  /** The id with "/" replaced by "_": the buildpack's dir under <buildpacks> and <layers>. */
  escapedId: string;
}

export function readBuildpackRef(buildpackDir: string): BuildpackRef {
  const descriptor = TOML.parse(fs.readFileSync(path.join(buildpackDir, 'buildpack.toml'), 'utf8')) as {
    buildpack?: { id?: string; version?: string };
  };
  const id = descriptor.buildpack?.id;
  const version = descriptor.buildpack?.version;
  if (!id || !version) throw new Error(`${buildpackDir}/buildpack.toml has no [buildpack] id and version`);
  return { id, version, escapedId: id.replace(/\//g, '_') };
}

export interface Scenario {
  fixture: string;
  root: string;
  /** The app as the user has it; edit it with the helpers below. Copied to appDir before each run. */
  sourceDir: string;
  /** The app as the lifecycle sees it (<app>, the workspace): inspect it after a build. */
  appDir: string;
  layersDir: string;
  platformDir: string;
  cacheDir: string;
  layoutDir: string;
  buildpacksDir: string;
  orderPath: string;
  /** The buildpack under test (what <buildpacks>/<id>/<version> links to). */
  buildpackDir: string;
  buildpack: BuildpackRef;
  /** <layers>/<escaped id>: CNB_LAYERS_DIR of our buildpack. */
  buildpackLayersDir: string;
  /** Writes (or overwrites) a file in the app source; parent dirs are created. */
  writeAppFile(relPath: string, content: string | Buffer, mode?: number): void;
  /** Removes a file or directory from the app source. */
  removeAppFile(relPath: string): void;
  /** chmods a path in the app source (kept when copied to appDir). */
  chmodAppFile(relPath: string, mode: number): void;
  /** Sets a platform env var (<platform>/env/<name>, written without a trailing newline). */
  setEnv(name: string, value: string): void;
  unsetEnv(name: string): void;
  cleanup(): void;
}

export interface CreateScenarioOptions {
  env?: Record<string, string>;
  buildpackDir?: string;
  /**
   * Build SQLite (the buildpack's default). Off unless asked for: compiling it takes 30-70 s on
   * this 2-core machine, which every scenario would pay on its first build; scenarios get
   * BP_PYTHON_SQLITE=false unless this is true or env sets BP_PYTHON_SQLITE itself. The sqlite tests opt in.
   */
  sqlite?: boolean;
}

const scenarios: Scenario[] = [];

function chownTree(target: string): void {
  if (!IS_ROOT) return;
  const r = spawnSync('chown', ['-R', '--no-dereference', `${BUILD_UID}:${CNB_GID}`, target], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`chown -R ${target} failed: ${r.stderr}`);
}

function copyTree(from: string, to: string): void {
  // cp -a keeps modes (a chmod 000 file stays unreadable) and symlinks as they are.
  fs.rmSync(to, { recursive: true, force: true });
  const r = spawnSync('cp', ['-a', '--', from, to], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cp -a ${from} ${to} failed: ${r.stderr}`);
  chownTree(to);
}

function insideDir(dir: string, relPath: string): string {
  const full = path.resolve(dir, relPath);
  if (full !== dir && !full.startsWith(dir + path.sep)) throw new Error(`${relPath} is outside ${dir}`);
  return full;
}

/**
 * Where scenarios go: os.tmpdir(), unless its path would not survive as part of an image reference.
 * In layout mode the lifecycle records the run image as `<layout-dir>/<registry>/<repo>/<tag>@<digest>`
 * and parses it back as a reference, which must be lower case (mkdtemp's random suffix is not).
 */
function scenarioBase(): string {
  const tmp = os.tmpdir();
  return /^[a-z0-9._/-]+$/.test(tmp) ? tmp : '/tmp';
}

export function fixtureDir(fixture: string): string {
  return path.join(REPO_ROOT, 'test', 'fixtures', 'apps', fixture);
}

export function createScenario(fixture: string, options: CreateScenarioOptions = {}): Scenario {
  const source = path.isAbsolute(fixture) ? fixture : fixtureDir(fixture);
  if (!fs.existsSync(source)) throw new Error(`no fixture app ${source}`);
  const buildpackDir = path.resolve(options.buildpackDir ?? defaultBuildpackDir());
  const buildpack = readBuildpackRef(buildpackDir);
  const runImage = runImageDir();
  if (!fs.existsSync(path.join(runImage, 'index.json'))) {
    throw new Error(`no run image at ${runImage}: run test/setup/run-image.sh (the integration globalSetup does)`);
  }

  const root = path.join(scenarioBase(), `python-cnb-${fixture.toLowerCase().replace(/[^a-z0-9.-]/g, '-')}-${randomBytes(5).toString('hex')}`);
  fs.mkdirSync(root, { mode: 0o755 });
  fs.chmodSync(root, 0o755);
  const s: Scenario = {
    fixture,
    root,
    sourceDir: path.join(root, 'source'),
    appDir: path.join(root, 'app'),
    layersDir: path.join(root, 'layers'),
    platformDir: path.join(root, 'platform'),
    cacheDir: path.join(root, 'cache'),
    layoutDir: path.join(root, 'layout'),
    buildpacksDir: path.join(root, 'buildpacks'),
    orderPath: path.join(root, 'order.toml'),
    buildpackDir,
    buildpack,
    buildpackLayersDir: path.join(root, 'layers', buildpack.escapedId),
    writeAppFile(relPath, content, mode) {
      const file = insideDir(s.sourceDir, relPath);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      if (mode !== undefined) fs.chmodSync(file, mode);
      chownTree(s.sourceDir);
    },
    removeAppFile(relPath) {
      fs.rmSync(insideDir(s.sourceDir, relPath), { recursive: true, force: true });
    },
    chmodAppFile(relPath, mode) {
      fs.chmodSync(insideDir(s.sourceDir, relPath), mode);
    },
    setEnv(name, value) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad env var name ${name}`);
      const file = path.join(s.platformDir, 'env', name);
      fs.writeFileSync(file, value);
      chownTree(file);
    },
    unsetEnv(name) {
      fs.rmSync(path.join(s.platformDir, 'env', name), { force: true });
    },
    cleanup() {
      if (process.env.KEEP_SCENARIOS === '1') return;
      // A test may have made files unreadable; root removes them anyway, a non-root user may need help.
      spawnSync('chmod', ['-R', 'u+rwX', root]);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };

  copyTree(source, s.sourceDir);
  for (const dir of [s.layersDir, path.join(s.platformDir, 'env'), s.cacheDir, path.join(s.buildpacksDir, buildpack.escapedId)]) {
    fs.mkdirSync(dir, { recursive: true });
  }
  fs.symlinkSync(buildpackDir, path.join(s.buildpacksDir, buildpack.escapedId, buildpack.version));
  fs.writeFileSync(
    s.orderPath,
    `[[order]]\n[[order.group]]\nid = ${JSON.stringify(buildpack.id)}\nversion = ${JSON.stringify(buildpack.version)}\n`,
  );
  const runImageInLayout = path.join(s.layoutDir, 'index.docker.io', 'library', RUN_IMAGE_NAME, 'latest');
  fs.mkdirSync(path.dirname(runImageInLayout), { recursive: true });
  copyTree(runImage, runImageInLayout);
  for (const [name, value] of Object.entries(options.env ?? {})) s.setEnv(name, value);
  if (!options.sqlite && options.env?.BP_PYTHON_SQLITE === undefined) s.setEnv('BP_PYTHON_SQLITE', 'false');
  // Tests never reach the internet: pip gets a closed loopback port unless the test points it at
  // the loopback package index (test/helpers/package-index.ts) with setEnv.
  if (options.env?.PIP_INDEX_URL === undefined) s.setEnv('PIP_INDEX_URL', 'http://127.0.0.1:9/simple/');
  chownTree(root);
  scenarios.push(s);
  return s;
}

export function cleanupScenarios(): void {
  if (process.env.KEEP_SCENARIOS === '1') {
    for (const s of scenarios.splice(0)) process.stderr.write(`KEEP_SCENARIOS=1: kept ${s.root} (${s.fixture})\n`);
    return;
  }
  for (const s of scenarios.splice(0)) s.cleanup();
}

// Jest: remove this file's scenarios after its tests (the helper is only imported by test files).
if (typeof afterAll === 'function') afterAll(cleanupScenarios);

// ---------------------------------------------------------------------------------------------
// Running phases

export interface PhaseResult {
  phase: PhaseName;
  exitCode: number;
  /** Set when the phase was killed (timeout). */
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
  args: string[];
  durationMs: number;
}

export interface PhaseOptions {
  logLevel?: LogLevel;
  /** Extra env for the phase processes (not the platform env: use scenario.setEnv for that). */
  env?: Record<string, string>;
  /** Per-phase timeout; default 10 minutes. */
  timeoutMs?: number;
}

function phaseEnv(extra: Record<string, string> = {}): Record<string, string> {
  const home = IS_ROOT ? '/home/cnb' : (process.env.HOME ?? os.tmpdir());
  const env: Record<string, string> = {
    // Node's own dir first: the repository form of the buildpack runs `node` from PATH.
    PATH: [path.dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':'),
    HOME: home,
    USER: IS_ROOT ? 'cnb' : (process.env.USER ?? ''),
    LANG: 'C.UTF-8',
    CNB_PLATFORM_API: PLATFORM_API,
    CNB_EXPERIMENTAL_MODE: 'quiet',
    CNB_USER_ID: String(PHASE_UID),
    CNB_GROUP_ID: String(PHASE_GID),
  };
  for (const name of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'TZ']) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  return { ...env, ...extra };
}

/** Runs one lifecycle phase (by its link name next to the lifecycle binary) as the build user. */
export function runPhase(phase: PhaseName, args: string[], options: PhaseOptions & { cwd?: string } = {}): Promise<PhaseResult> {
  const binary = path.join(lifecycleDir(), phase);
  if (!fs.existsSync(binary)) {
    throw new Error(`no lifecycle phase at ${binary}: run scripts/install-lifecycle.sh (the integration globalSetup does)`);
  }
  const fullArgs = [...args];
  const [command, commandArgs] = withoutNodeIfPackaged(
    withoutNetworkIfAsked(IS_ROOT
      ? ['setpriv', [`--reuid=${BUILD_UID}`, `--regid=${CNB_GID}`, '--init-groups', '--', binary, ...fullArgs]]
      : [binary, fullArgs]),
  );
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, {
      cwd: options.cwd ?? os.tmpdir(),
      env: phaseEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      output += chunk;
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      output += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10 * 60 * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        phase,
        exitCode: code ?? 128,
        ...(signal ? { signal } : {}),
        stdout,
        stderr,
        output,
        args: fullArgs,
        durationMs: Date.now() - started,
      });
    });
  });
}

// -- no Node.js in the build (a packaged buildpack under test) ---------------------------------

/** bin/detect of a buildpack dir is a compiled executable (ELF), i.e. the packaged form (npm run package). */
export function isSelfContained(buildpackDir: string): boolean {
  try {
    const fd = fs.openSync(path.join(buildpackDir, 'bin', 'detect'), 'r');
    const magic = Buffer.alloc(4);
    fs.readSync(fd, magic, 0, 4, 0);
    fs.closeSync(fd);
    return magic.toString('latin1') === '\x7fELF';
  } catch {
    return false;
  }
}

/**
 * Whether phases run with Node.js made unreachable, as on Paketo's and Heroku's build images:
 * TEST_NO_NODE=1 / 0, else on when the default buildpack under test (TEST_BUILDPACK_DIR) is packaged.
 */
export function nodeHidden(): boolean {
  if (process.env.TEST_NO_NODE === '1') return true;
  if (process.env.TEST_NO_NODE === '0') return false;
  return isSelfContained(defaultBuildpackDir());
}

/** Every `node` / `nodejs` on the phases' PATH and this process's own Node, resolved. */
export function nodeBinaries(): string[] {
  const dirs = (phaseEnv().PATH ?? '').split(':').filter(Boolean);
  const found = new Set<string>([fs.realpathSync(process.execPath)]);
  for (const dir of dirs) {
    for (const name of ['node', 'nodejs']) {
      try {
        found.add(fs.realpathSync(path.join(dir, name)));
      } catch {
        // not there
      }
    }
  }
  return [...found].sort();
}

/**
 * When nodeHidden(): runs the command in its own mount namespace in which every Node binary is
 * covered by /dev/null (executing it fails), so neither `node` on PATH nor an absolute path to it
 * works; the rest of the machine is unchanged. Needs root (unshare/mount); as another user the
 * test fails rather than pretending.
 */
export function withoutNodeIfPackaged([command, args]: [string, string[]]): [string, string[]] {
  if (!nodeHidden()) return [command, args];
  if (!IS_ROOT) throw new Error('TEST_NO_NODE needs root (unshare --mount) to hide node from the build');
  const mounts = nodeBinaries().map((f) => `mount --bind /dev/null '${f.replace(/'/g, `'\\''`)}'`).join(' && ');
  return ['unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', `${mounts} && exec "$@"`, 'sh', command, ...args]];
}

/**
 * TEST_NO_NETWORK=1: the command runs in a network namespace of its own (only a loopback, down), so
 * nothing can be downloaded, not even from the loopback mirror and index (the offline tests).
 */
export function withoutNetworkIfAsked([command, args]: [string, string[]]): [string, string[]] {
  if (process.env.TEST_NO_NETWORK !== '1') return [command, args];
  if (!IS_ROOT) throw new Error('TEST_NO_NETWORK needs root (unshare --net)');
  return ['unshare', ['--net', '--', command, ...args]];
}

function readTomlIfExists(file: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return TOML.parse(text) as Record<string, unknown>;
}

/** Fresh app (a copy of the source, as pack copies the app into a new volume per build). */
function prepareApp(s: Scenario): void {
  copyTree(s.sourceDir, s.appDir);
}

function resetDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  chownTree(dir);
}

// -- detect ------------------------------------------------------------------------------------

export interface GroupToml {
  group?: Array<{ id: string; version: string; api?: string; optional?: boolean; homepage?: string }>;
}
export interface PlanToml {
  entries?: Array<{
    providers?: Array<{ id: string; version: string }>;
    requires?: Array<{ name: string; metadata?: Record<string, unknown> }>;
  }>;
}

export interface DetectResult extends PhaseResult {
  group?: GroupToml;
  plan?: PlanToml;
}

function paths(s: Scenario) {
  return {
    analyzed: path.join(s.layersDir, 'analyzed.toml'),
    group: path.join(s.layersDir, 'group.toml'),
    plan: path.join(s.layersDir, 'plan.toml'),
  };
}

function detectorArgs(s: Scenario, logLevel: LogLevel): string[] {
  const p = paths(s);
  return [
    '-app', s.appDir,
    '-buildpacks', s.buildpacksDir,
    '-order', s.orderPath,
    '-platform', s.platformDir,
    '-layers', s.layersDir,
    '-analyzed', p.analyzed,
    '-group', p.group,
    '-plan', p.plan,
    '-log-level', logLevel,
    '-no-color',
  ];
}

/** The detector alone, on a fresh copy of the app and an empty layers dir. */
export async function runDetector(s: Scenario, options: PhaseOptions = {}): Promise<DetectResult> {
  prepareApp(s);
  resetDir(s.layersDir);
  const result = await runPhase('detector', detectorArgs(s, options.logLevel ?? 'debug'), options);
  const p = paths(s);
  return {
    ...result,
    group: readTomlIfExists(p.group) as GroupToml | undefined,
    plan: readTomlIfExists(p.plan) as PlanToml | undefined,
  };
}

/** The requirements named `name` in a detector's plan.toml (all requirers, in order). */
export function planRequires(plan: PlanToml | undefined, name: string): Array<{ name: string; metadata?: Record<string, unknown> }> {
  return (plan?.entries ?? []).flatMap((e) => (e.requires ?? []).filter((r) => r.name === name));
}

// -- build -------------------------------------------------------------------------------------

export interface BuildOptions extends PhaseOptions {
  /** Stop after this phase (default: exporter, the whole build). */
  upTo?: PhaseName;
  /** Log level of every phase but the detector (default info). */
  logLevel?: LogLevel;
  /** Log level of the detector (default debug, so the log shows our detect output, like `pack build -v`). */
  detectLogLevel?: LogLevel;
  /** Start from an empty layers dir, as pack does (default true). */
  freshLayers?: boolean;
}

export interface BuildResult {
  /** Every phase that ran exited 0 (a build stopped by upTo counts as a success). */
  success: boolean;
  /** The first phase that exited non-zero. */
  failedPhase?: PhaseName;
  /** Exit code of the failed phase, else 0. */
  exitCode: number;
  phases: Partial<Record<PhaseName, PhaseResult>>;
  /** The builder's output: our buildpack's build log ('' if the builder did not run). */
  buildLog: string;
  /** The detector's output (at debug level, our detect output). */
  detectLog: string;
  /** The exporter's output ("Adding layer" / "Reusing layer"; '' if it did not run). */
  exportLog: string;
  /** All phases' output, each under a `===> PHASE` header, as pack prints it. */
  log: string;
  group?: GroupToml;
  plan?: PlanToml;
}

/** What the tools a build runs were seen to leave in TMPDIR (the lifecycle gives buildpacks no
 *  TMPDIR, so /tmp): a pip of 24.0 or older run from a wheel (certifi's bundle), uv's locks,
 *  Poetry's build directories, Pipenv's request files. */
const TOOL_LEFTOVERS = /^(tmp\w+cacert\.pem|uv-[0-9a-f]+\.lock|poetry-chef-\w+|pipenv-(request|response)-[\w-]+\.json)$/;

/**
 * runBuild, and the tool leftovers that appeared in the buildpack's TMPDIR (os.tmpdir() here:
 * the lifecycle passes buildpacks no TMPDIR) while it ran: none may outlive the build
 * (src/io/fs.ts, useBuildScratchAsTmpdir). Builds of other test files running beside this one
 * leave none either, so any is a failure.
 */
export async function runBuildWatchingTmpdir(s: Scenario, options: BuildOptions = {}): Promise<BuildResult & { leftInTmpdir: string[] }> {
  const tmp = os.tmpdir();
  const before = new Set(fs.readdirSync(tmp));
  const r = await runBuild(s, options);
  return { ...r, leftInTmpdir: fs.readdirSync(tmp).filter((name) => !before.has(name) && TOOL_LEFTOVERS.test(name)) };
}

export async function runBuild(s: Scenario, options: BuildOptions = {}): Promise<BuildResult> {
  const upTo = options.upTo ?? 'exporter';
  if (!PHASES.includes(upTo)) throw new Error(`upTo must be one of ${PHASES.join(', ')}`);
  const logLevel = options.logLevel ?? 'info';
  const p = paths(s);
  prepareApp(s);
  if (options.freshLayers ?? true) resetDir(s.layersDir);

  const common = ['-layers', s.layersDir, '-analyzed', p.analyzed, '-log-level', logLevel, '-no-color'];
  const layout = ['-layout', '-layout-dir', s.layoutDir];
  const argsFor: Record<PhaseName, () => string[]> = {
    analyzer: () => [...common, ...layout, '-run-image', RUN_IMAGE_NAME, IMAGE_NAME],
    detector: () => detectorArgs(s, options.detectLogLevel ?? 'debug'),
    restorer: () => [...common, ...layout, '-group', p.group, '-cache-dir', s.cacheDir],
    builder: () => [
      ...common,
      '-app', s.appDir,
      '-buildpacks', s.buildpacksDir,
      '-group', p.group,
      '-plan', p.plan,
      '-platform', s.platformDir,
    ],
    exporter: () => [
      ...common,
      ...layout,
      '-app', s.appDir,
      '-group', p.group,
      '-cache-dir', s.cacheDir,
      '-launcher', path.join(lifecycleDir(), 'launcher'),
      '-report', path.join(s.layersDir, 'report.toml'),
      IMAGE_NAME,
    ],
  };

  const ran = await runPhases(PHASES.slice(0, PHASES.indexOf(upTo) + 1), (phase) => argsFor[phase](), options);
  const detected = ran.phases.detector !== undefined;
  return {
    ...ran,
    detectLog: ran.phases.detector?.output ?? '',
    group: detected ? (readTomlIfExists(p.group) as GroupToml | undefined) : undefined,
    plan: detected ? (readTomlIfExists(p.plan) as PlanToml | undefined) : undefined,
  };
}

export interface PhasesResult {
  /** Every phase that ran exited 0. */
  success: boolean;
  /** The first phase that exited non-zero. */
  failedPhase?: PhaseName;
  /** Exit code of the failed phase, else 0. */
  exitCode: number;
  phases: Partial<Record<PhaseName, PhaseResult>>;
  /** The builder's output ('' if it did not run). */
  buildLog: string;
  /** The exporter's output ('' if it did not run). */
  exportLog: string;
  /** All phases' output, each under a `===> PHASE` header, as pack prints it. */
  log: string;
}

/** Runs the phases in order, stopping at the first that fails. */
export async function runPhases(phases: readonly PhaseName[], argsFor: (phase: PhaseName) => string[], options: PhaseOptions = {}): Promise<PhasesResult> {
  const result: PhasesResult = { success: true, exitCode: 0, phases: {}, buildLog: '', exportLog: '', log: '' };
  for (const phase of phases) {
    const r = await runPhase(phase, argsFor(phase), options);
    result.phases[phase] = r;
    result.log += `===> ${phase.replace(/er$/, 'ing').replace(/or$/, 'ing').toUpperCase()}\n${r.output}`;
    if (phase === 'builder') result.buildLog = r.output;
    if (phase === 'exporter') result.exportLog = r.output;
    if (r.exitCode !== 0) {
      result.success = false;
      result.failedPhase = phase;
      result.exitCode = r.exitCode;
      break;
    }
  }
  return result;
}

// -- readers -----------------------------------------------------------------------------------

/** <layers>/<escaped buildpack id>/<layer> */
export function layerPath(s: Scenario, layer: string): string {
  return path.join(s.buildpackLayersDir, layer);
}

/** <layers>/<escaped buildpack id>/<layer>.toml, parsed; undefined when absent. */
export function readLayerToml(s: Scenario, layer: string): Record<string, unknown> | undefined {
  return readTomlIfExists(path.join(s.buildpackLayersDir, `${layer}.toml`));
}

export function readLaunchToml(s: Scenario): Record<string, unknown> | undefined {
  return readTomlIfExists(path.join(s.buildpackLayersDir, 'launch.toml'));
}

export function readBuildToml(s: Scenario): Record<string, unknown> | undefined {
  return readTomlIfExists(path.join(s.buildpackLayersDir, 'build.toml'));
}

export interface AppImage {
  path: string;
  manifest: { layers: Array<{ digest: string; size: number; mediaType: string }> };
  config: { config?: { Env?: string[]; Entrypoint?: string[]; Labels?: Record<string, string>; User?: string; WorkingDir?: string }; rootfs?: { diff_ids: string[] } };
  labels: Record<string, string>;
  /** The parsed io.buildpacks.lifecycle.metadata label. */
  lifecycleMetadata?: Record<string, unknown>;
}

/** The app image the exporter wrote into the scenario's OCI layout; undefined before any export. */
export function readAppImage(s: Scenario): AppImage | undefined {
  const imagePath = path.join(s.layoutDir, 'index.docker.io', 'library', IMAGE_NAME, 'latest');
  const indexFile = path.join(imagePath, 'index.json');
  if (!fs.existsSync(indexFile)) return undefined;
  const blob = (digest: string) => JSON.parse(fs.readFileSync(path.join(imagePath, 'blobs', ...digest.split(':')), 'utf8'));
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { manifests: Array<{ digest: string }> };
  const [only, ...others] = index.manifests;
  if (!only || others.length > 0) throw new Error(`${indexFile}: expected 1 manifest, found ${index.manifests.length}`);
  const manifest = blob(only.digest);
  const config = blob(manifest.config.digest);
  const labels: Record<string, string> = config.config?.Labels ?? {};
  const raw = labels['io.buildpacks.lifecycle.metadata'];
  return { path: imagePath, manifest, config, labels, ...(raw ? { lifecycleMetadata: JSON.parse(raw) } : {}) };
}
