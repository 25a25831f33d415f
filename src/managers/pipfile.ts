// A Pipfile without Pipfile.lock, as the classic buildpack accepted: the pinned Pipenv (the
// build-only pipenv layer) resolves the Pipfile at build time into a lock kept outside the app
// (a copy of the Pipfile in the install's private scratch directory), and exactly that lock is
// installed as a committed Pipfile.lock is (src/managers/pipenv.ts). The build is not
// reproducible (a new release can change what is installed), so it warns ("commit Pipfile.lock").
// The venv key is the Pipfile's hash. PIP_INDEX_URL from the platform replaces the Pipfile's PyPI
// source for the resolution (PIPENV_PYPI_MIRROR), as it replaces a lock's sources.
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { whenCommandFails } from '../explain';
import { runOrThrow } from '../io/exec';
import { pipErrorLines } from '../python/dependencies';
import { bootstrapPipEnv } from '../runtime/stdlib-bytecode';
import { appFile, type Manager } from './manager';
import { installLock } from './pipenv';
import { withVendoredWheels } from './pip-runner';

/** What Pipenv runs with (pure): the Pipfile copy, the venv it resolves for, no prompts or spinner. */
export function pipenvLockEnv(pipfile: string, venvDir: string, indexUrl: string | undefined): Record<string, string> {
  return {
    PIPENV_PIPFILE: pipfile,
    VIRTUAL_ENV: venvDir,
    PIPENV_VERBOSITY: '-1',
    PIPENV_NOSPIN: '1',
    PIPENV_YES: '1',
    PIPENV_IGNORE_VIRTUALENVS: '0',
    PIPENV_VENV_IN_PROJECT: '0',
    ...(indexUrl ? { PIPENV_PYPI_MIRROR: indexUrl } : {}),
  };
}

export const pipfile: Manager = {
  kind: 'pipfile',
  tool: 'pipenv',
  inputs(app, manager, env) {
    const dev = env.BP_PIPENV_DEV === 'true';
    return withVendoredWheels(
      {
        manager,
        files: [{ name: 'Pipfile', bytes: appFile(app, 'Pipfile') }],
        switches: dev ? ['develop'] : [],
        label: `Pipfile (no Pipfile.lock)${dev ? ' (default and develop)' : ''}`,
        warnings: [{ title: 'No Pipfile.lock: this build is not reproducible', body: ['The Pipfile is resolved now, at build time, so a new release of any package can change what is installed from one build to the next.', 'Run `pipenv lock` and commit Pipfile.lock: the build then installs exactly the locked, hash-checked packages.'] }],
        unpinned: [],
        vendoredWheels: [],
      },
      app,
    );
  },
  async install(step) {
    const { log } = step;
    const work = path.join(step.tmp, 'pipenv');
    await fsp.mkdir(work, { recursive: true });
    const copy = path.join(work, 'Pipfile');
    await fsp.writeFile(copy, step.inputs.files.find((f) => f.name === 'Pipfile')!.bytes);
    const args = ['-m', 'pipenv', 'lock', ...(step.inputs.switches.includes('develop') ? ['--dev'] : [])];
    log.info(`Running: pipenv lock (the Pipfile resolved into a lock outside the app)`);
    await runOrThrow(step.python, args, { cwd: work, env: step.env.with(pipenvLockEnv(copy, step.venvDir, step.env.get('PIP_INDEX_URL'))).toRecord(), onOutput: (c) => log.commandOutput(c) }).catch(
      whenCommandFails((f) => ({
        title: 'Could not resolve the Pipfile',
        lead: `pipenv lock exited with code ${f.exitCode}. What Pipenv reported:`,
        lines: pipErrorLines(f.tail).map((l) => `  ${l}`),
        fix: ["Pipenv's output is above: a package the Pipfile names must exist on the index for this Python. Run `pipenv lock` yourself and commit Pipfile.lock."],
      })),
    );
    // The pipenv layer holds no pip: the lock is installed with the runtime's bundled one.
    await installLock({ ...step, env: step.env.with(bootstrapPipEnv(step.bootstrapPip)) }, await fsp.readFile(path.join(work, 'Pipfile.lock'), 'utf8'));
  },
};
