// Platform env vars that would make Python or an installer act somewhere other than the layers the
// buildpack owns. The platform env passes through to Python, pip, uv and build hooks (that is how
// PIP_INDEX_URL and friends work), so these few are handled before anything runs. Each one has one
// rule (documented in the README's configuration table):
// - removed: the buildpack owns what it controls (which Python, which venv, which caches), so the
//   build goes on without it and a warning names it. PYTHONHOME is the classic case: it makes the
//   buildpack's CPython look for its standard library elsewhere ("No module named 'encodings'").
// - rejected: it asks pip to install the app's packages somewhere other than the venv (or uv to
//   work on another project). Dropping it would build an image that is not what the user asked
//   for, so the build stops, before any download, with a titled error naming each one.
// The list started from Heroku's CNB (src/checks.rs, which rejects them all) and the variables
// this buildpack sets itself. Only the build is affected: the launch env is the platform's own.
import { UserError, printable } from './errors';
import { listing, type Log } from './log';
import type { Env } from './cnb/context';

type Rule = { action: 'remove' | 'reject'; why: string };

const OWN_PYTHON = 'the buildpack runs its own CPython';
const OWN_VENV = 'the buildpack installs into its own venv (the site-packages layer)';
const OWN_CACHE = 'the buildpack keeps this cache in a layer of its own';

export const UNSAFE_ENV: Readonly<Record<string, Rule>> = {
  PYTHONHOME: { action: 'remove', why: `${OWN_PYTHON}; another PYTHONHOME makes it look for its standard library elsewhere` },
  PYTHONPATH: { action: 'remove', why: 'packages found on it would count as installed, so pip would leave them out of the venv' },
  PYTHONUSERBASE: { action: 'remove', why: 'the buildpack points it at its pip layer' },
  PYTHONNOUSERSITE: { action: 'remove', why: 'it hides the pip the buildpack installs' },
  PYTHONPLATLIBDIR: { action: 'remove', why: `${OWN_PYTHON}; it moves where Python looks for its modules` },
  PYTHONINSPECT: { action: 'remove', why: 'it makes every Python run wait for interactive input' },
  VIRTUAL_ENV: { action: 'remove', why: OWN_VENV },
  PIP_PYTHON: { action: 'remove', why: 'the buildpack points pip at the venv' },
  PIP_CACHE_DIR: { action: 'remove', why: OWN_CACHE },
  UV_CACHE_DIR: { action: 'remove', why: OWN_CACHE },
  UV_NO_CACHE: { action: 'remove', why: OWN_CACHE },
  UV_LINK_MODE: { action: 'remove', why: 'the buildpack links from its cache layer (hardlink)' },
  UV_PROJECT_ENVIRONMENT: { action: 'remove', why: OWN_VENV },
  UV_PYTHON: { action: 'remove', why: OWN_PYTHON },
  UV_PYTHON_DOWNLOADS: { action: 'remove', why: `${OWN_PYTHON}; uv must not download another` },
  UV_PYTHON_PREFERENCE: { action: 'remove', why: OWN_PYTHON },
  UV_MANAGED_PYTHON: { action: 'remove', why: OWN_PYTHON },
  UV_NO_MANAGED_PYTHON: { action: 'remove', why: OWN_PYTHON },
  POETRY_HOME: { action: 'remove', why: 'the buildpack installs its own tools' },
  POETRY_CACHE_DIR: { action: 'remove', why: OWN_CACHE },
  POETRY_DATA_DIR: { action: 'remove', why: 'the buildpack installs its own tools' },
  POETRY_VIRTUALENVS_CREATE: { action: 'remove', why: OWN_VENV },
  POETRY_VIRTUALENVS_IN_PROJECT: { action: 'remove', why: OWN_VENV },
  POETRY_VIRTUALENVS_PATH: { action: 'remove', why: OWN_VENV },
  POETRY_VIRTUALENVS_USE_POETRY_PYTHON: { action: 'remove', why: OWN_PYTHON },
  PIP_TARGET: { action: 'reject', why: 'pip would install the packages into that directory instead of the venv' },
  PIP_PREFIX: { action: 'reject', why: 'pip would install the packages under that prefix instead of the venv' },
  PIP_ROOT: { action: 'reject', why: 'pip would install the packages under that root instead of the venv' },
  PIP_USER: { action: 'reject', why: "pip would install the packages into the build user's home instead of the venv" },
  UV_PROJECT: { action: 'reject', why: 'uv would install another project than the app' },
};

export interface UnsafeEnvFinding {
  name: string;
  value: string;
  why: string;
}

export interface UnsafeEnvDecision {
  /** The env without the removed variables (the rejected ones too, though the build stops). */
  env: Env;
  removed: UnsafeEnvFinding[];
  rejected: UnsafeEnvFinding[];
}

/** Pure: which unsafe variables are set, and the env without them. An empty value counts as set. */
export function decideUnsafeEnv(env: Env): UnsafeEnvDecision {
  const out: Record<string, string | undefined> = { ...env };
  const removed: UnsafeEnvFinding[] = [];
  const rejected: UnsafeEnvFinding[] = [];
  for (const [name, rule] of Object.entries(UNSAFE_ENV)) {
    const value = env[name];
    if (value === undefined) continue;
    delete out[name];
    (rule.action === 'remove' ? removed : rejected).push({ name, value, why: rule.why });
  }
  return { env: Object.freeze(out), removed, rejected };
}

/** The titled error for rejected variables (pure, so its wording is unit-tested). */
export function rejectionError(rejected: readonly UnsafeEnvFinding[]): UserError {
  const names = rejected.map((f) => f.name);
  return new UserError(`Unsafe environment variable${names.length > 1 ? 's' : ''} ${listing(names)}`, [
    ...rejected.map((f) => `${f.name} is set to "${printable(f.value)}" in the platform env: ${f.why}.`),
    'The buildpack always installs the app\'s dependencies into its own venv (the site-packages layer), which is what the image runs.',
    `Unset ${listing(names)} in the platform env (for example, remove \`--env ${names[0]}\` from \`pack build\`).`,
  ]);
}

/** Applies the rules: warns about each removed variable, throws for rejected ones, returns the safe env. */
export function safeBuildEnv(env: Env, log: Log): Env {
  const decision = decideUnsafeEnv(env);
  if (decision.rejected.length) throw rejectionError(decision.rejected);
  if (decision.removed.length) {
    log.warning(`Ignoring ${listing(decision.removed.map((f) => f.name))} from the platform env`, [
      ...decision.removed.map((f) => `${f.name} is set, but ${f.why}: it is removed for this build (Python, pip, uv and the build hooks do not see it).`),
      'Unset it in the platform env to silence this warning.',
    ]);
  }
  return decision.env;
}
