// Process types and Django's collectstatic through the real lifecycle: launch.toml from a Procfile
// or the default web process, Procfile errors that quote the line, collectstatic failures that
// show Django's message, the exec.d program for WEB_CONCURRENCY.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createScenario, layerPath, readLaunchToml, readLayerToml, runBuild, type Scenario } from '../helpers/lifecycle';
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

// src/layers/collected-static.ts: collectstatic's output is reused only while everything it reads
// is unchanged; each kind of input is changed once here, and each change makes it run again.
describe('collectstatic reused while its inputs are unchanged', () => {
  let s: Scenario;
  const collected = () => fs.readFileSync(path.join(s.appDir, 'staticfiles', 'hello.txt'), 'utf8');
  const ran = (log: string) => /Running: python manage\.py collectstatic/.test(log);
  beforeAll(async () => {
    s = await scenario('django-app');
  });

  it('runs on the first build and keeps what it wrote; the next build copies that back', async () => {
    const first = await runBuild(s);
    expect({ success: first.success, log: first.success ? '' : first.log }).toEqual({ success: true, log: '' });
    expect(ran(first.buildLog)).toBe(true);
    expect(first.buildLog).toMatch(/kept for the next build: the \d+ files it wrote/);
    expect(readLayerToml(s, 'collected-static')).toMatchObject({ types: { build: false, launch: false, cache: true }, metadata: { inputs_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    const again = await runBuild(s);
    expect(again.success).toBe(true);
    expect(ran(again.buildLog)).toBe(false);
    expect(again.buildLog).toContain('Reusing the static files collectstatic wrote in an earlier build');
    expect(collected()).toBe('hello, static world from whitenoise\n');
  });

  it('a changed static file: it runs, and the new content is collected', async () => {
    s.writeAppFile('static/hello.txt', 'changed\n');
    const r = await runBuild(s);
    expect(r.buildLog).toContain('the app files, the venv or the build environment changed since collectstatic last ran');
    expect(ran(r.buildLog)).toBe(true);
    expect(collected()).toBe('changed\n');
    // and that output is what the next unchanged build copies back
    const again = await runBuild(s);
    expect(ran(again.buildLog)).toBe(false);
    expect(collected()).toBe('changed\n');
  });

  it('a changed build env var (settings may read any): it runs', async () => {
    s.setEnv('MY_SETTING', 'one');
    expect(ran((await runBuild(s)).buildLog)).toBe(true);
    expect(ran((await runBuild(s)).buildLog)).toBe(false);
    s.setEnv('MY_SETTING', 'two');
    expect(ran((await runBuild(s)).buildLog)).toBe(true);
  });

  it('a changed requirement (the venv changes): it runs', async () => {
    s.writeAppFile('requirements.txt', `${fs.readFileSync(path.join(s.sourceDir, 'requirements.txt'), 'utf8')}python-dotenv==1.2.4\n`);
    expect(ran((await runBuild(s)).buildLog)).toBe(true);
  });

  // (Up to the builder: the lifecycle's exporter itself refuses an app file it cannot read.)
  it('an app entry the build user cannot read: no fingerprint, collectstatic runs, the build phase succeeds', async () => {
    s.writeAppFile('private.key', 'not for the build\n');
    s.chmodAppFile('private.key', 0o000);
    const r = await runBuild(s, { upTo: 'builder' });
    s.removeAppFile('private.key');
    expect({ success: r.success, log: r.success ? '' : r.log }).toEqual({ success: true, log: '' });
    expect(r.buildLog).toMatch(/The app could not be read to check it \(EACCES on \S+private\.key\): collectstatic runs without checking whether its inputs changed/);
    expect(ran(r.buildLog)).toBe(true);
  });

  it('BP_PYTHON_COLLECTSTATIC_REUSE=false, or a build hook: it runs every build, and nothing is kept', async () => {
    s.setEnv('BP_PYTHON_COLLECTSTATIC_REUSE', 'false');
    const off = await runBuild(s);
    expect(off.buildLog).toContain('Running collectstatic without checking whether its inputs changed: BP_PYTHON_COLLECTSTATIC_REUSE=false');
    expect(ran(off.buildLog)).toBe(true);
    expect(readLayerToml(s, 'collected-static')).toBeUndefined();
    s.setEnv('BP_PYTHON_COLLECTSTATIC_REUSE', 'true');
    s.writeAppFile('bin/post_compile', '#!/bin/sh\necho post_compile ran\n', 0o755);
    for (let i = 0; i < 2; i++) {
      const r = await runBuild(s);
      expect(r.buildLog).toContain('Running collectstatic without checking whether its inputs changed: bin/post_compile runs');
      expect(ran(r.buildLog)).toBe(true);
    }
  });
});
