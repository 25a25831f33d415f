// Issue 15 through the real lifecycle against the loopback index: a Pipfile.lock with an editable
// path entry beside hashed packages (two pip passes, as pipenv installs), and the input errors
// that must stop the build before any download (a stale Pipfile.lock, an empty pyproject.toml),
// while an unused, broken Pipfile.lock beside requirements.txt is only a warning.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createScenario, layerPath, readLayerToml, runBuild, type Scenario } from '../helpers/lifecycle';
import { loopbackSourcesForSuite, useLoopbackSources } from '../helpers/sources';

const sources = loopbackSourcesForSuite();

async function scenario(fixture: string): Promise<Scenario> {
  const s = createScenario(fixture);
  await useLoopbackSources(s, sources);
  sources.index.clearLog();
  sources.mirror.clearLog();
  return s;
}

function venvPython(s: Scenario, code: string) {
  return spawnSync(path.join(layerPath(s, 'site-packages'), 'bin', 'python'), ['-c', code], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
}

describe('Pipfile.lock with an editable path entry beside hashed packages', () => {
  it('installs the hashed packages hash-checked, then the editable entry; a rebuild runs no pip', async () => {
    const s = await scenario('pipenv-editable');
    const r = await runBuild(s);
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.buildLog).toContain('Installing 1 locked package from Pipfile.lock (hash-checked)');
    expect(r.buildLog).toContain('Installing 1 locked package from Pipfile.lock (editable, path, VCS or unhashed)');
    expect(r.buildLog).toMatch(/Running: pip install .*--no-deps --require-hashes --requirement <Pipfile\.lock as requirements>/);
    expect(sources.index.downloads()).toEqual(expect.arrayContaining([expect.stringMatching(/^itsdangerous-2\.2\.0-/)]));
    // Editable: the venv points at the app's own libs/greeting.
    expect(venvPython(s, 'import itsdangerous, greeting; print(greeting.greet("pipenv"), greeting.__file__)').stdout.trim()).toBe(`Hello, pipenv! ${path.join(s.appDir, 'libs', 'greeting', 'greeting', '__init__.py')}`);
    sources.index.clearLog();
    const warm = await runBuild(s);
    expect(warm.success ? 'success' : warm.log).toBe('success');
    expect(warm.buildLog).toMatch(/Using cached virtual environment: Pipfile\.lock unchanged \(sha256 [0-9a-f]{12}\), pip not run/);
    expect(warm.buildLog).not.toContain('Running: pip');
    expect(sources.index.requests()).toEqual([]);
  });
});

describe('a Pipfile without Pipfile.lock', () => {
  it('Pipenv locks it at build time outside the app, the lock is installed, with the warning; a rebuild runs no tool', async () => {
    const s = await scenario('pipfile-without-lock');
    const r = await runBuild(s);
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.buildLog).toContain('Dependencies: pipfile (found Pipfile (no Pipfile.lock))');
    expect(r.buildLog).toMatch(/Installed Pipenv 2026\.10\.3 \(\d+ packages, every wheel sha256 verified\)/);
    expect(r.buildLog).toContain('Running: pipenv lock (the Pipfile resolved into a lock outside the app)');
    expect(r.buildLog).toMatch(/Warning: No Pipfile\.lock: this build is not reproducible[\s\S]*commit Pipfile\.lock/);
    expect(r.buildLog).toMatch(/Installing 5 locked packages from Pipfile\.lock \(hash-checked\)/);
    expect(fs.existsSync(path.join(s.appDir, 'Pipfile.lock'))).toBe(false);
    expect(venvPython(s, 'import requests; print(requests.__version__)').stdout.trim()).toBe('2.34.2');
    expect(readLayerToml(s, 'site-packages')).toMatchObject({ metadata: { package_manager: 'pipfile', installer: 'pipenv 2026.10.3' } });
    expect(readLayerToml(s, 'pipenv')).toMatchObject({ types: { build: true, launch: false, cache: true } });
    sources.index.clearLog();
    const warm = await runBuild(s);
    expect(warm.success ? 'success' : warm.log).toBe('success');
    expect(warm.buildLog).toMatch(/Using cached virtual environment: Pipfile \(no Pipfile\.lock\) unchanged \(sha256 [0-9a-f]{12}\), pipenv not run/);
    expect(warm.buildLog).not.toMatch(/Running: (pip|pipenv)/);
    expect(sources.index.requests()).toEqual([]);
  });
});

describe('input errors found before any download', () => {
  it.each([
    ['pipenv-stale-lock', 'Pipfile.lock is out of date', /Pipfile\.lock was made from another Pipfile[\s\S]*Run `pipenv lock` and commit Pipfile\.lock \(or set BP_PIPENV_ALLOW_STALE_LOCK=true/],
    ['pyproject-empty', 'pyproject.toml is empty', /Expected a \[project\] table with the dependencies[\s\S]*add a requirements\.txt, or delete pyproject\.toml/],
  ])('%s: "%s", the fix, non-zero exit, nothing downloaded', async (fixture, title, fix) => {
    const s = await scenario(fixture);
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.phases.builder?.exitCode).not.toBe(0);
    expect(r.buildLog).toContain(`Error: ${title}`);
    expect(r.buildLog).toMatch(fix);
    expect(r.buildLog).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
    expect(sources.mirror.requests()).toEqual([]);
    expect(sources.index.requests()).toEqual([]);
    expect(readLayerToml(s, 'python')).toBeUndefined();
  });

  it('a stale Pipfile.lock installs, with a warning, when the platform sets BP_PIPENV_ALLOW_STALE_LOCK=true', async () => {
    const s = await scenario('pipenv-stale-lock');
    s.setEnv('BP_PIPENV_ALLOW_STALE_LOCK', 'true');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.buildLog).toMatch(/Warning: Pipfile\.lock is out of date[\s\S]*BP_PIPENV_ALLOW_STALE_LOCK=true: the locked packages are installed as they are/);
    expect(venvPython(s, 'import requests; print("ok")').stdout.trim()).toBe('ok');
  });
});

describe('an unused, invalid Pipfile.lock beside requirements.txt', () => {
  it('builds from requirements.txt, with a warning naming Pipfile.lock, which is not a version source', async () => {
    const s = await scenario('pipfile-lock-invalid-unused');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.buildLog).toContain('Dependencies: pip (found requirements.txt)');
    expect(r.buildLog).toMatch(/Also present but not used: Pipfile\.lock/);
    expect(r.buildLog).toMatch(/Warning: Pipfile\.lock is not used and was ignored[\s\S]*not a Python version source either/);
    expect(r.buildLog).not.toMatch(/Found .* in Pipfile\.lock/);
    expect(venvPython(s, 'import itsdangerous; print("ok")').stdout.trim()).toBe('ok');
  });
});
