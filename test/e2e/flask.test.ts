// End to end, the README's example (examples/flask-app: requirements.txt flask + gunicorn,
// runtime.txt, Procfile `web: gunicorn ...`): the real lifecycle exports the image to a registry on
// loopback, the image is pulled and unpacked, and its default process, started through the CNB
// launcher (/cnb/process/web) in a chroot as the run user (uid 1002), answers HTTP 200 with the
// app's own body. A rebuild with nothing changed reuses every layer, and the rebuilt image starts
// without writing a single .pyc (the layers are owned by the build user, read-only for the run user).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, type Scenario } from '../helpers/lifecycle';
import { freePort } from '../helpers/registry';
import { findPyc, missingLibraries, startWebProcess, type PulledImage } from '../helpers/image';
import { describeE2E, layerLines, startE2E, type E2E } from './support';

const REPO = 'python-cnb/flask-app';

describeE2E('examples/flask-app, exported to a registry and run through the launcher', () => {
  let e2e: E2E;
  let s: Scenario;
  let image: PulledImage;
  beforeAll(async () => {
    e2e = await startE2E();
    s = await e2e.scenario(path.join(REPO_ROOT, 'examples', 'flask-app'));
  });
  afterAll(async () => {
    await e2e?.close();
  });

  it('builds and exports the app image to the registry', async () => {
    const r = await e2e.build(s, REPO);
    if (!r.success) throw new Error(`build failed in ${r.failedPhase}:\n${r.log}`);
    expect(r.exportLog).toMatch(/Adding layer 'python-cnb\/python:python'/);
    expect(r.exportLog).toMatch(/Adding layer 'python-cnb\/python:site-packages'/);
    expect(r.report?.image?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await e2e.registry.tags(REPO)).toEqual(['latest']);
    process.stderr.write(`e2e flask-app: first build ${r.durationMs} ms\n`);

    image = e2e.pull(s, REPO);
    expect(image.registryDigest).toBe(r.report?.image?.digest);
    expect(image.config.config?.Entrypoint).toEqual(['/cnb/process/web']);
    expect(image.config.config?.User).toBe('1002:1000');
    expect(image.labels['io.buildpacks.base.distro.name']).toBe('debian');
    expect(image.buildMetadata?.processes?.map((p) => p.type)).toEqual(['web']);
  });

  it('the run image has every shared library the CPython in the image needs', () => {
    const pythonLayer = path.join(image.layersDir, 'python-cnb_python', 'python'); // inside the image
    const stdlib = fs.readdirSync(path.join(image.rootfs, pythonLayer, 'lib')).find((d) => /^python3\.\d+$/.test(d))!;
    const dynload = path.join(pythonLayer, 'lib', stdlib, 'lib-dynload');
    const modules = fs
      .readdirSync(path.join(image.rootfs, dynload))
      .filter((f) => f.endsWith('.so') && !f.startsWith('_tkinter')) // Tk is a GUI toolkit: not in a server image
      .map((f) => path.join(dynload, f));
    expect(modules.length).toBeGreaterThan(30);
    expect(missingLibraries(image.rootfs, [path.join(pythonLayer, 'bin', stdlib), ...modules])).toEqual([]);
  });

  it('/cnb/process/web answers HTTP 200 with the app body, as uid 1002', async () => {
    const port = await freePort();
    const web = await startWebProcess(image.rootfs, { port });
    try {
      expect(web.response.body).toMatch(/^Hello from python-cnb! \(Python 3\.11\.\d+\)\n$/);
      process.stderr.write(`e2e flask-app: container start to first HTTP 200: ${web.msToFirst200} ms\n`);
      // The app runs as the image's user: gunicorn's processes belong to uid 1002.
      const owners = fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .flatMap((pid) => {
          try {
            const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
            const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
            return cmd.includes(`0.0.0.0:${port}`) ? [Number(/^Uid:\s+(\d+)/m.exec(status)?.[1])] : [];
          } catch {
            return [];
          }
        });
      expect(owners.length).toBeGreaterThan(0);
      expect(new Set(owners)).toEqual(new Set([1002]));
    } finally {
      await web.stop();
    }
  });

  it('rebuild with nothing changed: every buildpack layer reused', async () => {
    const r = await e2e.build(s, REPO);
    if (!r.success) throw new Error(`rebuild failed in ${r.failedPhase}:\n${r.log}`);
    process.stderr.write(`e2e flask-app: rebuild ${r.durationMs} ms\n`);
    expect(r.exportLog).toMatch(/Reusing layer 'python-cnb\/python:python'/);
    expect(r.exportLog).toMatch(/Reusing layer 'python-cnb\/python:site-packages'/);
    const { added, reused } = layerLines(r.exportLog);
    expect(added).toEqual([]);
    expect(reused).toEqual(expect.arrayContaining(['python', 'site-packages']));
    expect(r.buildLog).not.toContain('Running: pip');
  });

  it('the rebuilt image starts without writing any .pyc (layers are read-only for uid 1002)', async () => {
    image.cleanup();
    image = e2e.pull(s, REPO);
    const layers = image.layersDir; // inside the image
    // The layers belong to the build user; the run user may read but not write them.
    const venv = fs.statSync(path.join(image.rootfs, layers, 'python-cnb_python', 'site-packages'));
    expect(venv.uid).toBe(1001);
    const before = findPyc(image.rootfs, layers);
    expect(before.length).toBeGreaterThan(100); // compiled at build time, hash-based
    const marker = path.join(image.bundleDir, 'marker');
    fs.writeFileSync(marker, '');
    await new Promise((r) => setTimeout(r, 20)); // a strictly newer mtime for anything written after
    const port = await freePort();
    const web = await startWebProcess(image.rootfs, { port });
    try {
      expect(web.response.body).toMatch(/^Hello from python-cnb!/);
      expect(findPyc(image.rootfs, layers, marker)).toEqual([]);
      expect(findPyc(image.rootfs, layers)).toEqual(before);
      process.stderr.write(`e2e flask-app (rebuilt image): container start to first HTTP 200: ${web.msToFirst200} ms\n`);
    } finally {
      await web.stop();
    }
    // Nothing complained about bytecode either.
    expect(web.output()).not.toMatch(/Permission denied|\.pyc/);
  });
});
