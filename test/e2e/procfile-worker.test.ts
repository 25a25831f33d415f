// End to end, a Procfile with two process types (fixture flask-procfile-worker: `web:` gunicorn and
// `worker:` python worker.py): both are in the exported image (the io.buildpacks.build.metadata
// label and /cnb/process/<type>), web is the default (ENTRYPOINT /cnb/process/web) and answers
// HTTP 200, and the worker starts through its own launcher link.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Scenario } from '../helpers/lifecycle';
import { freePort } from '../helpers/registry';
import { startProcess, startWebProcess, type PulledImage } from '../helpers/image';
import { describeE2E, startE2E, type E2E } from './support';

const REPO = 'python-cnb/flask-procfile-worker';

describeE2E('Procfile with web and worker, exported to a registry', () => {
  let e2e: E2E;
  let s: Scenario;
  let image: PulledImage;
  beforeAll(async () => {
    e2e = await startE2E();
    s = await e2e.scenario('flask-procfile-worker');
    const r = await e2e.build(s, REPO);
    if (!r.success) throw new Error(`build failed in ${r.failedPhase}:\n${r.log}`);
    image = e2e.pull(s, REPO);
  });
  afterAll(async () => {
    await e2e?.close();
  });

  it('both process types are in the image, web the default', () => {
    const processes = image.buildMetadata?.processes ?? [];
    expect(processes.map((p) => p.type).sort()).toEqual(['web', 'worker']);
    expect(processes.find((p) => p.type === 'worker')).toMatchObject({
      command: ['bash', '-c'],
      args: ['python worker.py'],
      buildpackID: 'python-cnb/python',
    });
    expect(processes.find((p) => p.type === 'web')?.args?.[0]).toContain('gunicorn app:app --bind 0.0.0.0:$PORT');
    for (const type of ['web', 'worker']) {
      expect(fs.readlinkSync(path.join(image.rootfs, 'cnb', 'process', type))).toBe('/cnb/lifecycle/launcher');
    }
    expect(image.config.config?.Entrypoint).toEqual(['/cnb/process/web']);
  });

  it('web answers HTTP 200 with the app body', async () => {
    const web = await startWebProcess(image.rootfs, { port: await freePort() });
    try {
      expect(web.response.body).toBe('flask-procfile-worker web\n');
    } finally {
      await web.stop();
    }
  });

  it('worker starts through /cnb/process/worker', async () => {
    const worker = startProcess(image.rootfs, 'worker');
    try {
      const deadline = Date.now() + 30000;
      while (!worker.output().includes('worker started') && Date.now() < deadline) {
        if (worker.child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(worker.output()).toContain('worker started');
      expect(worker.child.exitCode).toBeNull(); // still running: a long-lived process
    } finally {
      await worker.stop(1000);
    }
  });
});
