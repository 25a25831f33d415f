// Reads the app once into a frozen snapshot, and analyses it purely. readApp is the only IO here
// (src/analysis.ts builds the whole build analysis on the snapshot); analyseProject is pure, so
// every rule below is unit-tested on in-memory snapshots. detect reads only what it needs (the
// root listing and the version files); build reads everything any later step needs, so that no
// later step (no layer, no process choice) reads the app again.
import * as path from 'node:path';
import { fileStat, listDir, pathExists, readSmallFile, type EntryKind, type FileRead } from './io/fs';
import type { Env } from './cnb/context';
import { UserError, printable } from './errors';
import { referencedFiles } from './python/dependencies';
import * as req from './python/version-request';
import type { VersionRequest } from './python/version-request';

/** Files whose presence says "this is a Python app" (detect passes on any of them). */
export const PYTHON_SIGNAL_FILES = [
  'requirements.txt',
  'setup.py',
  'setup.cfg',
  'pyproject.toml',
  'Pipfile',
  'Pipfile.lock',
  'poetry.lock',
  'uv.lock',
  'runtime.txt',
  '.python-version',
] as const;

/** Files whose contents detect needs. Read once, small, never throwing. */
const FILES_READ = ['runtime.txt', '.python-version', 'Pipfile', 'Pipfile.lock', 'pyproject.toml'] as const;

/** And what build needs besides: dependency files, the Procfile, the modules a default process may name. */
const BUILD_FILES_READ = [...FILES_READ, 'requirements.txt', 'poetry.lock', 'uv.lock', 'setup.py', 'setup.cfg', 'Procfile', 'app.py', 'wsgi.py', 'main.py', 'nltk.txt'] as const;

/** Dependency files may be large (a hashed lock): larger than the version files detect reads. */
const BUILD_MAX_BYTES = 16 * 1024 * 1024;

export interface AppSnapshot {
  entries: ReadonlyArray<{ name: string; kind: EntryKind }>;
  /** Files read, by their path relative to the app (requirements files pulled in by -r/-c too). */
  files: Readonly<Record<string, FileRead>>;
  /** Build only: wheel file names in vendor/. */
  vendoredWheels?: readonly string[];
  /** Build only: root directories holding a wsgi.py (Django project packages). */
  wsgiPackages?: readonly string[];
  /** Build only: the classic buildpack's files (src/classic.ts decides what they mean). */
  classic?: ClassicFiles;
}

/** What the classic buildpack looked at besides the dependency files. */
export interface ClassicFiles {
  /** bin/pre_compile and bin/post_compile, when present. */
  hooks: Readonly<Partial<Record<'pre_compile' | 'post_compile', { kind: EntryKind; executable: boolean }>>>;
  /** .heroku/collectstatic_disabled exists. */
  collectstaticOptOut: boolean;
  /** manage.py files one or two directories down (backend/manage.py). */
  nestedManagePy: readonly string[];
  /** Committed virtual environments (.venv/, venv/ with pyvenv.cfg; .heroku/python/). */
  committedVenvs: readonly string[];
}

export async function readApp(appDir: string): Promise<AppSnapshot> {
  return readFiles(appDir, await listDir(appDir), FILES_READ);
}

/** What build reads: detect's snapshot and everything a later step needs (a separate function, so
 *  that the detect bundle leaves it out). */
export async function readAppForBuild(appDir: string): Promise<AppSnapshot> {
  const entries = await listDir(appDir);
  const { files } = await readFiles(appDir, entries, BUILD_FILES_READ, BUILD_MAX_BYTES);
  const present = new Set(entries.map((e) => e.name));
  await readRequirementsClosure(appDir, files);
  const vendoredWheels = (await listDir(path.join(appDir, 'vendor'))).filter((e) => e.kind === 'file' && e.name.endsWith('.whl')).map((e) => e.name);
  const wsgiPackages: string[] = [];
  if (present.has('manage.py')) for (const e of entries) if (e.kind === 'dir' && (await pathExists(path.join(appDir, e.name, 'wsgi.py')))) wsgiPackages.push(e.name);
  return { entries, files, vendoredWheels, wsgiPackages, classic: await readClassicFiles(appDir, present) };
}

async function readClassicFiles(appDir: string, present: ReadonlySet<string>): Promise<ClassicFiles> {
  const hooks: Partial<Record<'pre_compile' | 'post_compile', { kind: EntryKind; executable: boolean }>> = {};
  for (const name of ['pre_compile', 'post_compile'] as const) {
    const stat = await fileStat(path.join(appDir, 'bin', name));
    if (stat) hooks[name] = stat;
  }
  return {
    hooks,
    collectstaticOptOut: await pathExists(path.join(appDir, '.heroku', 'collectstatic_disabled')),
    nestedManagePy: present.has('manage.py') ? [] : await findNestedManagePy(appDir),
    committedVenvs: await findCommittedVenvs(appDir),
  };
}

/** manage.py one or two directories down (backend/manage.py, src/site/manage.py), skipping hidden and venv dirs. */
async function findNestedManagePy(appDir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (rel: string, depth: number): Promise<void> => {
    for (const e of await listDir(path.join(appDir, rel))) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.kind === 'file' && e.name === 'manage.py' && rel) found.push(child);
      else if (e.kind === 'dir' && depth < 2 && !e.name.startsWith('.') && !['node_modules', 'venv', '__pycache__'].includes(e.name)) await walk(child, depth + 1);
    }
  };
  await walk('', 0);
  return found;
}

async function readFiles(appDir: string, entries: AppSnapshot['entries'], wanted: readonly string[], maxBytes?: number): Promise<{ entries: AppSnapshot['entries']; files: Record<string, FileRead> }> {
  const present = new Set(entries.map((e) => e.name));
  const files: Record<string, FileRead> = {};
  await Promise.all(
    wanted.filter((f) => present.has(f)).map(async (f) => {
      files[f] = await readSmallFile(path.join(appDir, f), maxBytes);
    }),
  );
  return { entries, files };
}

/** Follows requirements.txt's -r/-c references, reading each file inside the app once (the
 *  analysis reports references outside the app, and missing or unreadable files). */
async function readRequirementsClosure(appDir: string, files: Record<string, FileRead>): Promise<void> {
  const queue = files['requirements.txt'] ? ['requirements.txt'] : [];
  while (queue.length) {
    const name = queue.shift()!;
    const read = files[name] ?? (isInsideApp(name) ? await readSmallFile(path.join(appDir, name), BUILD_MAX_BYTES) : undefined);
    if (!read) continue;
    files[name] = read;
    if (read.ok) for (const ref of referencedFiles(name, read.bytes.toString('utf8'))) if (!(ref in files)) queue.push(ref);
  }
}

/** A relative path that stays inside the app directory. */
export function isInsideApp(name: string): boolean {
  return !(name === '..' || name.startsWith('../') || path.isAbsolute(name));
}

export function has(app: AppSnapshot, name: string): boolean {
  return app.entries.some((e) => e.name === name);
}

/** Python signals present in the app root: the known files, plus any root *.py file. */
export function pythonSignals(app: AppSnapshot): string[] {
  const known = PYTHON_SIGNAL_FILES.filter((f) => has(app, f));
  const scripts = app.entries.filter((e) => e.kind === 'file' && /\.py$/.test(e.name)).map((e) => e.name);
  return [...known, ...scripts];
}

function bytesOf(app: AppSnapshot, file: string): Buffer | undefined | UserError {
  const read = app.files[file];
  if (!read) return has(app, file) ? new UserError(`${file} could not be read`, [`${file} exists but could not be read.`]) : undefined;
  if (!read.ok) return new UserError(`${file} could not be read`, [`${file} ${read.problem}.`, `Make ${file} a readable text file, or remove it.`]);
  return read.bytes;
}

const VERSION_PARSERS: ReadonlyArray<[string, (b: Buffer | undefined) => req.ParseResult]> = [
  ['runtime.txt', req.fromRuntimeTxt],
  ['.python-version', req.fromPythonVersionFile],
  ['Pipfile.lock', req.fromPipfileLock],
  ['Pipfile', req.fromPipfile],
  ['pyproject.toml', req.fromPyproject],
];

/** Every version source, in priority order, each either a request or the error it holds. */
export function versionSources(app: AppSnapshot, env: Env, unusedFiles: readonly string[] = []): Array<{ request: VersionRequest } | { error: UserError } | { unused: UserError }> {
  const out: Array<{ request: VersionRequest } | { error: UserError } | { unused: UserError }> = [];
  const push = (r: req.ParseResult, file?: string) => {
    if (!r.found) return;
    if ('request' in r) out.push({ request: r.request });
    else if (file && unusedFiles.includes(file)) out.push({ unused: new UserError(`${file} is not used and was ignored`, [`${r.error.title}: ${r.error.body[0] ?? ''}`, `The dependencies do not come from ${file} (see "Dependencies:" above), so it is not a Python version source either. Fix it or delete it.`]) });
    else out.push({ error: r.error });
  };
  push(req.fromEnv(env.BP_PYTHON_VERSION));
  for (const [file, parse] of VERSION_PARSERS) {
    const bytes = bytesOf(app, file);
    if (bytes instanceof UserError) push({ found: true, error: bytes }, file);
    else push(parse(bytes), file);
  }
  return out;
}

export type PackageManager =
  | { kind: 'pip'; files: string[] } // pip install -r requirements.txt
  | { kind: 'pipenv'; files: string[] } // Pipfile.lock, installed with pip from the lock
  | { kind: 'pipfile'; files: string[] } // a Pipfile without its lock: locked by Pipenv at build time
  | { kind: 'poetry'; files: string[] }
  | { kind: 'uv'; files: string[] }
  | { kind: 'project'; files: string[] }; // pip install . (pyproject.toml / setup.py / setup.cfg)

export interface DependencyChoice {
  manager: PackageManager | undefined;
  /** Why this one, for the log. */
  reason: string;
  /** Other dependency files present but not used, named in the log. */
  ignored: string[];
}

/**
 * Exactly one way to install, by this precedence (documented in the README):
 * requirements.txt > Pipfile.lock (or a Pipfile alone) > poetry.lock > uv.lock > pyproject.toml / setup.py / setup.cfg.
 * requirements.txt first, as the classic buildpack did, because many apps keep one generated from
 * their lock for exactly this purpose.
 */
export function chooseDependencies(app: AppSnapshot): DependencyChoice {
  const present = (f: string) => has(app, f);
  const candidates: Array<[PackageManager, string]> = [];
  if (present('requirements.txt')) candidates.push([{ kind: 'pip', files: ['requirements.txt'] }, 'requirements.txt']);
  if (present('Pipfile.lock')) candidates.push([{ kind: 'pipenv', files: ['Pipfile', 'Pipfile.lock'].filter(present) }, 'Pipfile.lock']);
  else if (present('Pipfile')) candidates.push([{ kind: 'pipfile', files: ['Pipfile'] }, 'Pipfile (no Pipfile.lock)']);
  if (present('poetry.lock')) candidates.push([{ kind: 'poetry', files: ['pyproject.toml', 'poetry.lock'].filter(present) }, 'poetry.lock']);
  // A Poetry project without its lock (and no uv.lock) is Poetry's, so that the build says to lock it.
  else if (!present('uv.lock') && declaresPoetryProject(app)) candidates.push([{ kind: 'poetry', files: ['pyproject.toml'] }, 'pyproject.toml with [tool.poetry] (no poetry.lock)']);
  if (present('uv.lock')) candidates.push([{ kind: 'uv', files: ['pyproject.toml', 'uv.lock'].filter(present) }, 'uv.lock']);
  const projectFiles = ['pyproject.toml', 'setup.py', 'setup.cfg'].filter(present);
  // A pyproject.toml alone that declares no package ([project] or [build-system]) holds only tool
  // settings (black, ruff, pytest): there is nothing to install, not a package named after the directory.
  const bare = projectFiles.length === 1 && projectFiles[0] === 'pyproject.toml' && !declaresPackage(app);
  if (projectFiles.length && !bare) candidates.push([{ kind: 'project', files: projectFiles }, projectFiles.join(', ')]);
  const [first, ...rest] = candidates;
  if (!first && bare) return { manager: undefined, reason: 'pyproject.toml has no [project] table and no [build-system], so it declares no package to install; only its tool settings are there', ignored: [] };
  if (!first) return { manager: undefined, reason: 'no requirements.txt, Pipfile.lock, poetry.lock, uv.lock, pyproject.toml, setup.py or setup.cfg', ignored: [] };
  const usedFiles = new Set(first[0].files);
  const ignored = rest.map(([, label]) => label).filter((l) => !l.split(', ').every((f) => usedFiles.has(f)));
  return { manager: first[0], reason: `found ${first[1]}`, ignored };
}

/** pyproject.toml has a [project] or [build-system] table (line tests, as for [tool.poetry]). */
function declaresPackage(app: AppSnapshot): boolean {
  const read = app.files['pyproject.toml'];
  return read?.ok !== true || /^\s*\[(project|build-system)\]|^\s*(project|build-system)\s*=/m.test(read.bytes.toString('utf8'));
}

/** An empty pyproject.toml (only blank lines and comments) alone is a mistake: a titled error. */
export function emptyPyproject(app: AppSnapshot): UserError | undefined {
  const read = app.files['pyproject.toml'];
  if (read?.ok !== true || read.bytes.toString('utf8').split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#'))) return undefined;
  return new UserError('pyproject.toml is empty', [
    'The app has a pyproject.toml with nothing in it, and no other dependency file (requirements.txt, Pipfile.lock, poetry.lock, uv.lock, setup.py).',
    'Expected a [project] table with the dependencies and a [build-system] (or one of those files), so the build knows what to install.',
    'Add them (for example [project] name = "app", version = "0", dependencies = ["flask"]), add a requirements.txt, or delete pyproject.toml.',
  ]);
}

/** pyproject.toml has a [tool.poetry] table (a line test: the file's syntax is checked later). */
function declaresPoetryProject(app: AppSnapshot): boolean {
  const read = app.files['pyproject.toml'];
  return read?.ok === true && /^\s*\[tool\.poetry[.\]]/m.test(read.bytes.toString('utf8'));
}

export interface Project {
  signals: string[];
  /** All valid version requests, highest priority first. */
  versionRequests: VersionRequest[];
  /** Problems in lower-priority version sources that lost anyway: warnings, not errors. */
  versionWarnings: UserError[];
  dependencies: DependencyChoice;
}

/** Pure analysis. Throws the UserError of the highest-priority version source if it is malformed
 *  (a Pipfile or Pipfile.lock of an app that does not install with Pipenv is not a source then:
 *  its problem is a warning naming it, so an unused file never fails the build). */
export function analyseProject(app: AppSnapshot, env: Env): Project {
  const dependencies = chooseDependencies(app);
  const unused = dependencies.manager?.kind === 'pipenv' || dependencies.manager?.kind === 'pipfile' ? [] : ['Pipfile.lock', 'Pipfile'];
  const sources = versionSources(app, env, unused);
  const firstIndex = sources.findIndex(() => true);
  const first = sources[firstIndex];
  if (first && 'error' in first) throw first.error;
  const requests = sources.flatMap((s) => ('request' in s ? [s.request] : []));
  const warnings = sources.flatMap((s) => ('error' in s ? [s.error] : []));
  const unusedWarnings = sources.flatMap((s) => ('unused' in s ? [s.unused] : []));
  if (!dependencies.manager) {
    const empty = emptyPyproject(app);
    if (empty) throw empty;
  }
  return Object.freeze({ signals: pythonSignals(app), versionRequests: requests, versionWarnings: [...unusedWarnings, ...warnings], dependencies });
}

export function describeEntry(name: string, kind: EntryKind): string {
  return kind === 'dir' ? `${printable(name)}/` : printable(name);
}

/** Virtual environments committed with the app: `.venv/` or `venv/` holding pyvenv.cfg, and the
 *  classic buildpack's `.heroku/python`. They are shipped as app files, never used as the venv. */
export const COMMITTED_VENV_DIRS = ['.venv', 'venv', '.heroku/python'] as const;

async function findCommittedVenvs(appDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of COMMITTED_VENV_DIRS) {
    const marker = dir === '.heroku/python' ? dir : `${dir}/pyvenv.cfg`;
    if (await pathExists(path.join(appDir, marker))) found.push(dir);
  }
  return found;
}
