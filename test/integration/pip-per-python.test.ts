// Issue 16 item 1 through the real lifecycle: an app on an end-of-life Python (the 3.9.18 and
// 3.8.18 fixture archives) installs its requirements with the last pip that runs on it, served by
// the loopback mirror (every pinned pip wheel is there, each entry with its Requires-Python); the
// log says which pip and why, and that the Python is end-of-life, since when, and what is newest.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as TOML from '@iarna/toml';
import { createScenario, layerPath, readLayerToml, runBuild, runBuildWatchingTmpdir, type BuildResult, type Scenario } from '../helpers/lifecycle';
import { writeManifest, type ManifestEntry } from '../helpers/mirror';
import { loopbackSourcesForSuite, useLoopbackSources } from '../helpers/sources';

const sources = loopbackSourcesForSuite();

/** The fixture app on one runtime; `pips`: only these pip entries in the operator manifest. */
async function scenario(runtime: string, pips?: string[]): Promise<Scenario> {
  const s = createScenario('python-3.9-older-pip');
  s.writeAppFile('runtime.txt', `python-${runtime}\n`);
  const manifest = await useLoopbackSources(s, sources);
  if (pips) {
    const doc = TOML.parse(fs.readFileSync(manifest, 'utf8')) as unknown as { defaults: Record<string, string>; dependencies: ManifestEntry[] };
    await writeManifest(manifest, doc.dependencies.filter((d) => d.id !== 'pip' || pips.includes(d.version)), doc.defaults);
  }
  sources.mirror.clearLog();
  return s;
}

/** The build used `pip` for `python`, downloaded only that pip, keyed both layers on it, and the packages import from the venv. */
function expectInstalledWith(s: Scenario, r: BuildResult, python: string, pip: string): void {
  expect(sources.mirror.requests().map((q) => path.posix.basename(q.path)).filter((f) => f.startsWith('pip-'))).toEqual([expect.stringMatching(new RegExp(`^pip-${pip.replace(/\./g, '\\.')}-py`))]);
  expect(readLayerToml(s, 'pip')).toMatchObject({ metadata: { pip_version: pip, python_version: python } });
  expect(readLayerToml(s, 'site-packages')).toMatchObject({ metadata: { installer: `pip ${pip}`, python_version: python } });
  expect(r.buildLog).toContain('Successfully installed itsdangerous-2.2.0 python-dateutil-2.9.0.post0 six-1.17.0');
  const venv = spawnSync(path.join(layerPath(s, 'site-packages'), 'bin', 'python'), ['-c', 'import sys, dateutil, six, itsdangerous; print(sys.version.split()[0], dateutil.__version__, six.__version__)'], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
  });
  expect(venv.stderr).toBe('');
  expect(venv.stdout.trim()).toBe(`${python} 2.9.0.post0 1.17.0`);
}

describe('a pip per Python line', () => {
  it.each([
    ['3.9.18', '26.0.1', '>=3.9', '26.3 needs >=3.10', '2025-10-31'],
    ['3.8.18', '25.0.1', '>=3.8', '26.0.1 needs >=3.9', '2024-10-07'],
  ])('Python %s installs its requirements with pip %s, says why and that the Python is end-of-life', async (python, pip, requires, passedOver, eol) => {
    const s = await scenario(python);
    const r = await runBuild(s);
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.buildLog).toContain(`Using pip ${pip}, the newest pinned pip whose Requires-Python ${requires} admits Python ${python}; pip ${passedOver}`);
    expect(r.buildLog).toMatch(new RegExp(`Python ${python.slice(0, 3).replace('.', '\\.')} has reached end-of-life[\\s\\S]*stopped receiving security fixes on ${eol}[\\s\\S]*The newest supported version is \\d+\\.\\d+\\.\\d+`));
    expectInstalledWith(s, r, python, pip);
  });

  it('a pip older than 22.3 (the one for 3.6; it has no --python) runs from the venv: an operator manifest with pips 26.3 and 21.3.1 gives a 3.9 app pip 21.3.1', async () => {
    const s = await scenario('3.9.18', ['26.3', '21.3.1']);
    // pip 21.3.1 runs from its wheel to install itself; what it leaves in TMPDIR goes with the build's scratch.
    const r = await runBuildWatchingTmpdir(s);
    expect(r.success ? 'success' : r.log).toBe('success');
    expect(r.leftInTmpdir).toEqual([]);
    expect(r.buildLog).toContain('Using pip 21.3.1, the newest pinned pip whose Requires-Python >=3.6 admits Python 3.9.18; pip 26.3 needs >=3.10');
    expectInstalledWith(s, r, '3.9.18', '21.3.1');
  });
});
