/**
 * `pack build` with the full builder (gcc, git, -dev headers in the build image), as users run the
 * buildpack: Flask trusted with the packaged .cnb, rebuilt warm, inspected, rebased; Django
 * untrusted (five containers from the lifecycle image) with the buildpack directory, published to
 * the registry. Every image is started with `podman run --network host` and must answer HTTP 200.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KEPT_NOTE } from '../../src/layers/reuse';
import { describePack, imageLayers, layerLines, mustRun, packBuild, packEnv, packSuite, podman, REPO_ROOT, runInImage, runWeb } from './support';

// Named in the loopback registry even when built into podman: pack inspect and pack rebase look
// the name up remotely too, and a bare name would send them to Docker Hub.
const FLASK = `${packEnv().PACK_REGISTRY}/python-cnb-pack-test/flask`;
const DJANGO = 'python-cnb-pack-test/django';
const CNB = () => {
  const dist = path.join(REPO_ROOT, 'dist');
  const cnb = fs.readdirSync(dist).find((f) => /^python-cnb_python-[\d.]+\.cnb$/.test(f));
  if (!cnb) throw new Error('no dist/python-cnb_python-<version>.cnb: run `npm run package` first');
  return path.join(dist, cnb);
};

describePack('pack build with the full builder', () => {
  const suite = packSuite('full builder', [FLASK, DJANGO]);
  const { timings } = suite;

  describe('Flask (examples/flask-app), trusted, --buildpack <.cnb>', () => {
    let firstLayers = '';
    let firstLog = '';
    beforeAll(async () => {
      // Cold: no previous image (afterAll removed it) and --clear-cache (the cache volume outlives a run).
      const r = await packBuild({ image: FLASK, app: path.join(REPO_ROOT, 'examples', 'flask-app'), builder: packEnv().PACK_BUILDER_FULL, trust: true, buildpack: CNB(), sources: suite.sources, clearCache: true });
      timings.push(`flask cold ${r.ms} ms`);
      firstLog = r.output;
      if (r.status !== 0) throw new Error(`pack build failed (exit ${r.status}):\n${r.output}`);
      firstLayers = imageLayers(FLASK);
    });

    test('builds on the full build image: the SQLite layer is compiled, every layer added', () => {
      expect(firstLog).toMatch(/Successfully built image/);
      expect(firstLog).not.toMatch(/no C compiler/i);
      expect(layerLines(firstLog).added).toEqual(expect.arrayContaining(['python', 'site-packages', 'sqlite']));
    });

    test('the image serves HTTP 200 under podman run --network host', async () => {
      const web = await runWeb(FLASK);
      timings.push(`flask podman run to first 200 ${web.msToFirst200} ms`);
      web.stop();
      expect(web.body.length).toBeGreaterThan(0);
    });

    test('as the run user, the bundled CPython imports sqlite3, ssl, ctypes and readline on the minimal run image', () => {
      const r = runInImage(FLASK, ['python', '-c', 'import os, sqlite3, ssl, ctypes, readline; print("uid", os.getuid(), "sqlite", sqlite3.sqlite_version, ssl.OPENSSL_VERSION)']);
      expect(r.output).toMatch(/^uid 1002 sqlite 3\.\d+\.\d+ OpenSSL \d/m);
      expect(r.status).toBe(0);
    });

    test('pack inspect shows the processes', () => {
      const out = mustRun(packEnv().PACK_BIN, ['inspect', FLASK, '--output', 'json']);
      const processes = (JSON.parse(out) as { local_info: { processes: Array<{ type: string; command: string; args?: string[]; default: boolean }> } }).local_info.processes;
      expect(processes).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'web', default: true })]));
      // The Procfile's line, run through bash -c (command "bash", the line in args).
      const web = processes.find((p) => p.type === 'web')!;
      expect([web.command, ...(web.args ?? [])].join(' ')).toMatch(/gunicorn app:app --bind 0\.0\.0\.0:\$PORT/);
    });

    // Nothing changed, so nothing in the image may change: every layer reused or kept, and the
    // build report label is the cold build's (src/report/build-report.ts, reportOfImage), so the
    // lifecycle's config layer and the image config are the same too: the same image ID.
    test('a warm rebuild gives the same image ID: every layer reused, the label of the build that made them', async () => {
      const coldId = podman('image', 'inspect', '--format', '{{.Id}}', FLASK).trim();
      const r = await packBuild({ image: FLASK, app: path.join(REPO_ROOT, 'examples', 'flask-app'), builder: packEnv().PACK_BUILDER_FULL, trust: true, buildpack: CNB(), sources: suite.sources });
      timings.push(`flask warm ${r.ms} ms`);
      expect(r.status).toBe(0);
      const layers = layerLines(r.output);
      expect(layers.added).toEqual([]);
      expect(layers.reused).toEqual(expect.arrayContaining(['python', 'site-packages', 'sqlite']));
      // Flask without hooks or collectstatic: python and the venv are kept in the image (not restored).
      expect(r.output).toContain(KEPT_NOTE);
      expect(imageLayers(FLASK)).toBe(firstLayers);
      expect(podman('image', 'inspect', '--format', '{{.Id}}', FLASK).trim()).toBe(coldId);
      const report = JSON.parse(podman('image', 'inspect', '--format', '{{index .Labels "io.buildpacks.python-cnb.build"}}', FLASK)) as {
        python: { version: string };
        layers: Array<{ name: string; decision: string }>;
      };
      expect(report.python.version).toMatch(/^3\.\d+\.\d+$/);
      const decisions = Object.fromEntries(report.layers.map((l) => [l.name, l.decision]));
      expect(decisions).toEqual(expect.objectContaining({ python: 'created', 'site-packages': 'created', sqlite: 'created' }));
    });

    test('pack rebase onto a second run image: the run layers change, the app still serves', async () => {
      const before = podman('image', 'inspect', '--format', '{{json .RootFS.Layers}}', FLASK);
      const r = mustRun(packEnv().PACK_BIN, ['rebase', FLASK, '--run-image', packEnv().PACK_RUN_IMAGE_2, '--pull-policy', 'if-not-present', '--no-color',
        // The second run image is another image, not a mirror of the first: pack wants that said.
        '--force']);
      expect(r).toMatch(/Rebased Image:/);
      expect(podman('image', 'inspect', '--format', '{{json .RootFS.Layers}}', FLASK)).not.toBe(before);
      expect(runInImage(FLASK, ['cat', '/etc/python-cnb-image']).output).toMatch(/run image 2/);
      const web = await runWeb(FLASK);
      web.stop();
    });
  });

  test('Django (test/fixtures/apps/django-app), untrusted (--lifecycle-image), --buildpack <dir>, --publish: pulled and served', async () => {
    const e = packEnv();
    const ref = `${e.PACK_REGISTRY}/python-cnb-pack-test/django:latest`;
    const r = await packBuild({ image: ref, app: path.join(REPO_ROOT, 'test', 'fixtures', 'apps', 'django-app'), builder: e.PACK_BUILDER_FULL, trust: false, buildpack: path.join(REPO_ROOT, 'dist', 'buildpack'), publish: true, sources: suite.sources,
      // The Flask build above proves the SQLite layer on this image; compiling it again costs minutes.
      env: { BP_PYTHON_SQLITE: 'false' } });
    timings.push(`django untrusted publish ${r.ms} ms`);
    if (r.status !== 0) throw new Error(`pack build failed (exit ${r.status}):\n${r.output}`);
    // Untrusted: the phases ran in separate containers, analyzer/restorer/exporter from the lifecycle image.
    expect(r.output).toMatch(/===> ANALYZING/);
    expect(r.output).toMatch(/===> EXPORTING/);
    expect(r.output).toMatch(/collectstatic/);
    podman('pull', ref);
    podman('tag', ref, DJANGO);
    const web = await runWeb(DJANGO);
    timings.push(`django podman run to first 200 ${web.msToFirst200} ms`);
    web.stop();
  });
});
