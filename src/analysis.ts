// The build's analysis: one pure function over what was read before it (the app snapshot, the
// Buildpack Plan, the manifests, the bindings, the env). It decides everything the layers then
// carry out, and throws every input error (a bad version file, a missing lock, a broken Procfile,
// a bad SSH key, a version that is not available) before anything is downloaded.
import type { Binding } from './cnb/bindings';
import type { Env, Target } from './cnb/context';
import { entriesNamed } from './cnb/plan';
import type { BuildpackPlan } from './cnb/schemas';
import { PLAN } from './detect';
import { UserError } from './errors';
import { sqliteWanted, chooseSqliteEntry } from './layers/sqlite/plan';
import { listing, type Log } from './log';
import type { HashedToolPin } from './layers/hashed-tool';
import { MANAGERS, type DependencyInputs, type Manager } from './managers';
import type { ToolPin } from './managers/install';
import type { ToolId } from './managers/manager';
import { checkToolRunsOn, choosePip, requiresPython } from './managers/tool-choice';
import { sshSources } from './private-deps';
import { definesFlaskApp, parseProcfile, type ProcfileEntry } from './processes';
import { analyseProject, has, type AppSnapshot, type Project } from './project';
import { forTarget, type Dependency, type Manifest } from './python/manifest';
import { mirrorsFromBinding, mirrorsFromEnv, type MirrorConfig } from './python/mirrors';
import { resolvePython, satisfiesProjectConstraint, type PlanConstraint, type Resolution } from './python/resolve';
import type { VersionSource } from './python/version-request';
import { bindingsOfType } from './cnb/bindings';
import { classicPlan, logClassic, type ClassicPlan } from './classic';

/** Everything the analysis needs, read by the build before it (src/build.ts readInputs). */
export interface BuildInputs {
  app: AppSnapshot;
  env: Env;
  target: Target;
  plan: BuildpackPlan;
  /** The buildpack's manifest merged with the operator's (BP_PYTHON_MANIFEST). */
  manifest: Manifest;
  operator?: Manifest;
  bindings: readonly Binding[];
  /** Build tool versions pinned in buildpack.toml ([metadata] pip-version, uv-version, poetry-version, pipenv-version). */
  pins: Readonly<Partial<Record<ToolId, string>>>;
  /** The Pythons Poetry and Pipenv run on (buildpack.toml [metadata] <tool>-requires-python). */
  toolRequiresPython?: Readonly<Partial<Record<HashedToolPin['id'], string>>>;
  /** The buildpack's requirements/<tool>.txt (Poetry, Pipenv: hash-pinned wheels), when present. */
  toolRequirements?: Readonly<Partial<Record<HashedToolPin['id'], Buffer>>>;
  today: Date;
}

export interface ProcessPlan {
  /** The app's Procfile, when it has one. */
  procfile?: ProcfileEntry[];
  /** BP_PYTHON_DEFAULT_PROCESS is not false. */
  defaultAllowed: boolean;
  /** Django project packages (a wsgi.py beside manage.py) and Flask modules, for a default web process. */
  djangoProjects: string[];
  flaskModules: string[];
}

export interface Analysis {
  project: Project;
  python: Resolution;
  /** Undefined when there is nothing to install. */
  dependencies?: { manager: Manager; inputs: DependencyInputs; tool: ToolPin; toolReason?: string };
  sqlite: { wanted: boolean; explicit: boolean; entry?: Dependency };
  mirrors: ReadonlyArray<MirrorConfig | undefined>;
  processes: ProcessPlan;
  /** The app has manage.py: collectstatic is considered after the install. */
  django: boolean;
  /** The classic buildpack's hooks and files (src/classic.ts). */
  classic: ClassicPlan;
  forceReinstall: boolean;
  /** For the log: what the operator manifest replaced. */
  operatorNote?: string;
}

export function analyse(input: BuildInputs): Analysis {
  const { app, env, target, manifest } = input;
  const project = analyseProject(app, env);
  const choice = project.dependencies.manager;
  const manager = choice ? MANAGERS[choice.kind] : undefined;
  const inputs = manager && choice ? manager.inputs(app, choice, env) : undefined;
  const processes = processPlan(app, env);
  const sqlite = sqliteWanted(env);
  const mirrors = [mirrorsFromEnv(env), ...bindingsOfType(input.bindings, 'dependency-mirror').map((b) => mirrorsFromBinding(b.entries, b.name))];
  // SSH settings are checked now, before anything is downloaded (a bad key fails fast).
  if (inputs) sshSources(env, input.bindings);
  const python = resolvePython({
    requests: project.versionRequests,
    constraints: planConstraints(input.plan),
    available: forTarget(manifest, 'python', target),
    arch: target.arch,
    defaultVersion: manifest.defaults.python,
    today: input.today,
  });
  if (inputs?.pythonConstraint) checkProjectPython(inputs.pythonConstraint, python);
  const dependencies = manager && inputs ? { manager, inputs, ...toolPin(input, manager, python.version) } : undefined;
  return Object.freeze({
    project,
    python,
    dependencies,
    sqlite: { ...sqlite, entry: sqlite.wanted ? chooseSqliteEntry(forTarget(manifest, 'sqlite', target)) : undefined },
    mirrors,
    processes,
    django: has(app, 'manage.py'),
    classic: classicPlan(app),
    forceReinstall: env.BP_PYTHON_FORCE_REINSTALL === 'true',
    operatorNote: input.operator ? `Operator manifest (BP_PYTHON_MANIFEST): ${input.operator.dependencies.length} entries, replacing the buildpack's for ${listing([...new Set(input.operator.dependencies.map((d) => d.id))])}` : undefined,
  });
}

/** The log of the analysis: the dependency choice, the manifest, and how the Python version was chosen. */
export function logAnalysis(a: Analysis, log: Log): void {
  logClassic(a.classic, log);
  const deps = a.project.dependencies;
  if (deps.manager) {
    log.info(`Dependencies: ${deps.manager.kind} (${deps.reason})`);
    if (deps.ignored.length) log.detail(`Also present but not used: ${listing(deps.ignored)} (see the README's precedence)`);
  } else {
    log.info(`Dependencies: none to install (${deps.reason})`);
  }
  if (a.operatorNote) log.info(a.operatorNote);
  log.step('Python version');
  for (const r of a.project.versionRequests) log.info(`Found ${r.spec} in ${r.origin}`);
  for (const w of a.project.versionWarnings) log.warning(w.title, w.body);
  for (const note of a.python.notes) log.info(note);
  for (const w of a.python.warnings) log.warning(w.title, w.body);
}

function processPlan(app: AppSnapshot, env: Env): ProcessPlan {
  const read = app.files.Procfile;
  let procfile: ProcfileEntry[] | undefined;
  if (read) {
    if (!read.ok) throw new UserError('Procfile cannot be read', [`Procfile ${read.problem}.`]);
    procfile = parseProcfile(read.bytes.toString('utf8'));
  }
  const flaskModules = ['app', 'wsgi', 'main'].filter((m) => {
    const source = app.files[`${m}.py`];
    return source?.ok === true && definesFlaskApp(source.bytes.toString('utf8'));
  });
  return { procfile, defaultAllowed: env.BP_PYTHON_DEFAULT_PROCESS !== 'false', djangoProjects: has(app, 'manage.py') ? [...(app.wsgiPackages ?? [])] : [], flaskModules };
}

/** The project's own Python constraint must admit the Python chosen from a higher source (or the default). */
function checkProjectPython(project: { constraint: string; origin: string }, python: Resolution): void {
  if (satisfiesProjectConstraint(python.version, project.constraint) !== false) return;
  const chosen = python.request ? `${python.request.spec} from ${python.request.origin}` : 'the default (no version requested)';
  throw new UserError(`Python ${python.version} is excluded by the project's Python constraint`, [
    `${project.origin} says python = "${project.constraint}", but the build chose Python ${python.version} (${chosen}).`,
    'The lock was resolved for the versions the constraint allows, so its packages may not install on this Python.',
    `Request a Python that "${project.constraint}" allows (in .python-version, for example), or widen the constraint and run the lock command again.`,
  ]);
}

/** The build tool release that installs, chosen for the Python (src/managers/tool-choice.ts). */
function toolPin(input: BuildInputs, manager: Manager, pythonVersion: string): { tool: ToolPin; toolReason?: string } {
  const id = manager.tool;
  const version = input.pins[id] ?? '';
  if (id === 'pip') {
    pinnedTool(input.manifest, id, version, input.target);
    const choice = choosePip(forTarget(input.manifest, 'pip', input.target), version, pythonVersion);
    return { tool: choice.entry, toolReason: choice.reason };
  }
  if (id === 'uv') {
    const entry = pinnedTool(input.manifest, id, version, input.target);
    checkToolRunsOn({ name: 'uv', version, requiresPython: requiresPython(entry) }, pythonVersion, 'uv (uv.lock)');
    return { tool: entry };
  }
  const requirements = input.toolRequirements?.[id];
  if (!version || !requirements) throw new Error(`buildpack.toml pins ${id} "${version}", and requirements/${id}.txt is ${requirements ? 'there' : 'missing'}: the buildpack is incomplete`);
  const name = id === 'poetry' ? 'Poetry' : 'Pipenv';
  checkToolRunsOn({ name, version, requiresPython: input.toolRequiresPython?.[id] }, pythonVersion, id === 'poetry' ? 'Poetry (poetry.lock)' : 'Pipenv (a Pipfile without Pipfile.lock)');
  return { tool: { id, name, version, requirements } };
}

/** The manifest entry of a build tool pinned in buildpack.toml ([metadata] pip-version, uv-version). */
function pinnedTool(manifest: Manifest, id: 'pip' | 'uv', version: string, target: Target): Dependency {
  const entry = forTarget(manifest, id, target).find((d) => d.version === version);
  if (!entry) {
    throw new UserError(`${id} ${version} is not in the dependency manifest`, [
      `buildpack.toml pins ${id} ${version}, but no manifest entry with id "${id}" and that version exists for ${target.arch}.`,
      `If you use BP_PYTHON_MANIFEST, add the pinned ${id} wheel to it.`,
    ]);
  }
  return entry;
}

const OUR_SOURCES: ReadonlySet<string> = new Set<VersionSource>(['BP_PYTHON_VERSION', 'runtime.txt', '.python-version', 'Pipfile.lock', 'Pipfile', 'pyproject.toml']);

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
