// What every package manager provides (src/managers/<name>.ts, listed in index.ts): which build
// tool runs it, its inputs read purely from the app snapshot (every input error is thrown there,
// before any download), and the install into an empty venv. The site-packages layer
// (src/layers/site-packages.ts) keys, reuses and commits the venv around `install`.
import type { BuildEnv } from '../cnb/build-env';
import type { Env } from '../cnb/context';
import { UserError, printable } from '../errors';
import type { Log } from '../log';
import type { AppSnapshot, PackageManager } from '../project';

/** What the install is made from, taken from the app snapshot. */
export interface DependencyInputs {
  manager: PackageManager;
  /** Every file that decides what is installed (hashed into the site-packages key). */
  files: ReadonlyArray<{ name: string; bytes: Buffer }>;
  /** Switches that change what is installed (part of the hash). */
  switches: readonly string[];
  /** A one-line label for the log: "requirements.txt (and base.txt)". */
  label: string;
  warnings: ReadonlyArray<{ title: string; body: string[] }>;
  unpinned: readonly string[];
  /** Wheels in the app's vendor/ directory (`pip download -d vendor -r requirements.txt`): when there
   *  are any, pip installs from them alone (--no-index --find-links vendor), as air-gapped users work. */
  vendoredWheels: readonly string[];
  /** The project's own Python constraint (Poetry's), checked against the chosen Python before any download. */
  pythonConstraint?: { constraint: string; origin: string };
  /** Decisions for the log ("the project itself is installed too"). */
  notes?: readonly string[];
}

export interface InstallStep {
  appDir: string;
  inputs: DependencyInputs;
  /** The empty venv to fill, and its python. */
  venvDir: string;
  venvPython: string;
  /** Python 2: venvDir is a plain prefix (no venv module); pip installs with --prefix (src/layers/site-packages.ts). */
  prefixInstall?: boolean;
  /** The runtime's python3 (pip runs from it, with --python at the venv). */
  python: string;
  /** A sys.path entry with a pip, for a manager whose tool layer holds none (Pipenv installs its
   *  lock with pip): the runtime's python layer has no pip of its own (src/runtime/stdlib-bytecode.ts). */
  bootstrapPip?: string;
  /** The build tool's executable (<layer>/bin/uv); tools installed as packages run as `python -m`. */
  tool: string;
  env: BuildEnv;
  /** A private scratch directory, removed after the install. */
  tmp: string;
  /** Set when the venv's bytecode is compiled after the install, on every core, instead of by pip
   *  one file at a time (src/managers/pip-runner.ts): `pending` once a pip install left it to do. */
  deferredBytecode?: { pending: boolean };
  log: Log;
}

/** The build tools: pip and uv from one pinned wheel, Poetry and Pipenv from a hash-pinned requirements file. */
export const TOOL_IDS = ['pip', 'uv', 'poetry', 'pipenv'] as const;
export type ToolId = (typeof TOOL_IDS)[number];

export interface Manager {
  kind: PackageManager['kind'];
  /** The pinned build tool that installs (its layer and cache layer are installed first). */
  tool: ToolId;
  /** Pure: the inputs from the snapshot, or the UserError that says what is wrong with them. */
  inputs(app: AppSnapshot, choice: PackageManager, env: Env): DependencyInputs;
  install(step: InstallStep): Promise<void>;
  /** Brings a venv installed from earlier dependency files up to date in place (what the files
   *  require installed, anything else removed); managers without it recreate the venv instead. */
  sync?(step: InstallStep): Promise<void>;
}

/** A dependency file's bytes from the snapshot, or the titled error a missing or odd one gets. */
export function appFile(app: AppSnapshot, name: string, referencedBy?: string): Buffer {
  const read = app.files[name];
  if (read?.ok) return read.bytes;
  name = printable(name); // a -r/-c reference is the app's text: quoted shortened
  const how = referencedBy ? ` (${referencedBy} refers to it)` : '';
  if (!read || read.problem.includes('ENOENT')) throw new UserError(`${name} does not exist`, [`${name}${how} was not found in the app.`, `Create ${name}, or fix the reference in ${referencedBy ?? 'your files'}.`]);
  throw new UserError(`${name} cannot be used`, [`${name}${how} ${read.problem}.`, `${name} must be a readable text file.`]);
}

/** The project's own metadata files that are present (`pip install .`, `-e .`). */
export function projectFiles(app: AppSnapshot): Array<{ name: string; bytes: Buffer }> {
  return PROJECT_FILES.filter((f) => app.entries.some((e) => e.name === f)).map((name) => ({ name, bytes: appFile(app, name) }));
}

export const PROJECT_FILES = ['pyproject.toml', 'setup.py', 'setup.cfg'] as const;
