// poetry.lock (with its pyproject.toml): the pinned Poetry (the build-only poetry layer) syncs the
// lock's main group into the venv, as Heroku's CNB does. A lock that no longer matches
// pyproject.toml fails during analysis, before any download (poetry-lock.ts: Poetry's own
// content-hash), and `poetry check --lock` runs first all the same (Poetry's word is final),
// then `poetry sync --only main --compile` with VIRTUAL_ENV at the venv. The project itself is
// installed when it declares a build system (else --no-root). The index is the one in
// pyproject.toml / poetry.lock; the platform's POETRY_* settings pass through except those that
// would put the venv or Poetry's files elsewhere (POETRY_VIRTUALENVS_*, POETRY_CACHE_DIR,
// POETRY_DATA_DIR).
import { checkProjectFile } from '../python/project-files';
import { UserError } from '../errors';
import { whenCommandFails } from '../explain';
import { runOrThrow } from '../io/exec';
import { pipErrorLines } from '../python/dependencies';
import { has } from '../project';
import { appFile, type InstallStep, type Manager } from './manager';
import { poetryLockFreshness } from './poetry-lock';

/** Platform settings that would move the venv, or Poetry's cache and data out of the layers. */
export const POETRY_ENV_OVERRIDDEN = ['POETRY_VIRTUALENVS_CREATE', 'POETRY_VIRTUALENVS_IN_PROJECT', 'POETRY_VIRTUALENVS_PATH', 'POETRY_VIRTUALENVS_PREFER_ACTIVE_PYTHON', 'POETRY_VIRTUALENVS_USE_POETRY_PYTHON', 'POETRY_CACHE_DIR', 'POETRY_DATA_DIR'] as const;

/** What Poetry runs with (pure): the venv to fill (VIRTUAL_ENV, never one of its own), no prompts,
 *  no keyring (a headless build has no secret service; credentials come from POETRY_HTTP_BASIC_*). */
export function poetryEnv(venvDir: string, dataDir: string, platform: (name: string) => string | undefined): Record<string, string> {
  return {
    VIRTUAL_ENV: venvDir,
    POETRY_VIRTUALENVS_CREATE: 'false',
    POETRY_DATA_DIR: dataDir,
    POETRY_NO_INTERACTION: '1',
    ...(platform('PYTHON_KEYRING_BACKEND') ? {} : { PYTHON_KEYRING_BACKEND: 'keyring.backends.null.Keyring' }),
  };
}

/** `poetry sync` arguments (pure): the main group only, bytecode compiled now (hash-based under
 *  SOURCE_DATE_EPOCH), the project itself only when it is a package. */
export function poetrySyncArgs(installRoot: boolean): string[] {
  return ['sync', '--only', 'main', '--compile', '--no-ansi', ...(installRoot ? [] : ['--no-root'])];
}

export const poetry: Manager = {
  kind: 'poetry',
  tool: 'poetry',
  inputs(app, manager) {
    if (!has(app, 'pyproject.toml')) {
      throw new UserError('poetry.lock without pyproject.toml', ['The app has poetry.lock but no pyproject.toml, so Poetry has no project to install.', 'Commit the pyproject.toml that poetry.lock was made from.']);
    }
    const pyprojectBytes = appFile(app, 'pyproject.toml');
    const doc = parsePyproject(pyprojectBytes);
    if (!has(app, 'poetry.lock')) {
      throw new UserError('poetry.lock not found', [
        'pyproject.toml has a [tool.poetry] table, so this is a Poetry project, but the app has no poetry.lock: what to install is not pinned.',
        'Run `poetry lock` and commit poetry.lock (the build installs exactly the locked packages).',
      ]);
    }
    const lock = checkProjectFile('poetry.lock', appFile(app, 'poetry.lock').toString('utf8'));
    const freshness = poetryLockFreshness(doc, lock);
    if (freshness.state === 'stale') {
      throw new UserError('poetry.lock is out of date', [
        `poetry.lock was made from another pyproject.toml: its content-hash is ${freshness.locked.slice(0, 12)}..., and the dependencies in pyproject.toml now hash to ${freshness.current.slice(0, 12)}... (what \`poetry check --lock\` compares).`,
        'poetry.lock does not match pyproject.toml, and the build installs exactly the lock. Run `poetry lock`, then commit poetry.lock.',
      ]);
    }
    const tool = (doc.tool as Record<string, unknown> | undefined)?.poetry as Record<string, unknown> | undefined;
    const installRoot = doc['build-system'] !== undefined && tool?.['package-mode'] !== false;
    const constraint = pythonConstraint(doc);
    return {
      manager,
      files: [
        { name: 'pyproject.toml', bytes: pyprojectBytes },
        { name: 'poetry.lock', bytes: appFile(app, 'poetry.lock') },
      ],
      switches: installRoot ? [] : ['no-root'],
      label: 'poetry.lock',
      warnings: [],
      unpinned: [],
      vendoredWheels: [],
      pythonConstraint: constraint,
      notes: [installRoot ? 'pyproject.toml declares a build system: the project itself is installed too (editable)' : 'pyproject.toml declares no build system (or package-mode = false): only the dependencies are installed (--no-root)'],
    };
  },
  async install(step) {
    const env = step.env.without(POETRY_ENV_OVERRIDDEN).with(poetryEnv(step.venvDir, step.tmp, (n) => step.env.get(n)));
    await runPoetry(step, ['check', '--lock', '--no-ansi'], env);
    await runPoetry(step, poetrySyncArgs(!step.inputs.switches.includes('no-root')), env);
  },
};

/** pyproject.toml checked against its schema (src/python/project-files.ts): a titled error names the place. */
function parsePyproject(bytes: Buffer): Record<string, unknown> {
  return checkProjectFile('pyproject.toml', bytes.toString('utf8'));
}

/** The project's own Python constraint: [project] requires-python, else [tool.poetry.dependencies] python. */
function pythonConstraint(doc: Record<string, unknown>): { constraint: string; origin: string } | undefined {
  const requires = (doc.project as Record<string, unknown> | undefined)?.['requires-python'];
  if (typeof requires === 'string') return { constraint: requires, origin: 'pyproject.toml ([project] requires-python)' };
  const deps = ((doc.tool as Record<string, unknown> | undefined)?.poetry as Record<string, unknown> | undefined)?.dependencies as Record<string, unknown> | undefined;
  const python = deps?.python;
  if (typeof python === 'string') return { constraint: python, origin: 'pyproject.toml ([tool.poetry.dependencies] python)' };
  return undefined;
}

async function runPoetry(step: InstallStep, args: readonly string[], env: InstallStep['env']): Promise<void> {
  const { log } = step;
  log.info(`Running: poetry ${args.join(' ')}`);
  await runOrThrow(step.python, ['-m', 'poetry', ...args], { cwd: step.appDir, env: env.toRecord(), onOutput: (c) => log.commandOutput(c) }).catch(
    whenCommandFails((f) => {
      const stale = args[0] === 'check' && f.tail.some((l) => /poetry lock|changed significantly|not consistent/i.test(l));
      return {
        title: stale ? 'poetry.lock is out of date' : args[0] === 'check' ? 'poetry check --lock failed' : 'Could not install the dependencies from poetry.lock',
        lead: `Poetry exited with code ${f.exitCode}. What Poetry reported:`,
        lines: pipErrorLines(f.tail).map((l) => `  ${l}`),
        fix: [
          stale
            ? 'poetry.lock does not match pyproject.toml, and the build installs exactly the lock. Run `poetry lock`, then commit poetry.lock.'
            : "Poetry's full output is above. Check the named package: it must be on the index poetry.lock was made against (the source in pyproject.toml), for this Python.",
        ],
      };
    }),
  );
}
