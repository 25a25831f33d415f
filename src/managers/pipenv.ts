// Pipfile.lock: exactly the locked `default` packages (BP_PIPENV_DEV=true adds `develop`), with
// their hashes, installed by pip from a requirements file made from the lock (--require-hashes
// --no-deps). The lock's sources are used unless the platform sets PIP_INDEX_URL.
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { parseToml } from '../cnb/toml';
import { UserError } from '../errors';
import { expandEnv, pipfileHash, pipfileLockToRequirements } from '../python/dependencies';
import { appFile, type DependencyInputs, type Manager } from './manager';
import { pipInstallCommon, runPip, withVendoredWheels } from './pip-runner';

export const pipenv: Manager = {
  kind: 'pipenv',
  tool: 'pip',
  inputs(app, manager, env) {
    if (!app.entries.some((e) => e.name === 'Pipfile.lock')) {
      throw new UserError('Pipfile.lock not found', ['The app has a Pipfile but no Pipfile.lock, so what to install is not pinned.', 'Run `pipenv lock` and commit Pipfile.lock (this buildpack installs exactly the locked packages).']);
    }
    const lock = appFile(app, 'Pipfile.lock');
    const files = [{ name: 'Pipfile.lock', bytes: lock }];
    const warnings: Array<DependencyInputs['warnings'][number]> = [];
    if (app.entries.some((e) => e.name === 'Pipfile')) {
      const pipfile = appFile(app, 'Pipfile');
      files.unshift({ name: 'Pipfile', bytes: pipfile });
      try {
        const expected = (JSON.parse(lock.toString('utf8')) as { _meta?: { hash?: { sha256?: string } } })._meta?.hash?.sha256;
        const actual = pipfileHash(parseToml(pipfile.toString('utf8'), 'Pipfile'));
        if (expected && expected !== actual) {
          warnings.push({ title: 'Pipfile.lock is out of date', body: ['Pipfile.lock was not generated from the current Pipfile (its _meta.hash does not match).', 'The locked packages are installed as they are. Run `pipenv lock` and commit the result to install what the Pipfile says.'] });
        }
      } catch {
        /* a broken Pipfile or lock is reported when the lock is converted */
      }
    }
    const dev = env.BP_PIPENV_DEV === 'true';
    return withVendoredWheels({ manager, files, switches: dev ? ['develop'] : [], label: `Pipfile.lock${dev ? ' (default and develop)' : ''}`, warnings, unpinned: [], vendoredWheels: [] }, app);
  },
  async install(step) {
    const { inputs, log } = step;
    const lock = inputs.files.find((f) => f.name === 'Pipfile.lock')!;
    const converted = pipfileLockToRequirements(lock.bytes.toString('utf8'), inputs.switches.includes('develop'));
    const file = path.join(step.tmp, 'requirements-from-Pipfile.lock.txt');
    await fsp.writeFile(file, converted.requirements);
    // The platform's PIP_INDEX_URL wins over the lock's sources (a mirror, an air-gapped index).
    // Source URLs may hold credentials (${VAR} expanded): pass them through env, never argv.
    const [first, ...extra] = converted.sources.map((s) => expandEnv(s, step.env.toRecord()));
    const env = step.env.get('PIP_INDEX_URL') || !first ? step.env : step.env.with({ PIP_INDEX_URL: first, ...(extra.length ? { PIP_EXTRA_INDEX_URL: extra.join(' ') } : {}) });
    log.info(`Installing ${converted.count} locked packages from Pipfile.lock${converted.hashChecked ? ' (hash-checked)' : ''}`);
    const args = [...pipInstallCommon(inputs), '--no-deps', ...(converted.hashChecked ? ['--require-hashes'] : []), '--requirement', file];
    await runPip(step, args, env, (a) => (a === file ? '<Pipfile.lock as requirements>' : a));
  },
};
