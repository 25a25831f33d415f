// Build: orchestration only. Analyse the app and resolve versions up front (bad input fails before
// any download), then the layers in order, then launch.toml. Each layer lives in src/layers/<name>.ts.
import * as path from 'node:path';
import type { BuildContext } from './cnb/context';
import { describeTarget } from './cnb/context';
import { bindingsOfType, readBindings } from './cnb/bindings';
import { writeLaunchToml } from './cnb/launch';
import { entriesNamed, readBuildpackPlan } from './cnb/plan';
import type { BuildpackPlan } from './cnb/schemas';
import { PLAN } from './detect';
import { fetchText } from './io/download';
import { readFile } from './io/fs';
import { applyLayers, LayerEnv } from './cnb/env';
import { dropLayer } from './cnb/layer';
import { UserError } from './errors';
import { installPip } from './layers/pip';
import { openPipCache } from './layers/pip-cache';
import { installUv } from './layers/uv';
import { openUvCache } from './layers/uv-cache';
import { installPython } from './layers/python';
import { writeWebConcurrency } from './layers/web-concurrency';
import { chooseSqliteEntry, installSqlite, removeSqliteLayer, sqliteWanted, withSqlite, type SqliteResult } from './layers/sqlite';
import { runCollectstatic } from './django';
import { dependenciesKey, installSitePackages, readDependencyInputs } from './layers/site-packages';
import { preparePrivateDependencies, sshSources } from './private-deps';
import { Log, formatDuration, listing } from './log';
import { defaultWebProcess, definesFlaskApp, parseProcfile, procfileProcesses, type ProcfileEntry } from './processes';
import { pathExists, readSmallFile, listDir } from './io/fs';
import type { Process } from './cnb/schemas';
import { analyseProject, describeEntry, readApp, type Project } from './project';
import { buildpackManifest, forTarget, loadOperatorManifest, mergeManifests, type Dependency, type Manifest } from './python/manifest';
import { mirrorsFromBinding, mirrorsFromEnv } from './python/mirrors';
import { resolvePython, type PlanConstraint } from './python/resolve';
import type { VersionSource } from './python/version-request';
import type { BuildpackInfo } from './buildpack-info';

const OUR_SOURCES: ReadonlySet<string> = new Set<VersionSource>(['BP_PYTHON_VERSION', 'runtime.txt', '.python-version', 'Pipfile.lock', 'Pipfile', 'pyproject.toml']);

export async function build(ctx: BuildContext, info: BuildpackInfo, log: Log): Promise<void> {
  const started = Date.now();
  log.title(`${info.name} buildpack ${info.version}`);

  // 1. Analyse: everything that can be wrong with the input is found here.
  const plan = await readBuildpackPlan(ctx.buildpackPlanPath);
  const app = await readApp(ctx.appDir);
  log.step('Reading the app');
  log.info(`Target: ${describeTarget(ctx.target)}`);
  log.info(`App files: ${app.entries.length ? listing(app.entries.map((e) => describeEntry(e.name, e.kind)).slice(0, 30)) : '(none)'}${app.entries.length > 30 ? ` and ${app.entries.length - 30} more` : ''}`);
  const project = analyseProject(app, ctx.env);
  logDependencies(project, log);
  const manager = project.dependencies.manager;
  const dependencyInputs = manager ? await readDependencyInputs(ctx.appDir, manager, ctx.env) : undefined;
  const procfile = await readProcfile(ctx.appDir);
  const sqlite = sqliteWanted(ctx.env);

  const operator = await loadOperatorManifest(ctx.env.BP_PYTHON_MANIFEST, { readText: (p) => readFile(p, 'utf8'), fetchText });
  const manifest = mergeManifests(operator, buildpackManifest(info.metadata));
  if (operator) log.info(`Operator manifest (BP_PYTHON_MANIFEST): ${operator.dependencies.length} entries, replacing the buildpack's for ${listing([...new Set(operator.dependencies.map((d) => d.id))])}`);
  const bindings = await readBindings(ctx.platformDir, ctx.env);
  const mirrorBindings = bindingsOfType(bindings, 'dependency-mirror');
  const mirrors = [mirrorsFromEnv(ctx.env), ...mirrorBindings.map((b) => mirrorsFromBinding(b.entries, b.name))];
  // SSH settings are checked now, before anything is downloaded (a bad key fails fast).
  if (dependencyInputs) sshSources(ctx.env, bindings);

  log.step('Python version');
  for (const r of project.versionRequests) log.info(`Found ${r.spec} in ${r.origin}`);
  for (const w of project.versionWarnings) log.warning(w.title, w.body);
  const python = resolvePython({
    requests: project.versionRequests,
    constraints: planConstraints(plan),
    available: forTarget(manifest, 'python', ctx.target),
    arch: ctx.target.arch,
    defaultVersion: manifest.defaults.python,
    today: new Date(),
  });
  for (const note of python.notes) log.info(note);
  for (const w of python.warnings) log.warning(w.title, w.body);

  // The installer: uv for uv.lock, pip for everything else; each pinned in buildpack.toml.
  const installer = dependencyInputs ? pinnedTool(manifest, info, dependencyInputs.manager.kind === 'uv' ? 'uv' : 'pip', ctx.target) : undefined;

  // 2. Layers. SQLite needs neither Python nor the dependencies, so it is built beside the Python
  // install (its log is kept and shown after). The dependency install waits for it, because
  // packages with C extensions compile against sqlite3.h.
  let sqliteTask: Promise<SqliteResult> | undefined;
  let sqliteLog: ReturnType<typeof Log.buffered> | undefined;
  if (sqlite.wanted) {
    sqliteLog = Log.buffered();
    const entry = chooseSqliteEntry(forTarget(manifest, 'sqlite', ctx.target));
    sqliteTask = installSqlite({ layersDir: ctx.layersDir, entry, target: ctx.target, mirrors, env: definedEnv(withoutSecrets(ctx.env)), log: sqliteLog.log, explicitlyRequested: sqlite.explicit });
    sqliteTask.catch(() => undefined); // awaited below; do not let it go unhandled meanwhile
  }
  log.step(`Installing Python ${python.version}`);
  const runtime = await installPython({ layersDir: ctx.layersDir, entry: python.entry, target: ctx.target, mirrors, log });
  const pythonExe = path.join(runtime.dir, 'bin', 'python3');
  const sqliteDone = async (): Promise<SqliteResult | undefined> => {
    if (!sqliteTask || !sqliteLog) return undefined;
    const started = Date.now();
    try {
      return await sqliteTask;
    } finally {
      log.step(`Installing SQLite3 (built beside the Python install${Date.now() - started > 50 ? `; waited ${formatDuration(Date.now() - started)} for it` : ''})`);
      sqliteLog.flushTo(log);
      sqliteTask = undefined;
    }
  };
  if (!sqlite.wanted) {
    log.step('Installing SQLite3');
    await removeSqliteLayer(ctx.layersDir, log);
  }
  const sqliteResult = await sqliteDone();

  if (dependencyInputs && installer) {
    log.step(`Installing dependencies with ${installer.id} from ${dependencyInputs.label}`);
    // pip, uv, build backends and manage.py never see the SSH key: only the private-deps setup reads it.
    const baseEnv = applyLayers(withoutSecrets(ctx.env), [{ dir: runtime.dir, env: runtime.env, hasBin: true, hasLib: true }], 'build');
    const cacheOpts = { layersDir: ctx.layersDir, pythonVersion: python.version, target: ctx.target, log };
    let tool: { layers: Parameters<typeof applyLayers>[1]; uv?: string; installer: string };
    if (installer.id === 'uv') {
      const uv = await installUv({ layersDir: ctx.layersDir, entry: installer, arch: ctx.target.arch, python: pythonExe, buildEnv: baseEnv, mirrors, log });
      const cache = await openUvCache(cacheOpts);
      tool = { layers: [{ dir: cache.dir, env: cache.env }], uv: uv.uv, installer: `uv ${uv.version}` };
      for (const name of ['pip', 'pip-cache']) await dropLayer(ctx.layersDir, name);
    } else {
      const pip = await installPip({ layersDir: ctx.layersDir, entry: installer, pythonVersion: python.version, python: pythonExe, buildEnv: baseEnv, mirrors, log });
      const cache = await openPipCache(cacheOpts);
      tool = { layers: [{ dir: pip.dir, env: pip.env, hasBin: true }, { dir: cache.dir, env: cache.env }], installer: `pip ${pip.version}` };
      for (const name of ['uv', 'uv-cache']) await dropLayer(ctx.layersDir, name);
    }
    const withTool = applyLayers(baseEnv, [...tool.layers, { dir: '', env: installEnv() }], 'build');
    const buildEnv = sqliteResult?.dir ? withSqlite(withTool, sqliteResult.dir) : withTool;
    // Private dependencies (src/private-deps.ts): SSH key / index credentials in a private temp dir, removed after the install.
    const privateDeps = await preparePrivateDependencies({ env: { ...ctx.env, ...buildEnv }, bindings, platformDir: ctx.platformDir, log });
    const venv = await installSitePackages({
      layersDir: ctx.layersDir,
      appDir: ctx.appDir,
      inputs: dependencyInputs,
      key: dependenciesKey(dependencyInputs, { pythonVersion: python.version, installer: tool.installer, target: ctx.target }),
      python: pythonExe,
      uv: tool.uv,
      buildEnv: { ...buildEnv, ...privateDeps.env },
      force: ctx.env.BP_PYTHON_FORCE_REINSTALL === 'true',
      log: privateDeps.log,
    }).catch(privateDeps.rethrow).finally(privateDeps.cleanup);
    const appEnv = applyLayers(buildEnv, [{ dir: venv.dir, env: venv.env, hasBin: true }], 'build');
    await runCollectstatic({ appDir: ctx.appDir, venvDir: venv.dir, env: appEnv, log });
  } else {
    // No dependencies (any more): a restored venv or installer must not linger in the image or cache.
    for (const name of ['site-packages', 'pip', 'pip-cache', 'uv', 'uv-cache']) await dropLayer(ctx.layersDir, name);
  }

  log.step('Process types');
  const processes = await chooseProcesses(ctx.appDir, ctx.layersDir, procfile, ctx.env, log);
  await writeWebConcurrency(ctx.layersDir);
  await writeLaunchToml(path.join(ctx.layersDir, 'launch.toml'), processes);
  log.step(`Done (${formatDuration(Date.now() - started)})`);
}

async function readProcfile(appDir: string): Promise<ProcfileEntry[] | undefined> {
  const file = path.join(appDir, 'Procfile');
  if (!(await pathExists(file))) return undefined;
  const read = await readSmallFile(file);
  if (!read.ok) throw new UserError('Procfile cannot be read', [`Procfile ${read.problem}.`]);
  return parseProcfile(read.bytes.toString('utf8'));
}

async function chooseProcesses(appDir: string, layersDir: string, procfile: ProcfileEntry[] | undefined, env: BuildContext['env'], log: Log): Promise<Process[]> {
  if (procfile) {
    log.info(`Procfile declares types -> ${procfile.length ? procfile.map((e) => e.type).join(', ') : '(none)'}`);
    return procfileProcesses(procfile);
  }
  log.info('Procfile declares types -> (none)');
  if (env.BP_PYTHON_DEFAULT_PROCESS === 'false') {
    log.info('No default web process: BP_PYTHON_DEFAULT_PROCESS=false');
    return [];
  }
  const entries = await listDir(appDir);
  const djangoProjects: string[] = [];
  if (entries.some((e) => e.name === 'manage.py')) {
    for (const e of entries) if (e.kind === 'dir' && (await pathExists(path.join(appDir, e.name, 'wsgi.py')))) djangoProjects.push(e.name);
  }
  const flaskModules: string[] = [];
  for (const module of ['app', 'wsgi', 'main']) {
    const read = await readSmallFile(path.join(appDir, `${module}.py`));
    if (read.ok && definesFlaskApp(read.bytes.toString('utf8'))) flaskModules.push(module);
  }
  const hasGunicorn = await pathExists(path.join(layersDir, 'site-packages', 'bin', 'gunicorn'));
  const choice = defaultWebProcess({ hasGunicorn, djangoProjects, flaskModules });
  if (choice.process) {
    log.info(`Default web process: ${choice.process.args?.[0]} (${choice.reason})`);
    log.detail('Override it with a Procfile (web: <command>), or set BP_PYTHON_DEFAULT_PROCESS=false');
    return [choice.process];
  }
  log.info(`No default web process (${choice.reason}). Add a Procfile, for example: web: gunicorn app:app --bind 0.0.0.0:$PORT`);
  return [];
}

/** The manifest entry of a build tool pinned in buildpack.toml ([metadata] pip-version, uv-version). */
function pinnedTool(manifest: Manifest, info: BuildpackInfo, id: 'pip' | 'uv', target: BuildContext['target']): Dependency {
  const version = String(info.metadata[`${id}-version`] ?? '');
  const entry = forTarget(manifest, id, target).find((d) => d.version === version);
  if (!entry) {
    throw new UserError(`${id} ${version} is not in the dependency manifest`, [
      `buildpack.toml pins ${id} ${version}, but no manifest entry with id "${id}" and that version exists for ${target.arch}.`,
      `If you use BP_PYTHON_MANIFEST, add the pinned ${id} wheel to it.`,
    ]);
  }
  return entry;
}

/** Secrets the platform passes only for the private-deps setup (src/private-deps.ts). */
const SECRET_ENV = ['CUSTOM_SSH_KEY', 'CUSTOM_SSH_KNOWN_HOSTS'];

function withoutSecrets(env: BuildContext['env']): BuildContext['env'] {
  const out = { ...env };
  for (const name of SECRET_ENV) delete out[name];
  return out;
}

function definedEnv(env: BuildContext['env']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Settings for every pip run. SOURCE_DATE_EPOCH makes pip compile hash-based .pyc files
 *  (py_compile switches to CHECKED_HASH when it is set), so the exporter resetting every mtime to
 *  1980 does not make them stale; 315532801 (1980-01-01T00:00:01Z) because ZIP cannot store dates
 *  before 1980 (Heroku's python.rs chose the same). */
function installEnv(): LayerEnv {
  return LayerEnv.empty()
    .override('SOURCE_DATE_EPOCH', '315532801', 'build')
    .override('PIP_DISABLE_PIP_VERSION_CHECK', '1', 'build')
    .override('PIP_NO_INPUT', '1', 'build')
    .override('PYTHONUNBUFFERED', '1', 'build');
}

/** Other buildpacks' python requirements (our own detect entry is the app's request, already known). */
function planConstraints(plan: BuildpackPlan): PlanConstraint[] {
  return entriesNamed(plan, PLAN.python).flatMap((e) => {
    const version = e.metadata?.version;
    const source = e.metadata?.['version-source'];
    if (typeof version !== 'string' || version.trim() === '') return [];
    if (typeof source === 'string' && OUR_SOURCES.has(source)) return [];
    return [{ constraint: version, origin: `a buildpack plan requirement${typeof source === 'string' ? ` (${source})` : ''}` }];
  });
}

function logDependencies(project: Project, log: Log): void {
  const deps = project.dependencies;
  if (deps.manager) {
    log.info(`Dependencies: ${deps.manager.kind} (${deps.reason})`);
    if (deps.ignored.length) log.detail(`Also present but not used: ${listing(deps.ignored)} (see the README's precedence)`);
  } else {
    log.info(`Dependencies: none to install (${deps.reason})`);
  }
}
