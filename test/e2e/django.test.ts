// End to end, a Django project without a Procfile (fixture django-app: Django 5.2, gunicorn and
// WhiteNoise; project `mysite`): the buildpack's default web process `gunicorn mysite.wsgi`
// answers HTTP 200 with the project's view, and a static file collected at build time
// (collectstatic into STATIC_ROOT) is served by WhiteNoise from the exported image.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Scenario } from '../helpers/lifecycle';
import { freePort } from '../helpers/registry';
import { httpGet, startWebProcess, type PulledImage, type RegistryBuildResult, type WebProcess } from '../helpers/image';
import { describeE2E, startE2E, type E2E } from './support';

const REPO = 'python-cnb/django-app';

describeE2E('Django app without a Procfile, exported to a registry', () => {
  let e2e: E2E;
  let s: Scenario;
  let build: RegistryBuildResult;
  let image: PulledImage;
  let web: WebProcess | undefined;
  let webPort = 0;
  beforeAll(async () => {
    e2e = await startE2E();
    s = await e2e.scenario('django-app');
    build = await e2e.build(s, REPO);
    if (!build.success) throw new Error(`build failed in ${build.failedPhase}:\n${build.log}`);
    image = e2e.pull(s, REPO);
  });
  afterAll(async () => {
    await web?.stop();
    await e2e?.close();
  });

  it('the default web process is gunicorn mysite.wsgi', () => {
    const processes = image.buildMetadata?.processes ?? [];
    expect(processes.map((p) => p.type)).toEqual(['web']);
    expect([...(processes[0]?.command ?? []), ...(processes[0]?.args ?? [])].join(' ')).toMatch(/gunicorn mysite\.wsgi\b/);
    expect(image.config.config?.Entrypoint).toEqual(['/cnb/process/web']);
  });

  it('/cnb/process/web answers HTTP 200 with the view body', async () => {
    webPort = await freePort();
    web = await startWebProcess(image.rootfs, { port: webPort });
    expect(web.response.body).toBe('Hello from Django on python-cnb!\n');
    process.stderr.write(`e2e django-app: container start to first HTTP 200: ${web.msToFirst200} ms\n`);
  });

  it('serves a static file collected at build time (WhiteNoise)', async () => {
    expect(build.buildLog).toContain('collectstatic');
    expect(fs.readFileSync(path.join(image.rootfs, image.appDir, 'staticfiles', 'hello.txt'), 'utf8')).toBe('hello, static world from whitenoise\n');
    expect(web).toBeDefined(); // started by the previous test
    const r = await httpGet(`http://127.0.0.1:${webPort}/static/hello.txt`);
    expect(r.status).toBe(200);
    expect(r.body).toBe('hello, static world from whitenoise\n');
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
  });

  // src/layers/collected-static.ts: nothing changed, so Django does not start; the files it wrote
  // last time are copied back, and the app layer is byte-identical to the first image's.
  it('a rebuild with nothing changed copies the collected files back instead of running collectstatic, and its image serves them', async () => {
    const again = await e2e.build(s, REPO);
    if (!again.success) throw new Error(`rebuild failed in ${again.failedPhase}:\n${again.log}`);
    expect(again.buildLog).toMatch(/Reusing the static files collectstatic wrote in an earlier build: the app's files, the venv and the build environment are unchanged \(inputs sha256 [0-9a-f]{12}\); \d+ files copied back/);
    expect(again.buildLog).not.toContain('Running: python manage.py collectstatic');
    expect(again.exportLog).toMatch(/Reused 1\/1 app layer/);
    const rebuilt = e2e.pull(s, REPO);
    expect(fs.readFileSync(path.join(rebuilt.rootfs, rebuilt.appDir, 'staticfiles', 'hello.txt'), 'utf8')).toBe('hello, static world from whitenoise\n');
    const port = await freePort();
    const web2 = await startWebProcess(rebuilt.rootfs, { port });
    try {
      const r = await httpGet(`http://127.0.0.1:${port}/static/hello.txt`);
      expect(r.status).toBe(200);
      expect(r.body).toBe('hello, static world from whitenoise\n');
    } finally {
      await web2.stop();
    }
  });
});
