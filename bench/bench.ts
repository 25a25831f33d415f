/**
 * The benchmark (issue 9). Every scenario runs the buildpack for real (bin/detect, bin/build, or the
 * whole CNB lifecycle through test/helpers/lifecycle.ts) against the loopback runtime mirror and the
 * loopback package index, a warm-up and then N counted runs, with the "floor" (what the same work
 * costs with the plainest tools: curl | tar, python -m venv, pip) run in the SAME loop, alternating
 * which goes first, so both see the same machine load. Medians are reported.
 *
 * Usage (via bench/run.mjs, which bundles this file):
 *   npm run bench                       full: 1 warm-up + 5 counted runs of everything
 *   npm run bench -- --quick            CI: 1 warm-up + 2 counted, skips the 40-package app
 *   --runs N --warmup N                 override the counts
 *   --only detect,package,runtime,flask,django,poetry,lifecycle,sqlite,start,source-runtime,pack  a subset (row groups;
 *          lifecycle-flask / lifecycle-django: one app's whole-lifecycle group)
 *   --buildpack-dir DIR                 the buildpack under test (default $TEST_BUILDPACK_DIR, else
 *                                       the repository); a packaged buildpack (bin/detect is an
 *                                       executable, not a script) is reported as "packaged"
 *   --out FILE                          default bench/results.json
 *
 * Nothing here asserts on timings: the targets are reported as met / not met.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  REPO_ROOT,
  cleanupScenarios,
  createScenario,
  layerPath,
  lifecycleDir,
  runBuild,
  runDetector,
  runImageDir,
  type BuildResult,
  type PhasesResult,
  type Scenario,
} from '../test/helpers/lifecycle';
import { readFixtureIndex, startMirror, writeRuntimeManifest, type ManifestEntry, type Mirror, type RuntimeArtifact } from '../test/helpers/mirror';
import { parseOsRelease } from '../src/cnb/context';
import { parseToml } from '../src/cnb/toml';
import { startPackageIndex, type PackageIndex } from '../test/helpers/package-index';
import { freePort, startRegistry, type Registry } from '../test/helpers/registry';
import { pullImage, pushRunImage, runRegistryBuild, startWebProcess, type RegistryBuildResult } from '../test/helpers/image';
import { sourceRuntimeEntry, useLoopbackSources } from '../test/helpers/sources';
import { hostPython } from '../test/helpers/host-python';
import { packBuild, packEnv, runCommand, runWeb, startPackSources } from '../test/pack/support';

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  /** --compare label=DIR[:ENV=V...],...: the runtime install only, one row per buildpack variant. */
  compare?: Array<{ label: string; dir: string; env: Record<string, string> }>;
  quick: boolean;
  warmup: number;
  runs: number;
  only?: Set<string>;
  buildpackDir: string;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
    return v;
  };
  const known = new Set(['--quick', '--runs', '--warmup', '--only', '--buildpack-dir', '--out', '--compare']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a)) throw new Error(`unknown option ${a} (known: ${[...known].join(' ')})`);
  const only = value('--only');
  const compare = value('--compare');
  return {
    compare: compare?.split(',').map((spec) => {
      // label=DIR[:ENV=VALUE...]
      const cut = (text: string, sep: string): [string, string | undefined] => {
        const i = text.indexOf(sep);
        return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
      };
      const [label, rest] = cut(spec, '=');
      const [dir, ...envs] = (rest ?? label).split(':');
      return { label, dir: path.resolve(dir!), env: Object.fromEntries(envs.map((e) => cut(e, '=')).map(([k, v]) => [k, v ?? ''])) };
    }),
    quick,
    warmup: Number(value('--warmup') ?? 1),
    runs: Number(value('--runs') ?? (quick ? 2 : 5)),
    only: only ? new Set(only.split(',').map((s) => s.trim())) : undefined,
    buildpackDir: path.resolve(value('--buildpack-dir') ?? process.env.TEST_BUILDPACK_DIR ?? REPO_ROOT),
    out: path.resolve(value('--out') ?? path.join(REPO_ROOT, 'bench', 'results.json')),
  };
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Sample {
  ms: number;
  /** Peak resident set (KiB) of the measured process tree's largest process, from GNU time. */
  rssKb?: number;
  /** Bytes served by the mirror and the index during the run. */
  bytes?: number;
}

interface Figures {
  samples: number[];
  median: number;
  min: number;
  max: number;
  peakRssMb?: number;
  bytesDownloaded?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function figures(samples: Sample[]): Figures | undefined {
  if (!samples.length) return undefined;
  const ms = samples.map((s) => Math.round(s.ms));
  const rss = samples.map((s) => s.rssKb).filter((x): x is number => x !== undefined);
  const bytes = samples.map((s) => s.bytes).filter((x): x is number => x !== undefined);
  return {
    samples: ms,
    median: Math.round(median(ms)),
    min: Math.min(...ms),
    max: Math.max(...ms),
    ...(rss.length ? { peakRssMb: Math.round(median(rss) / 102.4) / 10 } : {}),
    ...(bytes.length ? { bytesDownloaded: Math.round(median(bytes)) } : {}),
  };
}

interface Timed {
  ms: number;
  rssKb?: number;
  code: number;
  output: string;
}

/** Runs a command under GNU time (peak RSS) and times it from spawn to exit. */
function timed(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Timed> {
  const rssFile = path.join(os.tmpdir(), `bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const useTime = fs.existsSync('/usr/bin/time');
  const [cmd, cmdArgs] = useTime ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, cmdArgs, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      let rssKb: number | undefined;
      try {
        const lines = fs.readFileSync(rssFile, 'utf8').trim().split('\n');
        rssKb = Number(lines[lines.length - 1]);
        fs.rmSync(rssFile, { force: true });
      } catch {
        rssKb = undefined;
      }
      resolve({ ms, rssKb: Number.isFinite(rssKb) ? rssKb : undefined, code: code ?? 128, output });
    });
  });
}

function mustSucceed(what: string, t: Timed): Timed {
  if (t.code !== 0) throw new Error(`${what} failed (exit ${t.code}):\n${t.output.slice(-3000)}`);
  return t;
}

function tempDir(name: string): string {
  const base = /^[a-z0-9._/-]+$/.test(os.tmpdir()) ? os.tmpdir() : '/tmp';
  return fs.mkdtempSync(path.join(base, `python-cnb-bench-${name}-`));
}

function rmrf(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Rows

type Status = 'ok' | 'pending' | 'skipped' | 'failed';

interface Target {
  /** What is compared: "median <= 250 ms", "median <= 1.2 x floor median". */
  text: string;
  met?: boolean;
  /** e.g. "the packaged form" when the buildpack measured is another form. */
  appliesTo?: string;
}

interface Row {
  id: string;
  scenario: string;
  status: Status;
  note?: string;
  /** What the figure is: the measured process or phase. */
  measures?: string;
  warmup?: number;
  runs?: number;
  ours?: Figures;
  /** Another figure of the same runs, e.g. the whole lifecycle beside the builder phase. */
  also?: Record<string, Figures>;
  floorMeasures?: string;
  floor?: Figures;
  /** ours.median / floor.median */
  ratio?: number;
  /** Bytes: cache and image sizes (the lifecycle group). */
  sizes?: Record<string, number | undefined>;
  target?: Target;
}

function ratioTarget(row: Row, limit: number): Row {
  const target: Target = { text: `median <= ${limit} x floor` };
  if (row.ours && row.floor && row.floor.median > 0) {
    row.ratio = Math.round((row.ours.median / row.floor.median) * 100) / 100;
    target.met = row.ratio <= limit;
  }
  row.target = target;
  return row;
}

function absoluteTarget(row: Row, limitMs: number, value = row.ours?.median): Row {
  row.target = { text: `median <= ${limitMs} ms`, ...(value !== undefined ? { met: value <= limitMs } : {}) };
  return row;
}

// ---------------------------------------------------------------------------------------------
// Fixture apps

const REQUIREMENTS = path.join(REPO_ROOT, 'test', 'fixtures', 'requirements');
const ADDED_REQUIREMENT = 'python-dotenv==1.2.4';

interface AppSpec {
  id: 'flask' | 'django';
  label: string;
  /** The fixture app (test/fixtures/apps/<fixture>); its requirements.txt is replaced by `requirements`. */
  fixture: string;
  /** The app file an "app code changed" build edits. */
  codeFile: string;
  requirements: string;
  plusOne: string;
}

function appSpecs(): AppSpec[] {
  const flask = fs.readFileSync(path.join(REQUIREMENTS, 'flask.txt'), 'utf8');
  const flaskPlusOne = fs.readFileSync(path.join(REQUIREMENTS, 'flask-plus-one.txt'), 'utf8');
  const django = fs.readFileSync(path.join(REQUIREMENTS, 'django40.txt'), 'utf8');
  return [
    { id: 'flask', label: 'Flask app (8 packages)', fixture: 'pip-requirements', codeFile: 'app.py', requirements: flask, plusOne: flaskPlusOne },
    // A real Django project (manage.py, settings with staticfiles and STATIC_ROOT), so collectstatic
    // runs on every build, as it does for users.
    { id: 'django', label: 'Django project (40 packages, collectstatic)', fixture: 'django-app', codeFile: 'mysite/urls.py', requirements: django, plusOne: `${django.trimEnd()}\n${ADDED_REQUIREMENT}\n` },
  ];
}

// ---------------------------------------------------------------------------------------------
// The world: mirror, index, manifest

interface World {
  opts: Options;
  mirror: Mirror;
  index: PackageIndex;
  runtime: RuntimeArtifact;
  /** A manifest file readable by the build user. */
  manifest: string;
  scratch: string;
  form: 'repository' | 'packaged';
}

function servedBytes(w: World): number {
  return w.mirror.requests().reduce((n, r) => n + r.bytes, 0) + w.index.requests().reduce((n, r) => n + r.bytes, 0);
}

function clearLogs(w: World): void {
  w.mirror.clearLog();
  w.index.clearLog();
}

function buildpackForm(dir: string): 'repository' | 'packaged' {
  const detect = path.join(dir, 'bin', 'detect');
  const head = Buffer.alloc(4);
  const fd = fs.openSync(detect, 'r');
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  return head.subarray(0, 2).toString() === '#!' ? 'repository' : 'packaged';
}

/** The repository form runs build/main.js: make sure it is not older than src/. */
function checkBundle(dir: string): void {
  if (dir !== REPO_ROOT) return;
  const newest = (d: string): number =>
    fs.readdirSync(d, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(path.join(d, e.name)) : fs.statSync(path.join(d, e.name)).mtimeMs), 0);
  const bundle = path.join(REPO_ROOT, 'build', 'main.js');
  if (fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs >= newest(path.join(REPO_ROOT, 'src'))) return;
  process.stderr.write('bench: build/main.js is missing or older than src/: bundling (node scripts/bundle.mjs)\n');
  const r = spawnSync(process.execPath, ['scripts/bundle.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('bundling failed');
}

function checkSetup(): void {
  const missing: string[] = [];
  if (!fs.existsSync(path.join(lifecycleDir(), 'lifecycle'))) missing.push(`the lifecycle (${lifecycleDir()}: scripts/install-lifecycle.sh)`);
  if (!fs.existsSync(path.join(runImageDir(), 'index.json'))) missing.push(`the run image (${runImageDir()}: test/setup/run-image.sh)`);
  if (missing.length) throw new Error(`bench: missing ${missing.join(' and ')}; running the integration tests once sets them up`);
}

function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** warm-up + counted iterations; `fn(i, counted)` */
async function loop(w: World, label: string, fn: (i: number, counted: boolean) => Promise<void>): Promise<void> {
  const total = w.opts.warmup + w.opts.runs;
  for (let i = 0; i < total; i++) {
    const counted = i >= w.opts.warmup;
    say(`  ${label}: ${counted ? `run ${i - w.opts.warmup + 1}/${w.opts.runs}` : `warm-up ${i + 1}/${w.opts.warmup}`}`);
    await fn(i, counted);
  }
}

// ---------------------------------------------------------------------------------------------
// detect

async function benchDetect(w: World): Promise<Row[]> {
  say('detect');
  const app = tempDir('detect-app');
  fs.cpSync(path.join(REPO_ROOT, 'test', 'fixtures', 'apps', 'pip-requirements'), app, { recursive: true });
  fs.copyFileSync(path.join(REQUIREMENTS, 'flask.txt'), path.join(app, 'requirements.txt'));
  const platform = tempDir('detect-platform');
  const plans = tempDir('detect-plan');
  const direct: Sample[] = [];
  const phase: Sample[] = [];
  const s = createScenario('pip-requirements', { buildpackDir: w.opts.buildpackDir });
  s.writeAppFile('requirements.txt', fs.readFileSync(path.join(REQUIREMENTS, 'flask.txt'), 'utf8'));
  // detect is cheap: count more runs than the builds do.
  const runs = Math.max(w.opts.runs * 4, 5);
  try {
    for (let i = 0; i < w.opts.warmup + runs; i++) {
      const counted = i >= w.opts.warmup;
      const env = { ...process.env, CNB_PLATFORM_DIR: platform, CNB_BUILD_PLAN_PATH: path.join(plans, `plan-${i}.toml`), CNB_APP_DIR: app };
      const t = mustSucceed('bin/detect', await timed(path.join(w.opts.buildpackDir, 'bin', 'detect'), [], { cwd: app, env }));
      if (counted) direct.push({ ms: t.ms, rssKb: t.rssKb });
      const d = await runDetector(s, { logLevel: 'info' });
      if (d.exitCode !== 0) throw new Error(`detector failed (exit ${d.exitCode}):\n${d.output.slice(-3000)}`);
      if (counted) phase.push({ ms: d.durationMs });
    }
  } finally {
    s.cleanup();
    for (const d of [app, platform, plans]) rmrf(d);
  }
  const packaged = w.form === 'packaged';
  const row: Row = {
    id: packaged ? 'detect-packaged' : 'detect',
    scenario: `detect, Flask app (${w.form} form)`,
    status: 'ok',
    measures: 'bin/detect process, spawn to exit',
    warmup: w.opts.warmup,
    runs,
    ours: figures(direct),
    also: { 'lifecycle detector phase': figures(phase)! },
  };
  absoluteTarget(row, 80);
  if (!packaged) row.target!.appliesTo = 'the packaged form (dist/buildpack, the row below); shown for the repository form for reference';
  return [row];
}

// ---------------------------------------------------------------------------------------------
// packaged buildpack: sizes of what `npm run package` made

function treeBytes(p: string): number {
  const st = fs.lstatSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, e) => n + treeBytes(path.join(p, e)), 0);
}

function packageSizes(): Row {
  const dist = path.join(REPO_ROOT, 'dist');
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  const parts: string[] = [];
  const cnbs = fs.existsSync(dist) ? fs.readdirSync(dist).filter((f) => f.endsWith('.cnb')).sort() : [];
  // Per arch: amd64 has the plain names, arm64 adds -arm64 (scripts/package.mjs).
  for (const arch of ['amd64', 'arm64']) {
    const ofArch = (name: string) => (arch === 'amd64') !== name.replace(/\.cnb$/, '').endsWith('-arm64');
    const sizes: string[] = [];
    for (const name of ['buildpack', 'buildpack-offline'].map((n) => (arch === 'amd64' ? n : `${n}-${arch}`))) {
      const dir = path.join(dist, name);
      if (fs.existsSync(dir)) sizes.push(`dist/${name}/ ${mib(treeBytes(dir))} (bin/main ${mib(fs.statSync(path.join(dir, 'bin', 'main')).size)})`);
    }
    for (const name of cnbs.filter(ofArch)) sizes.push(`dist/${name} ${mib(fs.statSync(path.join(dist, name)).size)}`);
    if (sizes.length) parts.push(`linux/${arch}: ${sizes.join(', ')}`);
  }
  return parts.length
    ? { id: 'package-sizes', scenario: 'package sizes (npm run package)', status: 'ok', note: parts.join('; ') }
    : { id: 'package-sizes', scenario: 'package sizes (npm run package)', status: 'skipped', note: 'no dist/: run npm run package first' };
}

// ---------------------------------------------------------------------------------------------
// SQLite: a cold build of the Flask app with and without the sqlite layer. SQLite is compiled
// beside the Python install, so "with" should cost less than "without" + the compile alone.

function parseDurationMs(text: string): number | undefined {
  const m = /(?:(\d+)m )?([\d.]+)(ms|s)\b/.exec(text);
  if (!m) return undefined;
  return (Number(m[1] ?? 0) * 60 + (m[3] === 'ms' ? Number(m[2]) / 1000 : Number(m[2]))) * 1000;
}

/**
 * The prebuilt path (issue 20): `npm run build-sqlite` once for this machine's distro and arch (the
 * release script, -O2 as a release builds it), served by a second loopback mirror, listed through
 * BP_PYTHON_MANIFEST beside the runtimes. Undefined when the script fails (the row says so).
 */
async function sqliteRelease(w: World): Promise<{ entry: ManifestEntry; release: Mirror; out: string } | { error: string }> {
  const sqlite = readFixtureIndex(w.mirror.root).sqlite;
  if (!sqlite) return { error: 'the fixture mirror has no SQLite source' };
  const out = tempDir('sqlite-release');
  fs.chmodSync(out, 0o755);
  const release = await startMirror({ root: out });
  const host = parseOsRelease(fs.readFileSync('/etc/os-release', 'utf8'));
  const distro = `${host.name}-${host.version}`;
  // Asynchronous: the mirror serving the source runs in this process.
  const r = await timed('npm', ['run', '--silent', 'build-sqlite', '--', '--distro', distro, '--out', out, '--uri-base', release.url, '--source', w.mirror.urlFor(sqlite.file)], { cwd: REPO_ROOT });
  const toml = fs.readdirSync(out).find((f) => f.endsWith('.toml'));
  if (r.code !== 0 || !toml) {
    await release.close();
    rmrf(out);
    return { error: `npm run build-sqlite failed (exit ${r.code}): ${r.output.slice(-500)}` };
  }
  const doc = parseToml(fs.readFileSync(path.join(out, toml), 'utf8')) as unknown as { dependencies: ManifestEntry[] };
  return { entry: doc.dependencies[0]!, release, out };
}

async function benchSqlite(w: World): Promise<Row[]> {
  say('sqlite');
  const base = { id: 'sqlite-cold', scenario: 'cold build, Flask app, with the sqlite layer (compiled beside the Python install)' };
  const prebuiltBase = { id: 'sqlite-prebuilt-cold', scenario: 'cold build, Flask app, with a prebuilt SQLite from the manifest (npm run build-sqlite)' };
  if (w.opts.quick) return [base, prebuiltBase].map((b) => ({ ...b, status: 'skipped' as const, note: 'skipped in --quick (each run compiles SQLite, ~30-70 s)' }));
  const flask = appSpecs().find((a) => a.id === 'flask')!;
  const runs = Math.min(w.opts.runs, 3);
  const made = await sqliteRelease(w);
  const samples = { compiled: [] as Sample[], prebuilt: [] as Sample[], without: [] as Sample[], compile: [] as Sample[] };
  try {
    for (let i = 0; i < runs; i++) {
      say(`  sqlite: run ${i + 1}/${runs}`);
      for (const variant of ['compiled', 'prebuilt', 'without'] as const) {
        if (variant === 'prebuilt' && 'error' in made) continue;
        const s = createScenario('pip-requirements', { buildpackDir: w.opts.buildpackDir, sqlite: variant !== 'without' });
        try {
          s.writeAppFile('requirements.txt', flask.requirements);
          await useLoopbackSources(s, { mirror: w.mirror, index: w.index }, variant === 'prebuilt' && 'entry' in made ? { extraEntries: [made.entry] } : {});
          const r = buildOk(`sqlite ${variant}`, await runBuild(s, { upTo: 'builder' }));
          if (variant === 'prebuilt' && !r.buildLog.includes('Installed prebuilt SQLite')) throw new Error(`sqlite prebuilt: the build did not install the prebuilt archive:\n${r.buildLog.slice(-3000)}`);
          samples[variant].push({ ms: r.phases.builder!.durationMs });
          const compiled = /Compiled SQLite [\d.]+ in ([^ (]+(?: [^ (]+)?)/.exec(r.buildLog);
          const ms = compiled ? parseDurationMs(compiled[1]!) : undefined;
          if (variant === 'compiled' && ms !== undefined) samples.compile.push({ ms });
        } finally {
          s.cleanup();
        }
      }
    }
  } finally {
    if ('release' in made) {
      await made.release.close();
      rmrf(made.out);
    }
  }
  const ours = figures(samples.compiled)!;
  const alone = figures(samples.without)!;
  const compiled = figures(samples.compile);
  const saved = compiled ? alone.median + compiled.median - ours.median : undefined;
  const prebuilt = figures(samples.prebuilt);
  const withoutNote = { 'without sqlite (BP_PYTHON_SQLITE=false)': alone };
  return [
    {
      ...base,
      status: 'ok',
      measures: 'builder phase, fresh cache',
      runs,
      ours,
      also: { ...withoutNote, ...(compiled ? { 'SQLite compile alone (from the log)': compiled } : {}) },
      note: saved !== undefined ? `running SQLite beside the Python install saves ~${Math.round(saved)} ms against doing both one after the other (without + compile - with)` : undefined,
    },
    prebuilt
      ? {
          ...prebuiltBase,
          status: 'ok',
          measures: 'builder phase, fresh cache; the floor is the same build without SQLite',
          runs,
          ours: prebuilt,
          floorMeasures: 'the same cold build with BP_PYTHON_SQLITE=false',
          floor: alone,
          target: { text: 'median <= floor + 2000 ms (issue 20)', met: prebuilt.median <= alone.median + 2000 },
        }
      : { ...prebuiltBase, status: 'failed', note: 'error' in made ? made.error : 'no samples' },
  ];
}

// ---------------------------------------------------------------------------------------------
// source-runtime: a cold build that compiles CPython 2.7.18 from its python.org source (Debian's
// copy, test/setup/cpython-sources.sh), served at its python.org URL by a second loopback mirror.
// Full mode only, one run: the compile takes minutes. Reports the compile (configure + make +
// install, from the log) and the python layer's size.

async function benchSourceRuntime(w: World): Promise<Row[]> {
  say('source-runtime');
  const base = { id: 'source-runtime', scenario: 'cold build, Python 2.7.18 app (requirements.txt) compiling CPython from source' };
  if (w.opts.quick) return [{ ...base, status: 'skipped', note: 'skipped in --quick (a CPython compile takes minutes)' }];
  const root = path.join(REPO_ROOT, '.cache', 'fixtures', 'cpython-source');
  if (!fs.existsSync(root)) return [{ ...base, status: 'skipped', note: 'no .cache/fixtures/cpython-source: run test/setup/cpython-sources.sh' }];
  const sources = await startMirror({ root });
  const s = createScenario('source-python-2.7.18', { buildpackDir: w.opts.buildpackDir });
  try {
    await useLoopbackSources(s, { mirror: w.mirror, index: w.index }, { extraEntries: [sourceRuntimeEntry('2.7.18')] });
    s.setEnv('BP_DEPENDENCY_MIRROR_WWW_PYTHON_ORG', sources.url);
    const r = buildOk('source-runtime', await runBuild(s, { upTo: 'builder', timeoutMs: 90 * 60 * 1000 }));
    const compiled = /Compiled and installed Python [\d.]+ in ([^ (]+(?: [^ (]+)?)/.exec(r.buildLog);
    const compileMs = compiled ? parseDurationMs(compiled[1]!) : undefined;
    const layerBytes = Number(spawnSync('du', ['-sb', path.join(s.buildpackLayersDir, 'python')], { encoding: 'utf8' }).stdout.split('\t')[0]);
    return [
      {
        ...base,
        status: 'ok',
        measures: 'builder phase, fresh cache',
        runs: 1,
        ours: figures([{ ms: r.phases.builder!.durationMs }]),
        ...(compileMs !== undefined ? { also: { 'compile alone (configure + make + install, from the log)': figures([{ ms: compileMs }])! } } : {}),
        note: `python layer ${(layerBytes / 1024 ** 2).toFixed(1)} MiB; load average ${os.loadavg()[0]!.toFixed(1)}`,
      },
    ];
  } finally {
    s.cleanup();
    await sources.close();
  }
}

// ---------------------------------------------------------------------------------------------
// app start: the exported Flask example's /cnb/process/web, container start to first HTTP 200

async function benchAppStart(w: World): Promise<Row[]> {
  say('app start');
  const base = { id: 'app-start', scenario: 'app start, examples/flask-app (container start to first HTTP 200)' };
  if (process.getuid?.() !== 0) return [{ ...base, status: 'skipped', note: 'needs root (chroot, namespaces)' }];
  const registry = await startRegistry();
  const s = createScenario(path.join(REPO_ROOT, 'examples', 'flask-app'), { buildpackDir: w.opts.buildpackDir });
  try {
    await useLoopbackSources(s, { mirror: w.mirror, index: w.index });
    const runImage = pushRunImage(registry);
    const built = await runRegistryBuild(s, { registry, image: registry.ref('bench/flask-app'), runImage });
    if (!built.success) return [{ ...base, status: 'failed', note: `build failed in ${built.failedPhase}` }];
    const image = pullImage(registry.ref('bench/flask-app'), path.join(s.root, 'image'));
    const samples: Sample[] = [];
    await loop(w, 'app start', async (_i, counted) => {
      const web = await startWebProcess(image.rootfs, { port: await freePort() });
      await web.stop();
      if (counted) samples.push({ ms: web.msToFirst200 });
    });
    return [
      {
        ...base,
        status: 'ok',
        measures: 'unshare + chroot of the unpacked image as uid 1002 running /cnb/process/web (launcher, exec.d, gunicorn), until GET / answers 200 (polled every 10 ms)',
        warmup: w.opts.warmup,
        runs: w.opts.runs,
        ours: figures(samples),
      },
    ];
  } finally {
    s.cleanup();
    await registry.close();
  }
}

// ---------------------------------------------------------------------------------------------
// pack: the same Flask app built by `pack build` with the full builder through podman (the pack
// tier's setup, scripts/setup-pack.sh), and the image started by `podman run --network host`

async function benchPack(w: World): Promise<Row[]> {
  say('pack build (full builder, trusted) and podman run');
  const label = 'examples/flask-app, pack build through podman, full builder, trusted';
  const ids = [
    { id: 'pack-cold', scenario: `pack build cold (--clear-cache, no previous image), ${label}` },
    { id: 'pack-warm', scenario: `pack build warm (nothing changed), ${label}` },
    { id: 'pack-start', scenario: 'app start in the container, examples/flask-app (podman run to first HTTP 200)' },
  ];
  const skipped = (note: string): Row[] => ids.map((r) => ({ ...r, status: 'skipped' as const, note }));
  if (process.getuid?.() !== 0) return skipped('needs root (podman storage)');
  const e = packEnv();
  if (!fs.existsSync(e.PACK_BIN) || !fs.existsSync(path.join(e.PACK_DIR, 'builder-full.stamp'))) return skipped('the pack tier is not set up (bash scripts/setup-pack.sh)');
  const started = runCommand('bash', [path.join(REPO_ROOT, 'scripts', 'pack-env.sh'), 'start']);
  if (started.status !== 0) return skipped(`podman or the registry did not start: ${started.output.trim().split('\n').pop()}`);
  const sources = await startPackSources();
  const image = 'python-cnb-bench/flask';
  const app = path.join(REPO_ROOT, 'examples', 'flask-app');
  // A pack build is ~30-60 s: in --quick mode one counted run each, no warm-up.
  const pw: World = w.opts.quick ? { ...w, opts: { ...w.opts, warmup: 0, runs: 1 } } : w;
  const cold: Sample[] = [];
  const warm: Sample[] = [];
  const start: Sample[] = [];
  try {
    await loop(pw, 'pack build cold + warm, podman run', async (_i, counted) => {
      runCommand('podman', ['rmi', '-f', image]);
      const c = await packBuild({ image, app, builder: e.PACK_BUILDER_FULL, trust: true, sources, clearCache: true });
      if (c.status !== 0) throw new Error(`pack build (cold) failed:\n${c.output.slice(-3000)}`);
      const wr = await packBuild({ image, app, builder: e.PACK_BUILDER_FULL, trust: true, sources });
      if (wr.status !== 0) throw new Error(`pack build (warm) failed:\n${wr.output.slice(-3000)}`);
      const web = await runWeb(image);
      web.stop();
      // BENCH_LOGS=DIR keeps both builds' output (pack --timestamps: where the time went).
      if (process.env.BENCH_LOGS) {
        fs.mkdirSync(process.env.BENCH_LOGS, { recursive: true });
        fs.writeFileSync(path.join(process.env.BENCH_LOGS, `pack-cold-${_i}.log`), c.output);
        fs.writeFileSync(path.join(process.env.BENCH_LOGS, `pack-warm-${_i}.log`), wr.output);
      }
      if (counted) {
        cold.push({ ms: c.ms });
        warm.push({ ms: wr.ms });
        start.push({ ms: web.msToFirst200 });
      }
    });
  } catch (err) {
    return ids.map((r) => ({ ...r, status: 'failed' as const, note: (err as Error).message.split('\n')[0] }));
  } finally {
    runCommand('podman', ['rmi', '-f', image]);
    await sources.close();
    runCommand('bash', [path.join(REPO_ROOT, 'scripts', 'pack-env.sh'), 'stop']);
  }
  const common = { status: 'ok' as const, warmup: pw.opts.warmup, runs: pw.opts.runs };
  return [
    { ...ids[0]!, ...common, measures: 'the pack process: builder and run image pulls (if-not-present), the creator container (detect, restore, build, export to podman)', ours: figures(cold), note: 'beside flask-cold (the host-directory lifecycle harness)' },
    { ...ids[1]!, ...common, measures: 'the same, with the previous image and the cache volume', ours: figures(warm), note: 'beside flask-warm' },
    { ...ids[2]!, ...common, measures: 'podman run -d --network host (runc, launcher, exec.d, gunicorn) until GET / answers 200 (polled every 200 ms)', ours: figures(start), note: 'beside app-start (unshare + chroot)' },
  ];
}

// ---------------------------------------------------------------------------------------------
// runtime install: bin/build alone, on an app that only asks for Python

interface Variant {
  label: string;
  dir: string;
  env: Record<string, string>;
}

async function benchRuntime(w: World, variants: Variant[] = [{ label: '', dir: w.opts.buildpackDir, env: {} }]): Promise<Row[]> {
  say(`runtime install (Python ${w.runtime.version}, ${(w.runtime.size / 1048576).toFixed(1)} MiB archive)`);
  const oursBy = variants.map(() => [] as Sample[]);
  const floor: Sample[] = [];
  const minor = w.runtime.version.split('.').slice(0, 2).join('.');
  const url = w.mirror.urlFor(w.runtime.file);

  const runOurs = async (counted: boolean, v: Variant, ours: Sample[]) => {
    const root = tempDir('runtime');
    try {
      const app = path.join(root, 'app');
      const layers = path.join(root, 'layers');
      const platform = path.join(root, 'platform');
      for (const d of [app, layers, path.join(platform, 'env')]) fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(app, '.python-version'), `${minor}\n`);
      fs.writeFileSync(path.join(app, 'app.py'), 'print("hello")\n');
      const plan = path.join(root, 'plan.toml');
      fs.writeFileSync(plan, '');
      const env = {
        ...process.env,
        CNB_APP_DIR: app,
        CNB_LAYERS_DIR: layers,
        CNB_PLATFORM_DIR: platform,
        CNB_BP_PLAN_PATH: plan,
        CNB_BUILDPACK_DIR: v.dir,
        CNB_TARGET_OS: 'linux',
        CNB_TARGET_ARCH: 'amd64',
        BP_PYTHON_MANIFEST: w.manifest,
        // SQLite is compiled from source (a minute): off, as in the test scenarios; the floor has none.
        BP_PYTHON_SQLITE: 'false',
        ...v.env,
      };
      clearLogs(w);
      const t = mustSucceed('bin/build', await timed(path.join(v.dir, 'bin', 'build'), [], { cwd: app, env }));
      if (process.env.BENCH_SHOW_LOG) say(t.output);
      if (!fs.existsSync(path.join(layers, 'python', 'bin', 'python3'))) throw new Error(`bin/build left no python layer:\n${t.output}`);
      if (counted) ours.push({ ms: t.ms, rssKb: t.rssKb, bytes: servedBytes(w) });
    } finally {
      rmrf(root);
    }
  };
  const runFloor = async (counted: boolean) => {
    const dir = tempDir('runtime-floor');
    try {
      clearLogs(w);
      const t = mustSucceed('curl | tar', await timed('bash', ['-o', 'pipefail', '-c', `curl -sf ${url} | tar -xz -C ${dir}`]));
      if (counted) floor.push({ ms: t.ms, rssKb: t.rssKb, bytes: servedBytes(w) });
    } finally {
      rmrf(dir);
    }
  };
  await loop(w, 'runtime', async (i, counted) => {
    // Rotate the order each iteration: the floor and every variant take each position in turn.
    const jobs = [() => runFloor(counted), ...variants.map((v, k) => () => runOurs(counted, v, oursBy[k]!))];
    for (let j = 0; j < jobs.length; j++) await jobs[(i + j) % jobs.length]!();
  });
  if (variants.length > 1) {
    return variants.map((v, k) =>
      ratioTarget({ id: `runtime-${v.label}`, scenario: `runtime install: ${v.label}`, status: 'ok', warmup: w.opts.warmup, runs: w.opts.runs, ours: figures(oursBy[k]!), floor: figures(floor) }, 1.2),
    );
  }
  const ours = oursBy[0]!;

  const install: Row = ratioTarget(
    {
      id: 'runtime',
      scenario: `runtime install, Python ${w.runtime.version} from the mirror`,
      status: 'ok',
      measures: 'bin/build process (no dependencies), spawn to exit',
      warmup: w.opts.warmup,
      runs: w.opts.runs,
      ours: figures(ours),
      floorMeasures: 'curl -s URL | tar -xz into an empty dir',
      floor: figures(floor),
    },
    1.2,
  );
  const rss = install.ours?.peakRssMb;
  const memory: Row = {
    id: 'runtime-rss',
    scenario: 'peak RSS of bin/build during the runtime install',
    status: 'ok',
    measures: 'peak RSS (MB), GNU time %M, median over runs',
    runs: w.opts.runs,
    ...(rss !== undefined ? { ours: { samples: ours.map((s) => Math.round((s.rssKb ?? 0) / 102.4) / 10), median: rss, min: Math.min(...ours.map((s) => (s.rssKb ?? 0) / 1024)), max: Math.max(...ours.map((s) => (s.rssKb ?? 0) / 1024)) } } : {}),
    floorMeasures: 'curl | tar: peak RSS of the largest process',
    ...(install.floor?.peakRssMb !== undefined ? { floor: { samples: [], median: install.floor.peakRssMb, min: install.floor.peakRssMb, max: install.floor.peakRssMb } } : {}),
    target: { text: 'median <= 150 MB', ...(rss !== undefined ? { met: rss <= 150 } : {}) },
  };
  if (memory.ours) {
    memory.ours.min = Math.round(memory.ours.min * 10) / 10;
    memory.ours.max = Math.round(memory.ours.max * 10) / 10;
  }
  return [install, memory];
}

// ---------------------------------------------------------------------------------------------
// builds through the lifecycle: cold, warm, one requirement added

const PENDING_DEPS = 'pending: dependency layers not implemented (no site-packages layer after a build)';

async function appScenario(w: World, spec: AppSpec): Promise<Scenario> {
  const s = createScenario(spec.fixture, { buildpackDir: w.opts.buildpackDir });
  s.writeAppFile('requirements.txt', spec.requirements);
  s.setEnv('BP_PYTHON_MANIFEST', w.manifest);
  const pip = w.index.pipEnv();
  s.setEnv('PIP_INDEX_URL', pip.PIP_INDEX_URL);
  s.setEnv('PIP_TRUSTED_HOST', pip.PIP_TRUSTED_HOST);
  return s;
}

function buildOk(what: string, r: BuildResult): BuildResult {
  if (!r.success) throw new Error(`${what}: the ${r.failedPhase} phase failed (exit ${r.exitCode}):\n${r.log.slice(-4000)}`);
  return r;
}

function totalMs(r: PhasesResult): number {
  return Object.values(r.phases).reduce((n, p) => n + (p?.durationMs ?? 0), 0);
}

function hasSitePackages(s: Scenario): boolean {
  return fs.existsSync(path.join(layerPath(s, 'site-packages') + '.toml')) || fs.existsSync(layerPath(s, 'site-packages'));
}

/** The floor of a cold build: curl | tar, python -m venv, pip install -r with an empty pip cache; then
 *  the floor of "one added": a fresh venv and pip install -r with the cache the first install left. */
async function floorBuilds(w: World, spec: AppSpec): Promise<{ cold: Sample; added: Sample }> {
  const root = tempDir(`floor-${spec.id}`);
  try {
    const req = path.join(root, 'requirements.txt');
    const reqPlus = path.join(root, 'requirements-plus-one.txt');
    fs.writeFileSync(req, spec.requirements);
    fs.writeFileSync(reqPlus, spec.plusOne);
    const pip = w.index.pipEnv();
    const env: NodeJS.ProcessEnv = { ...process.env, ...pip, PIP_CACHE_DIR: path.join(root, 'pip-cache'), PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' };
    delete env.PYTHONHOME;
    delete env.VIRTUAL_ENV;
    const url = w.mirror.urlFor(w.runtime.file);
    const py = path.join(root, 'python');
    fs.mkdirSync(py);
    clearLogs(w);
    const cold = mustSucceed(
      'floor cold build',
      await timed(
        'bash',
        ['-o', 'pipefail', '-ec', `curl -sf ${url} | tar -xz -C ${py} --strip-components=1; ${py}/bin/python3 -m venv ${root}/venv; ${root}/venv/bin/pip install -q -r ${req}`],
        { env, cwd: root },
      ),
    );
    const coldBytes = servedBytes(w);
    clearLogs(w);
    const added = mustSucceed('floor one-added', await timed('bash', ['-ec', `${py}/bin/python3 -m venv ${root}/venv2; ${root}/venv2/bin/pip install -q -r ${reqPlus}`], { env, cwd: root }));
    return { cold: { ms: cold.ms, rssKb: cold.rssKb, bytes: coldBytes }, added: { ms: added.ms, rssKb: added.rssKb, bytes: servedBytes(w) } };
  } finally {
    rmrf(root);
  }
}

/** One row group of cold / warm / one-added builds beside its floor: the pip apps and the Poetry app. */
interface Series {
  id: string;
  label: string;
  /** What "one added" means for this series, e.g. "one requirement added". */
  addedName: string;
  /** A fresh scenario, ready for the cold build. */
  scenario(): Promise<Scenario>;
  /** Makes the one-added change in the scenario. */
  addOne(s: Scenario): void;
  /** The floor's cold build and its one-added build. */
  floor(): Promise<{ cold: Sample; added: Sample }>;
  floorMeasures: { cold: string; added: string };
}

function pipSeries(w: World, spec: AppSpec): Series {
  return {
    id: spec.id,
    label: spec.label,
    addedName: 'one requirement added',
    scenario: () => appScenario(w, spec),
    addOne: (s) => s.writeAppFile('requirements.txt', spec.plusOne),
    floor: () => floorBuilds(w, spec),
    floorMeasures: {
      cold: 'curl | tar -xz + python -m venv + pip install -r (empty pip cache, same index)',
      added: `fresh venv + pip install -r (with ${ADDED_REQUIREMENT}) with a warm pip cache`,
    },
  };
}

async function benchApp(w: World, series: Series): Promise<Row[]> {
  say(`builds: ${series.label}`);
  const ids = { cold: `${series.id}-cold`, warm: `${series.id}-warm`, added: `${series.id}-added` };
  const names = {
    cold: `cold build, ${series.label}`,
    warm: `warm rebuild (nothing changed), ${series.label}`,
    added: `${series.addedName}, ${series.label}`,
  };
  const samples = { cold: [] as Sample[], coldTotal: [] as Sample[], warm: [] as Sample[], warmTotal: [] as Sample[], added: [] as Sample[], addedTotal: [] as Sample[], floorCold: [] as Sample[], floorAdded: [] as Sample[] };
  // Each phase too (the lifecycle group's breakdown, here in the OCI layout).
  const phases = { cold: phaseSamples(), warm: phaseSamples(), added: phaseSamples() };
  let pending = false;

  const runOurs = async (counted: boolean) => {
    const s = await series.scenario();
    try {
      clearLogs(w);
      const cold = buildOk('cold build', await runBuild(s));
      const coldBytes = servedBytes(w);
      if (!hasSitePackages(s)) {
        pending = true;
        return;
      }
      clearLogs(w);
      const warm = buildOk('warm rebuild', await runBuild(s));
      const warmBytes = servedBytes(w);
      series.addOne(s);
      clearLogs(w);
      const added = buildOk('one-added rebuild', await runBuild(s));
      const addedBytes = servedBytes(w);
      if (counted) {
        samples.cold.push({ ms: cold.phases.builder!.durationMs, bytes: coldBytes });
        samples.coldTotal.push({ ms: totalMs(cold) });
        samples.warm.push({ ms: warm.phases.builder!.durationMs, bytes: warmBytes });
        samples.warmTotal.push({ ms: totalMs(warm) });
        samples.added.push({ ms: added.phases.builder!.durationMs, bytes: addedBytes });
        samples.addedTotal.push({ ms: totalMs(added) });
        addPhases(phases.cold, cold);
        addPhases(phases.warm, warm);
        addPhases(phases.added, added);
      }
    } finally {
      s.cleanup();
    }
  };
  const runFloor = async (counted: boolean) => {
    const f = await series.floor();
    if (counted) {
      samples.floorCold.push(f.cold);
      samples.floorAdded.push(f.added);
    }
  };

  await loop(w, series.id, async (i, counted) => {
    if (i % 2 && !pending) {
      await runFloor(counted);
      await runOurs(counted);
    } else {
      await runOurs(counted);
      if (!pending) await runFloor(counted);
    }
    if (pending) throw new PendingSignal();
  }).catch((e) => {
    if (!(e instanceof PendingSignal)) throw e;
  });

  if (pending) {
    return (['cold', 'warm', 'added'] as const).map((k) => ({ id: ids[k], scenario: names[k], status: 'pending' as const, note: PENDING_DEPS }));
  }
  const base = { warmup: w.opts.warmup, runs: w.opts.runs, status: 'ok' as const, measures: 'builder phase (the buildpack\'s own build)' };
  const cold = ratioTarget(
    {
      id: ids.cold,
      scenario: names.cold,
      ...base,
      ours: figures(samples.cold),
      also: { 'whole lifecycle (analyze..export), OCI layout': figures(samples.coldTotal)!, ...phaseFigures(phases.cold) },
      floorMeasures: series.floorMeasures.cold,
      floor: figures(samples.floorCold),
    },
    1.25,
  );
  const warm = absoluteTarget({
    id: ids.warm,
    scenario: names.warm,
    ...base,
    ours: figures(samples.warm),
    also: { 'whole lifecycle (analyze..export), OCI layout': figures(samples.warmTotal)!, ...phaseFigures(phases.warm) },
    note: 'floor of "nothing to do" is ~0: absolute figure',
  }, 250);
  const added = ratioTarget(
    {
      id: ids.added,
      scenario: names.added,
      ...base,
      ours: figures(samples.added),
      also: { 'whole lifecycle (analyze..export), OCI layout': figures(samples.addedTotal)!, ...phaseFigures(phases.added) },
      floorMeasures: series.floorMeasures.added,
      floor: figures(samples.floorAdded),
    },
    1.3,
  );
  return [cold, warm, added];
}

class PendingSignal extends Error {}

// ---------------------------------------------------------------------------------------------
// poetry (issue 15): the Flask example as a Poetry app (test/fixtures/apps/poetry-flask), locked
// here by the same pinned Poetry on the host against the loopback index (poetry.lock records the
// index's URL, which changes every run), as test/integration/poetry.test.ts does. "One added":
// python-dotenv moves from the dev group to main and the lock is made again. The floor: the
// runtime (curl | tar), the pinned Poetry into its own venv, and `poetry sync --only main` into a
// fresh venv (empty Poetry cache); then one added: a fresh venv synced with the warm cache.

const POETRY_FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'apps', 'poetry-flask');
const POETRY_SYNC = 'sync --only main --no-root --compile --no-ansi';

interface PoetryFiles {
  pyproject: string;
  lock: string;
}

/** Poetry's settings outside any project: its cache and config under `root`, no keyring, no prompts. */
function poetryToolEnv(w: World, root: string): NodeJS.ProcessEnv {
  return {
    PATH: `${path.dirname(hostPython())}:/usr/bin:/bin`,
    HOME: root,
    LANG: 'C.UTF-8',
    POETRY_CACHE_DIR: path.join(root, 'poetry-cache'),
    POETRY_CONFIG_DIR: path.join(root, 'poetry-config'),
    POETRY_NO_INTERACTION: '1',
    PYTHON_KEYRING_BACKEND: 'keyring.backends.null.Keyring',
    PIP_CONFIG_FILE: '/dev/null',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    ...w.index.pipEnv(),
  };
}

/** A venv with the pinned Poetry (requirements/poetry.txt: every wheel hash-checked) from the index. */
function installPoetryScript(python: string, venv: string): string {
  return `${python} -m venv ${venv} && ${venv}/bin/python -m pip install -q --require-hashes --no-deps --only-binary=:all: -r ${path.join(REPO_ROOT, 'requirements', 'poetry.txt')}`;
}

function writePoetryFiles(dir: string, files: PoetryFiles): void {
  fs.writeFileSync(path.join(dir, 'pyproject.toml'), files.pyproject);
  fs.writeFileSync(path.join(dir, 'poetry.lock'), files.lock);
}

/** In a scenario's app: through writeAppFile, which hands the files to the build user. */
function writeScenarioPoetryFiles(s: Scenario, files: PoetryFiles): void {
  s.writeAppFile('pyproject.toml', files.pyproject, 0o644);
  s.writeAppFile('poetry.lock', files.lock, 0o644);
}

function replaced(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`bench: ${POETRY_FIXTURE}/pyproject.toml no longer contains ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

async function poetrySeries(w: World): Promise<Series> {
  say('poetry: the pinned Poetry on the host, and the two locks');
  const tool = path.join(w.scratch, 'poetry-host');
  fs.mkdirSync(tool, { recursive: true });
  const env = poetryToolEnv(w, tool);
  mustSucceed('installing the host Poetry', await timed('bash', ['-ec', installPoetryScript(hostPython(), path.join(tool, 'venv'))], { env }));
  const poetry = path.join(tool, 'venv', 'bin', 'poetry');
  const locked = async (pyproject: string): Promise<PoetryFiles> => {
    const dir = fs.mkdtempSync(path.join(tool, 'project-'));
    fs.writeFileSync(path.join(dir, 'pyproject.toml'), pyproject);
    mustSucceed('poetry lock', await timed(poetry, ['lock', '--no-ansi'], { cwd: dir, env }));
    return { pyproject, lock: fs.readFileSync(path.join(dir, 'poetry.lock'), 'utf8') };
  };
  const fixture = fs.readFileSync(path.join(POETRY_FIXTURE, 'pyproject.toml'), 'utf8').replace(/url = "http:\/\/127\.0\.0\.1:\d+\/simple\/"/, `url = "${w.index.url}"`);
  const base = await locked(fixture);
  const plusOne = await locked(replaced(replaced(fixture, '[tool.poetry.group.dev.dependencies]\npython-dotenv = "1.2.4"\n', ''), 'gunicorn = "27.0.1"\n', 'gunicorn = "27.0.1"\npython-dotenv = "1.2.4"\n'));

  const floor = async (): Promise<{ cold: Sample; added: Sample }> => {
    const root = tempDir('floor-poetry');
    try {
      const app = path.join(root, 'app');
      const py = path.join(root, 'python');
      fs.mkdirSync(app);
      fs.mkdirSync(py);
      writePoetryFiles(app, base);
      const fenv = poetryToolEnv(w, root);
      const sync = (venv: string) => `${py}/bin/python3 -m venv ${venv} && cd ${app} && VIRTUAL_ENV=${venv} POETRY_VIRTUALENVS_CREATE=false ${root}/poetry/bin/poetry ${POETRY_SYNC}`;
      clearLogs(w);
      const cold = mustSucceed(
        'floor cold build (Poetry)',
        await timed('bash', ['-o', 'pipefail', '-ec', `curl -sf ${w.mirror.urlFor(w.runtime.file)} | tar -xz -C ${py} --strip-components=1; ${installPoetryScript(`${py}/bin/python3`, `${root}/poetry`)}; ${sync(`${root}/venv`)}`], { env: fenv, cwd: root }),
      );
      const coldBytes = servedBytes(w);
      writePoetryFiles(app, plusOne);
      clearLogs(w);
      const added = mustSucceed('floor one-added (Poetry)', await timed('bash', ['-ec', sync(`${root}/venv2`)], { env: fenv, cwd: root }));
      return { cold: { ms: cold.ms, rssKb: cold.rssKb, bytes: coldBytes }, added: { ms: added.ms, rssKb: added.rssKb, bytes: servedBytes(w) } };
    } finally {
      rmrf(root);
    }
  };

  return {
    id: 'poetry',
    label: 'Flask app as a Poetry project (8 packages)',
    addedName: 'one dependency added (poetry lock)',
    scenario: async () => {
      const s = createScenario('poetry-flask', { buildpackDir: w.opts.buildpackDir });
      writeScenarioPoetryFiles(s, base);
      s.setEnv('BP_PYTHON_MANIFEST', w.manifest);
      for (const [k, v] of Object.entries(w.index.pipEnv())) s.setEnv(k, v);
      return s;
    },
    addOne: (s) => writeScenarioPoetryFiles(s, plusOne),
    floor,
    floorMeasures: {
      cold: `curl | tar -xz + the pinned Poetry (pip install --require-hashes) + python -m venv + poetry ${POETRY_SYNC} (empty caches, same index)`,
      added: `fresh venv + poetry ${POETRY_SYNC} (python-dotenv moved to main) with a warm Poetry cache`,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// lifecycle: what users wait for (issue 20). The whole lifecycle and each phase, for cold, warm,
// app code changed and one requirement added, with the images in a loopback registry as platforms
// use them (the flask/django groups above are the same builds in an OCI layout), the disk synced
// and the page cache dropped between builds, and the lifecycle's own floor: a trivial buildpack
// whose launch layers have the same files as ours and are kept by their metadata alone.

const LC_KINDS = ['cold', 'warm', 'code', 'added'] as const;
type LcKind = (typeof LC_KINDS)[number];
const LC_NAMES: Record<LcKind, string> = { cold: 'cold build', warm: 'warm rebuild (nothing changed)', code: 'app code changed', added: 'one requirement added' };
const LC_PHASES = ['analyzer', 'detector', 'restorer', 'builder', 'exporter'] as const;

/** sync, then drop the page cache when allowed (root, writable /proc/sys): each build starts from the disk. */
function settle(): boolean {
  spawnSync('sync');
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

function duBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return Number(r.stdout.split('\t')[0]) || 0;
}

/** Sum of the compressed layer sizes of <repo>:latest in the registry (what a pull downloads). */
async function imageBytes(registry: Registry, repo: string): Promise<number> {
  const res = await fetch(`http://${registry.host}/v2/${repo}/manifests/latest`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
  if (!res.ok) throw new Error(`GET manifest of ${repo}: HTTP ${res.status}`);
  const manifest = (await res.json()) as { layers: Array<{ size: number }> };
  return manifest.layers.reduce((n, l) => n + l.size, 0);
}

/** The trivial floor buildpack: for each directory of $FLOOR_SRC a launch layer; kept by its metadata
 *  when its key ($FLOOR_SRC/<name>.key) is unchanged, else copied afresh (cp -a). */
function floorBuildpack(root: string): string {
  const dir = path.join(root, 'floor-buildpack');
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'buildpack.toml'), 'api = "0.10"\n\n[buildpack]\nid = "bench/floor"\nversion = "0.0.1"\n\n[[targets]]\nos = "linux"\narch = "amd64"\n');
  fs.writeFileSync(path.join(dir, 'bin', 'detect'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  fs.writeFileSync(
    path.join(dir, 'bin', 'build'),
    [
      '#!/bin/bash',
      'set -eu',
      'layers="${CNB_LAYERS_DIR:-$1}"',
      'src="$(cat "$CNB_PLATFORM_DIR/env/FLOOR_SRC")"',
      'for d in "$src"/*/; do',
      '  name="$(basename "$d")"; key="$(cat "$src/$name.key")"',
      '  if ! grep -qs "key = \\"$key\\"" "$layers/$name.toml"; then rm -rf "${layers:?}/$name"; cp -a "$d" "$layers/$name"; fi',
      '  printf \'[types]\\nlaunch = true\\n[metadata]\\nkey = "%s"\\n\' "$key" > "$layers/$name.toml"',
      'done',
      'printf \'[[processes]]\\ntype = "web"\\ncommand = ["true"]\\ndefault = true\\n\' > "$layers/launch.toml"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  spawnSync('chmod', ['-R', 'a+rX', root]);
  return dir;
}

/** One pass: cold, warm, code changed, one added through the registry; `layerSource` copies ours for the floor. */
async function lifecycleSequence(s: Scenario, spec: AppSpec, build: () => Promise<RegistryBuildResult>, beforeAdded: () => void): Promise<Record<LcKind, RegistryBuildResult>> {
  const out: Partial<Record<LcKind, RegistryBuildResult>> = {};
  for (const kind of LC_KINDS) {
    if (kind === 'code') s.writeAppFile(spec.codeFile, `${fs.readFileSync(path.join(s.sourceDir, spec.codeFile), 'utf8')}\n# changed ${Date.now()}\n`);
    if (kind === 'added') beforeAdded();
    settle();
    const r = await build();
    // BENCH_LOGS=DIR keeps each build's log (what a figure was made of), e.g. to see where a build spends its time.
    if (process.env.BENCH_LOGS) {
      fs.mkdirSync(process.env.BENCH_LOGS, { recursive: true });
      fs.writeFileSync(path.join(process.env.BENCH_LOGS, `${spec.id}-${path.basename(s.root)}-${kind}.log`), r.log);
    }
    if (!r.success) throw new Error(`${spec.id} ${kind}: the ${r.failedPhase} phase failed (exit ${r.exitCode}):\n${r.log.slice(-4000)}`);
    out[kind] = r;
  }
  return out as Record<LcKind, RegistryBuildResult>;
}

function phaseMs(r: PhasesResult, phase: (typeof LC_PHASES)[number]): number {
  return r.phases[phase]?.durationMs ?? 0;
}

type PhaseSamples = Record<(typeof LC_PHASES)[number], Sample[]>;

function phaseSamples(): PhaseSamples {
  return Object.fromEntries(LC_PHASES.map((p) => [p, [] as Sample[]])) as PhaseSamples;
}

function addPhases(into: PhaseSamples, r: PhasesResult): void {
  for (const p of LC_PHASES) into[p].push({ ms: phaseMs(r, p) });
}

function phaseFigures(from: PhaseSamples): Record<string, Figures> {
  return Object.fromEntries(LC_PHASES.map((p) => [p, figures(from[p])!]));
}

async function benchLifecycle(w: World, spec: AppSpec): Promise<Row[]> {
  say(`whole lifecycle through a registry: ${spec.label}`);
  const registry = await startRegistry();
  const root = tempDir(`lc-${spec.id}`);
  fs.chmodSync(root, 0o755);
  const ours = Object.fromEntries(LC_KINDS.map((k) => [k, { total: [] as Sample[], phases: phaseSamples() }])) as Record<LcKind, { total: Sample[]; phases: PhaseSamples }>;
  const floor = Object.fromEntries(LC_KINDS.map((k) => [k, { total: [] as Sample[], builder: [] as Sample[] }])) as Record<LcKind, { total: Sample[]; builder: Sample[] }>;
  const installFloor = { cold: [] as Sample[], added: [] as Sample[] };
  const appTar: Sample[] = [];
  const collectstatic: Sample[] = [];
  const sizes = { cacheBytes: [] as number[], imageBytes: [] as number[], floorImageBytes: [] as number[] };
  let dropped = true;
  try {
    const runImage = pushRunImage(registry);
    const floorDir = floorBuildpack(root);
    let n = 0;
    await loop(w, `${spec.id} (registry)`, async (_i, counted) => {
      const repo = `bench/${spec.id}-${++n}`;
      const s = await appScenario(w, spec);
      const src = path.join(root, `floor-src-${n}`);
      const f = createScenario(spec.fixture, { buildpackDir: floorDir });
      try {
        const oursRun = () =>
          lifecycleSequence(s, spec, () => runRegistryBuild(s, { registry, image: registry.ref(repo), runImage }), () => s.writeAppFile('requirements.txt', spec.plusOne));
        // The floor's layers: copies of the layers our cold build made (same files, same sizes).
        const floorRun = () => {
          f.writeAppFile('requirements.txt', spec.requirements);
          f.setEnv('FLOOR_SRC', src);
          return lifecycleSequence(f, spec, () => runRegistryBuild(f, { registry, image: registry.ref(`${repo}-floor`), runImage }), () => fs.writeFileSync(path.join(src, 'site-packages.key'), 'plus-one'));
        };
        const a = await oursRun();
        fs.mkdirSync(src);
        for (const layer of ['python', 'site-packages']) {
          spawnSync('cp', ['-a', layerPath(s, layer), path.join(src, layer)]);
          fs.writeFileSync(path.join(src, `${layer}.key`), 'initial');
        }
        spawnSync('chmod', ['-R', 'a+rX', src]);
        // The layers dir still holds the layers our last build (one added) made: both created.
        const b = await floorRun();
        const inst = await floorBuilds(w, spec);
        dropped = settle() && dropped;
        const tar = mustSucceed('app tar', await timed('bash', ['-o', 'pipefail', '-ec', `tar -cf - -C ${s.appDir} . | sha256sum`]));
        if (!counted) return;
        for (const k of LC_KINDS) {
          ours[k].total.push({ ms: totalMs(a[k]) });
          addPhases(ours[k].phases, a[k]);
          floor[k].total.push({ ms: totalMs(b[k]) });
          floor[k].builder.push({ ms: phaseMs(b[k], 'builder') });
        }
        installFloor.cold.push(inst.cold);
        installFloor.added.push(inst.added);
        appTar.push({ ms: tar.ms });
        const cs = /Collected static files in ([\d.]+)(m?s)/.exec(a.code.buildLog);
        if (cs) collectstatic.push({ ms: Number(cs[1]) * (cs[2] === 's' ? 1000 : 1) });
        sizes.cacheBytes.push(duBytes(s.cacheDir));
        sizes.imageBytes.push(await imageBytes(registry, repo));
        sizes.floorImageBytes.push(await imageBytes(registry, `${repo}-floor`));
      } finally {
        s.cleanup();
        f.cleanup();
        rmrf(src);
      }
    });
  } finally {
    await registry.close();
    rmrf(root);
  }

  const med = (xs: Sample[]) => figures(xs)?.median ?? 0;
  // Floors (see bench/README.md): the trivial buildpack's whole lifecycle; for cold and one-added its
  // lifecycle without its builder phase (copying the files), plus the plain install of the same work.
  const floorOf: Record<LcKind, Sample[]> = {
    cold: floor.cold.total.map((t, i) => ({ ms: t.ms - floor.cold.builder[i]!.ms + installFloor.cold[i]!.ms })),
    warm: floor.warm.total,
    code: floor.code.total,
    added: floor.added.total.map((t, i) => ({ ms: t.ms - floor.added.builder[i]!.ms + installFloor.added[i]!.ms })),
  };
  const floorText: Record<LcKind, string> = {
    cold: 'trivial buildpack, same layer files: its lifecycle without its builder phase + curl | tar, python -m venv, pip install -r (empty pip cache)',
    warm: 'trivial buildpack, same layer files kept by metadata: whole lifecycle',
    code: 'the same, app code changed',
    added: 'trivial buildpack (site-packages recopied): its lifecycle without its builder phase + fresh venv and pip install -r with a warm pip cache',
  };
  const rows = LC_KINDS.map((k): Row => {
    const row: Row = {
      id: `${spec.id}-lc-${k}`,
      scenario: `${LC_NAMES[k]}, ${spec.label}, registry`,
      status: 'ok',
      measures: 'whole lifecycle (analyzer..exporter) exporting to a loopback registry',
      warmup: w.opts.warmup,
      runs: w.opts.runs,
      ours: figures(ours[k].total),
      also: phaseFigures(ours[k].phases),
      floorMeasures: floorText[k],
      floor: figures(floorOf[k]),
    };
    return row;
  });
  const [cold, warm, code, added] = rows as [Row, Row, Row, Row];
  ratioTarget(warm, 3);
  ratioTarget(added, 1.2);
  ratioTarget(cold, 1.1);
  // App code changed: at most warm + the app layer's own tar time + 1 s (+ collectstatic).
  const codeLimit = med(ours.warm.total) + med(appTar) + 1000 + (collectstatic.length ? med(collectstatic) : 0);
  code.target = { text: `median <= warm + app tar (${fmtMs(med(appTar))}) + 1 s${collectstatic.length ? ` + collectstatic (${fmtMs(med(collectstatic))})` : ''} = ${fmtMs(codeLimit)}`, ...(code.ours ? { met: code.ours.median <= codeLimit } : {}) };
  const mid = (xs: number[]) => (xs.length ? Math.round(median(xs)) : undefined);
  const sizeRow: Row = {
    id: `${spec.id}-lc-sizes`,
    scenario: `cache and image size, ${spec.label}`,
    status: 'ok',
    note: `build cache after one added ${fmtBytes(mid(sizes.cacheBytes))}; image (compressed layers) ${fmtBytes(mid(sizes.imageBytes))}, the floor's ${fmtBytes(mid(sizes.floorImageBytes))}${dropped ? '' : '; page cache NOT dropped between builds (not permitted here): synced only'}`,
    sizes: { cacheBytes: mid(sizes.cacheBytes), imageBytes: mid(sizes.imageBytes), floorImageBytes: mid(sizes.floorImageBytes) },
  };
  return [...rows, sizeRow];
}

// ---------------------------------------------------------------------------------------------
// Output

function fmtMs(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function fmtBytes(b: number | undefined): string {
  if (b === undefined) return '';
  if (b >= 1048576) return `${(b / 1048576).toFixed(1)} MiB`;
  if (b >= 1024) return `${(b / 1024).toFixed(0)} KiB`;
  return `${b} B`;
}

function table(rows: Row[]): string {
  const header = ['scenario', 'median', 'min..max', 'floor', 'ratio', 'RSS', 'downloaded', 'target', 'met'];
  const lines: string[][] = [header];
  for (const r of rows) {
    if (r.status !== 'ok') {
      lines.push([r.scenario, r.status.toUpperCase(), '', '', '', '', '', r.target?.text ?? '', r.note ?? '']);
      continue;
    }
    const isRss = r.id === 'runtime-rss';
    const v = (x: number | undefined) => (isRss ? (x === undefined ? '' : `${x} MB`) : fmtMs(x));
    lines.push([
      r.scenario,
      v(r.ours?.median),
      r.ours ? `${v(r.ours.min)}..${v(r.ours.max)}` : '',
      v(r.floor?.median),
      r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : '',
      !isRss && r.ours?.peakRssMb !== undefined ? `${r.ours.peakRssMb} MB` : '',
      fmtBytes(r.ours?.bytesDownloaded),
      r.target?.text ?? '',
      r.target?.met === undefined ? '' : `${r.target.met ? 'met' : 'NOT MET'}${r.target.appliesTo ? ' (*)' : ''}`,
    ]);
    for (const [name, f] of Object.entries(r.also ?? {})) {
      lines.push([`  ${name}`, fmtMs(f.median), `${fmtMs(f.min)}..${fmtMs(f.max)}`, '', '', '', '', '', '']);
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  const out = lines.map((l) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
  out.splice(1, 0, widths.map((n) => '-'.repeat(n)).join('  '));
  const notes = rows.filter((r) => r.target?.appliesTo).map((r) => `(*) ${r.scenario}: the target is for ${r.target!.appliesTo}`);
  const remarks = rows.filter((r) => r.status === 'ok' && r.note).map((r) => `${r.scenario}: ${r.note}`);
  return [...out, ...notes, ...remarks].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const started = performance.now();
  checkSetup();
  checkBundle(opts.buildpackDir);
  const mirror = await startMirror();
  const index = await startPackageIndex();
  const scratch = tempDir('world');
  fs.chmodSync(scratch, 0o755);
  const rows: Row[] = [];
  const load = [os.loadavg()[0]];
  try {
    const runtime = readFixtureIndex(mirror.root).runtimes.find((r) => r.flavor !== 'full' && r.version.startsWith('3.11.'));
    if (!runtime) throw new Error('no 3.11 runtime fixture: run test/setup/prepare-runtimes.sh');
    const manifest = await writeRuntimeManifest(mirror, path.join(scratch, 'runtimes.toml'));
    fs.chmodSync(manifest, 0o644);
    const w: World = { opts, mirror, index, runtime, manifest, scratch, form: buildpackForm(opts.buildpackDir) };
    const want = (group: string) => !opts.only || opts.only.has(group);
    say(`bench: ${opts.quick ? 'quick' : 'full'} mode, ${opts.warmup} warm-up + ${opts.runs} counted runs; buildpack ${opts.buildpackDir} (${w.form} form)`);

    if (opts.compare) {
      rows.push(...(await benchRuntime(w, opts.compare)));
      opts.only = new Set(['none']);
    }
    if (want('detect')) rows.push(...(await benchDetect(w)));
    // The packaged form too, when `npm run package` has made it (CI does before the bench).
    const packagedDir = path.join(REPO_ROOT, 'dist', 'buildpack');
    if (want('detect') && w.form === 'repository' && fs.existsSync(path.join(packagedDir, 'bin', 'detect'))) {
      rows.push(...(await benchDetect({ ...w, opts: { ...w.opts, buildpackDir: packagedDir }, form: 'packaged' })));
    }
    if (want('package')) rows.push(packageSizes());
    if (want('runtime')) rows.push(...(await benchRuntime(w)));
    for (const spec of appSpecs()) {
      if (!want(spec.id)) continue;
      if (opts.quick && spec.id === 'django') {
        for (const [k, name] of [['cold', 'cold build'], ['warm', 'warm rebuild (nothing changed)'], ['added', 'one requirement added']] as const) {
          rows.push({ id: `${spec.id}-${k}`, scenario: `${name}, ${spec.label}`, status: 'skipped', note: 'skipped in --quick (slowest scenario)' });
        }
        continue;
      }
      rows.push(...(await benchApp(w, pipSeries(w, spec))));
    }
    if (want('poetry')) rows.push(...(await benchApp(w, await poetrySeries(w))));
    // The whole lifecycle through a registry (issue 20): not in CI's --quick list; in --quick mode the Flask app only.
    // `--only lifecycle-django` (or -flask): one app's whole-lifecycle group.
    for (const spec of appSpecs()) {
      if (!opts.compare && (want('lifecycle') || want(`lifecycle-${spec.id}`)) && (!opts.quick || spec.id === 'flask')) rows.push(...(await benchLifecycle(w, spec)));
    }
    if (!opts.compare && want('sqlite')) rows.push(...(await benchSqlite(w)));
    if (!opts.compare && want('start')) rows.push(...(await benchAppStart(w)));
    if (!opts.compare && want('source-runtime')) rows.push(...(await benchSourceRuntime(w)));
    if (!opts.compare && want('pack')) rows.push(...(await benchPack(w)));
  } finally {
    cleanupScenarios();
    await mirror.close();
    await index.close();
    rmrf(scratch);
  }
  load.push(os.loadavg()[0]);

  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  const result = {
    about: 'python-cnb benchmark (npm run bench). Times in ms (medians of counted runs); RSS in MB; bytes served by the loopback mirror and index. Floors ran in the same loop as ours, alternating order.',
    date: new Date().toISOString(),
    mode: opts.quick ? 'quick' : 'full',
    warmup: opts.warmup,
    runs: opts.runs,
    durationS: Math.round((performance.now() - started) / 1000),
    machine: { cpus: os.cpus().length, memMb: Math.round(os.totalmem() / 1048576), node: process.version, loadavg1mStartEnd: load.map((x) => Math.round(x! * 100) / 100) },
    buildpack: { dir: opts.buildpackDir, form: buildpackForm(opts.buildpackDir), commit: git, srcUncommittedChanges: dirty },
    rows,
  };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\n${table(rows)}\n\nbench: ${result.durationS} s, ${result.mode} mode; wrote ${path.relative(process.cwd(), opts.out) || opts.out}\n`);
}

main().catch((e) => {
  cleanupScenarios();
  process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
