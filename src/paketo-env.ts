// Paketo's Python variable names. Users coming from Paketo's Python buildpacks set these; none is
// silently ignored (the README's "Paketo variables" table lists each and what it does here):
// - an alias means the same here and is read as our name, with a log line (BP_CPYTHON_VERSION is
//   BP_PYTHON_VERSION). When both are set to different values the build stops and names both:
//   which one the user meant cannot be guessed.
// - every other one has no effect here, and a warning says so and what to do instead.
// BP_LOG_LEVEL and BP_DEBUG are honoured as they are (src/report/debug-log.ts).
import type { Env } from './cnb/context';
import { UserError, printable } from './errors';

export const PAKETO_ALIASES: Readonly<Record<string, string>> = {
  BP_CPYTHON_VERSION: 'BP_PYTHON_VERSION',
};

const PINNED = (tool: string, key: string) => `this buildpack installs the ${tool} version it pins (buildpack.toml [metadata] ${key}), verified by its sha256; it cannot be changed per build`;

/** Paketo variables with no effect here, and why. */
export const PAKETO_UNUSED: Readonly<Record<string, string>> = {
  BP_CPYTHON_CONFIGURE_FLAGS: 'this buildpack installs a prebuilt CPython (python-build-standalone), it does not run configure',
  BP_PIP_VERSION: PINNED('pip', 'pip-version'),
  BP_POETRY_VERSION: PINNED('Poetry', 'poetry-version'),
  BP_PIPENV_VERSION: PINNED('Pipenv', 'pipenv-version'),
  BP_PIP_REQUIREMENT: 'this buildpack reads requirements.txt at the app root (and the files it includes with -r and -c); name other files there with -r',
  BP_PIP_DEST_PATH: 'this buildpack installs vendored wheels from vendor/ at the app root (pip download -d vendor -r requirements.txt); move them there',
  BP_CONDA_SOLVER: 'this buildpack does not use conda (environment.yml is not read); use requirements.txt, Pipfile.lock, poetry.lock or uv.lock',
  BP_MINICONDA_SOLVER: 'this buildpack does not use conda (environment.yml is not read); use requirements.txt, Pipfile.lock, poetry.lock or uv.lock',
  BP_LIVE_RELOAD_ENABLED: 'this buildpack runs the process types as given, without a file watcher (watchexec); reload in your dev server instead',
};

/** BPE_* are Paketo's environment-variables buildpack's: launch env set at build time. */
const UNUSED_PREFIXES: ReadonlyArray<[string, string]> = [['BPE_', "Paketo's environment-variables buildpack sets these in the image; add that buildpack to your group, or set the variable in the platform's launch env"]];

export interface PaketoNames {
  env: Env;
  /** Log lines: which alias was read as which name. */
  notes: string[];
  warnings: Array<{ title: string; body: string[] }>;
}

/** The env with Paketo aliases read as our names; a conflict between an alias and our name is a UserError. */
export function applyPaketoNames(env: Env): PaketoNames {
  const out: Record<string, string | undefined> = { ...env };
  const notes: string[] = [];
  for (const [alias, ours] of Object.entries(PAKETO_ALIASES)) {
    const value = env[alias];
    if (value === undefined || value.trim() === '') continue;
    const own = env[ours];
    if (own !== undefined && own.trim() !== '' && own.trim() !== value.trim()) {
      throw new UserError(`${alias} and ${ours} disagree`, [
        `${alias} (Paketo's name) is "${printable(value.trim())}" and ${ours} is "${printable(own.trim())}".`,
        `This buildpack reads ${alias} as ${ours}, so only one of them can decide.`,
        `Unset one of them, or set both to the same value.`,
      ]);
    }
    out[ours] = value;
    notes.push(own !== undefined && own.trim() !== '' ? `${alias} is Paketo's name for ${ours}; both are "${printable(value.trim())}"` : `Reading ${alias} (Paketo's name) as ${ours}=${printable(value.trim())}`);
  }
  const unused = Object.keys(env)
    .filter((k) => env[k] !== undefined)
    .sort()
    .flatMap((name) => {
      const why = PAKETO_UNUSED[name] ?? UNUSED_PREFIXES.find(([p]) => name.startsWith(p))?.[1];
      return why ? [`${name}: ${why}.`] : [];
    });
  const warnings = unused.length ? [{ title: `${unused.length === 1 ? 'A Paketo variable' : 'Paketo variables'} this buildpack does not use`, body: [...unused, 'Unset them, or see the README ("Paketo variables") for what this buildpack reads instead.'] }] : [];
  return { env: out, notes, warnings };
}

/** For detect, which never fails: the aliases read as our names unless ours is set (build reports a conflict). */
export function withPaketoAliases(env: Env): Env {
  const out: Record<string, string | undefined> = { ...env };
  for (const [alias, ours] of Object.entries(PAKETO_ALIASES)) {
    if ((out[ours] ?? '').trim() === '' && (env[alias] ?? '').trim() !== '') out[ours] = env[alias];
  }
  return out;
}
