// Pipfile.lock: exactly the locked `default` packages (BP_PIPENV_DEV=true adds `develop`), with
// their hashes, installed by pip from requirements made from the lock (--require-hashes --no-deps;
// editable, path and VCS entries in a second --no-deps pass). A lock whose _meta.hash does not
// match the Pipfile is an error (BP_PIPENV_ALLOW_STALE_LOCK=true: a warning). The lock's sources
// are used unless the platform sets PIP_INDEX_URL.
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { parseToml } from '../cnb/toml';
import { UserError } from '../errors';
import { expandEnv, pipfileHash, pipfileLockToRequirements } from '../python/dependencies';
import { appFile, type DependencyInputs, type InstallStep, type Manager } from './manager';
import { pipInstallCommon, runPip, withVendoredWheels } from './pip-runner';

export const pipenv: Manager = {
  kind: 'pipenv',
  tool: 'pip',
  inputs(app, manager, env) {
    const lock = appFile(app, 'Pipfile.lock');
    const files = [{ name: 'Pipfile.lock', bytes: lock }];
    const warnings: Array<DependencyInputs['warnings'][number]> = [];
    if (app.entries.some((e) => e.name === 'Pipfile')) {
      const pipfile = appFile(app, 'Pipfile');
      files.unshift({ name: 'Pipfile', bytes: pipfile });
      const stale = staleLock(pipfile, lock);
      if (stale && env.BP_PIPENV_ALLOW_STALE_LOCK === 'true') {
        warnings.push({ title: 'Pipfile.lock is out of date', body: [stale, 'BP_PIPENV_ALLOW_STALE_LOCK=true: the locked packages are installed as they are. Run `pipenv lock` and commit the result to install what the Pipfile says.'] });
      } else if (stale) {
        throw new UserError('Pipfile.lock is out of date', [stale, 'The build installs exactly the lock, so packages added to the Pipfile since would be silently missing.', 'Run `pipenv lock` and commit Pipfile.lock (or set BP_PIPENV_ALLOW_STALE_LOCK=true to install the old lock anyway).']);
      }
    }
    const dev = env.BP_PIPENV_DEV === 'true';
    return withVendoredWheels({ manager, files, switches: dev ? ['develop'] : [], label: `Pipfile.lock${dev ? ' (default and develop)' : ''}`, warnings, unpinned: [], vendoredWheels: [] }, app);
  },
  install: (step) => installLock(step, step.inputs.files.find((f) => f.name === 'Pipfile.lock')!.bytes.toString('utf8')),
};

/** Installs a Pipfile.lock's packages into the venv (also for the lock made at build time, pipfile.ts). */
export async function installLock(step: InstallStep, lockText: string): Promise<void> {
  const { inputs, log } = step;
  const converted = pipfileLockToRequirements(lockText, inputs.switches.includes('develop'));
  // The platform's PIP_INDEX_URL wins over the lock's sources (a mirror, an air-gapped index).
  // Source URLs may hold credentials (${VAR} expanded): pass them through env, never argv.
  const [first, ...extra] = converted.sources.map((s) => expandEnv(s, step.env.toRecord()));
  const env = step.env.get('PIP_INDEX_URL') || !first ? step.env : step.env.with({ PIP_INDEX_URL: first, ...(extra.length ? { PIP_EXTRA_INDEX_URL: extra.join(' ') } : {}) });
  // As pipenv installs a lock: the hashed packages in one pass (hash-checking mode), then the
  // entries that cannot carry hashes (editable, path, VCS) in another; the lock is the closure.
  const passes = [
    { lines: converted.hashed, what: 'hash-checked', args: ['--require-hashes'] },
    { lines: converted.other, what: 'editable, path, VCS or unhashed', args: [] },
  ].filter((p) => p.lines.length);
  for (const [i, pass] of passes.entries()) {
    const file = path.join(step.tmp, `requirements-from-Pipfile.lock-${i + 1}.txt`);
    await fsp.writeFile(file, `${pass.lines.join('\n')}\n`);
    log.info(`Installing ${pass.lines.length} locked ${pass.lines.length === 1 ? 'package' : 'packages'} from Pipfile.lock (${pass.what})`);
    await runPip(step, [...pipInstallCommon(inputs), '--no-deps', ...pass.args, '--requirement', file], env, (a) => (a === file ? '<Pipfile.lock as requirements>' : a));
  }
}

/** Why the lock is stale ("its _meta.hash ... does not match"), or undefined when it matches or
 *  either file cannot be read (a broken lock is reported when it is converted). */
function staleLock(pipfile: Buffer, lock: Buffer): string | undefined {
  try {
  const expected = (JSON.parse(lock.toString('utf8')) as { _meta?: { hash?: { sha256?: string } } })._meta?.hash?.sha256;
  const actual = pipfileHash(parseToml(pipfile.toString('utf8'), 'Pipfile'));
  if (!expected || expected === actual) return undefined;
  return `Pipfile.lock was made from another Pipfile: its _meta.hash.sha256 is ${expected.slice(0, 12)}…, the current Pipfile's is ${actual.slice(0, 12)}….`;
  } catch {
  return undefined;
  }
}
