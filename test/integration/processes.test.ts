// Process types and Django's collectstatic through the real lifecycle: launch.toml from a Procfile
// or the default web process, Procfile errors that quote the line, collectstatic failures that
// show Django's message, the exec.d program for WEB_CONCURRENCY.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createScenario, layerPath, readLaunchToml, runBuild, type Scenario } from '../helpers/lifecycle';
import { loopbackSourcesForSuite, useLoopbackSources } from '../helpers/sources';

const sources = loopbackSourcesForSuite();

async function scenario(fixture: string): Promise<Scenario> {
  const s = createScenario(fixture);
  await useLoopbackSources(s, sources);
  return s;
}

describe('processes', () => {
  it('Procfile types become bash -c processes, web is the default', async () => {
    const s = await scenario(path.join(__dirname, '..', '..', 'examples', 'flask-app'));
    s.writeAppFile('Procfile', '# two types\r\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\r\nworker:python -c "print(1)" && echo done\r\n');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toContain('Procfile declares types -> web, worker');
    // launch.toml also holds the build report label (test/integration/supply-chain.test.ts).
    expect(readLaunchToml(s)?.processes).toEqual([
      { type: 'web', command: ['bash', '-c'], args: ['gunicorn app:app --bind 0.0.0.0:$PORT'], default: true },
      { type: 'worker', command: ['bash', '-c'], args: ['python -c "print(1)" && echo done'], default: false },
    ]);
    // WEB_CONCURRENCY is computed at container start by an exec.d program in a launch layer.
    const execd = path.join(layerPath(s, 'web-concurrency'), 'exec.d', 'web-concurrency');
    expect(fs.statSync(execd).mode & 0o111).toBeTruthy();
  });

  it('no Procfile: gunicorn + a Flask app object give a default web process, logged with how to override', async () => {
    const s = await scenario('flask-default-process');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toContain('- No Procfile');
    expect(r.buildLog).not.toContain('Procfile declares types');
    expect(r.buildLog).toMatch(/Default web process: exec gunicorn app:app --bind 0\.0\.0\.0:\$\{PORT:-8080\} \(a Flask app object in app\.py with gunicorn\)[\s\S]*BP_PYTHON_DEFAULT_PROCESS=false/);
    expect(readLaunchToml(s)?.processes).toEqual([{ type: 'web', command: ['bash', '-c'], args: ['exec gunicorn app:app --bind 0.0.0.0:${PORT:-8080}'], default: true }]);

    s.setEnv('BP_PYTHON_DEFAULT_PROCESS', 'false');
    const off = await runBuild(s, { upTo: 'builder' });
    expect(off.buildLog).toContain('No default web process: BP_PYTHON_DEFAULT_PROCESS=false');
    expect(readLaunchToml(s)?.processes).toBeUndefined();
  });

  it('no Procfile and nothing obvious: no default, and the log says how to add one', async () => {
    const s = await scenario('script-only');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toMatch(/No default web process \(gunicorn is not among the dependencies\)\. Add a Procfile/);
  });

  it.each([
    ['procfile-invalid', /Error: Invalid line in Procfile[\s\S]*Procfile line 1: "web gunicorn app:app"/],
    ['procfile-empty-command', /Error: Empty command in Procfile[\s\S]*line 2: "worker:"/],
    ['procfile-duplicate', /Error: Duplicate process type in Procfile[\s\S]*line 2: "web: python app\.py"/],
  ])('%s is a clear error, before anything is installed', async (fixture, pattern) => {
    const s = await scenario(fixture);
    sources.mirror.clearLog();
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.buildLog).toMatch(pattern);
    expect(r.buildLog).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
    expect(sources.mirror.requests()).toEqual([]);
  });
});

describe('Django collectstatic', () => {
  it("a failing collectstatic shows Django's message and a hint", async () => {
    const s = await scenario('django-collectstatic-fails');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.buildLog).toMatch(/Error: Django collectstatic failed[\s\S]*STATIC_ROOT[\s\S]*DISABLE_COLLECTSTATIC=1/);
    expect(r.success).toBe(false);
  });

  it('DISABLE_COLLECTSTATIC=1 skips it', async () => {
    const s = await scenario('django-collectstatic-fails');
    s.setEnv('DISABLE_COLLECTSTATIC', '1');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toContain('Skipping collectstatic: DISABLE_COLLECTSTATIC is set');
  });

  // collectstatic runs once (no `manage.py help collectstatic` first): its own answer tells a
  // disabled staticfiles app from settings that do not import.
  it('without django.contrib.staticfiles it is skipped, and the build says why', async () => {
    const s = await scenario('django-no-staticfiles');
    const r = await runBuild(s, { upTo: 'builder' });
    expect({ success: r.success, log: r.success ? '' : r.log }).toEqual({ success: true, log: '' });
    expect(r.buildLog).toContain("Skipping collectstatic: the 'django.contrib.staticfiles' app is not enabled");
    expect(r.buildLog).not.toContain('help collectstatic');
    expect(r.buildLog.match(/Running: python manage\.py collectstatic/g)).toHaveLength(1);
  });

  it('settings that need a run-time env var fail the build with the KeyError, not a skip', async () => {
    const s = await scenario('django-settings-need-env');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    const error = r.buildLog.slice(r.buildLog.indexOf('! Error: Django collectstatic failed'));
    expect(error).toMatch(/What Django reported:\n!\n!   KeyError: 'DJANGO_SECRET_KEY'\n/);
    expect(error).toContain('env vars set only at run time are not available here');
    expect(r.buildLog).not.toContain('Skipping collectstatic');
    expect(r.buildLog).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  });
});
