// Issue 16 item 1 through the real lifecycle: an app on an end-of-life Python (the 3.9.18 and
// 3.8.18 fixture archives) installs its requirements with the last pip that runs on it, served by
// the loopback mirror (every pinned pip wheel is there, each entry with its Requires-Python); the
// log says which pip and why, and that the Python is end-of-life, since when, and what is newest.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { createScenario, layerPath, readLayerToml, runBuild, type Scenario } from '../helpers/lifecycle';
import { loopbackSourcesForSuite, useLoopbackSources } from '../helpers/sources';

const sources = loopbackSourcesForSuite();

async function scenario(runtime: string): Promise<Scenario> {
  const s = createScenario('python-3.9-older-pip');
  s.writeAppFile('runtime.txt', `python-${runtime}\n`);
  await useLoopbackSources(s, sources);
  sources.mirror.clearLog();
  return s;
}

/** The wheels and archives the build fetched from the mirror, by file name. */
function mirrored(): string[] {
  return sources.mirror.requests().map((r) => path.posix.basename(r.path));
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
    // Only the chosen pip was downloaded, from the mirror.
    expect(mirrored().filter((f) => f.startsWith('pip-'))).toEqual([`pip-${pip}-py3-none-any.whl`]);
    expect(readLayerToml(s, 'pip')).toMatchObject({ metadata: { pip_version: pip, python_version: python } });
    expect(readLayerToml(s, 'site-packages')).toMatchObject({ metadata: { installer: `pip ${pip}`, python_version: python } });
    // The packages import from the venv the image carries, on that Python.
    const venv = spawnSync(path.join(layerPath(s, 'site-packages'), 'bin', 'python'), ['-c', 'import sys, dateutil, six, itsdangerous; print(sys.version.split()[0], dateutil.__version__, six.__version__)'], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
    });
    expect(venv.stderr).toBe('');
    expect(venv.stdout.trim()).toBe(`${python} 2.9.0.post0 1.17.0`);
  });
});
