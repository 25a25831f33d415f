import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { detect } from '../../src/detect';
import { BuildPlan } from '../../src/cnb/schemas';
import { parseTomlAs, plainToml } from '../../src/cnb/toml';
import { readApp, type AppSnapshot } from '../../src/project';
import { DETECT_EXPECTATIONS } from '../fixtures/detect-expectations';

const APPS = path.join(__dirname, '..', 'fixtures', 'apps');

function pythonRequirement(result: ReturnType<typeof detect>) {
  if (!result.pass) throw new Error('expected a pass');
  return result.plan.requires?.find((r) => r.name === 'python');
}

describe('detect over every fixture app', () => {
  const fixtures = require('node:fs').readdirSync(APPS) as string[];

  it('has an expectation for every fixture and at least 15 fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(15);
    expect(fixtures.filter((f) => !(f in DETECT_EXPECTATIONS))).toEqual([]);
  });

  it.each(fixtures)('%s', async (fixture) => {
    const expected = DETECT_EXPECTATIONS[fixture]!;
    const result = detect(await readApp(path.join(APPS, fixture)), expected.env ?? {});
    expect(result.pass).toBe(expected.pass);
    if (!result.pass) {
      expect(result.lookedFor).toEqual(expect.arrayContaining(['requirements.txt', 'pyproject.toml', '*.py in the app root']));
      return;
    }
    const python = pythonRequirement(result)!;
    expect(python.metadata).toMatchObject({ build: true, launch: true });
    expect(python.metadata?.version).toBe(expected.version);
    expect(python.metadata?.['version-source']).toBe(expected.versionSource);
    const requiresSitePackages = result.plan.requires?.some((r) => r.name === 'site-packages');
    expect(requiresSitePackages).toBe(expected.sitePackages);
    // Providing a name nobody requires fails the lifecycle's trial: provides must match requires.
    expect(result.plan.provides?.map((p) => p.name).sort()).toEqual(result.plan.requires?.map((r) => r.name).sort());
    // Detect writes the plan without the TOML library or the schema: read it back with both.
    expect(parseTomlAs(BuildPlan, plainToml(result.plan), 'plan.toml')).toEqual(result.plan);
  });
});

describe('detect never throws on odd input', () => {
  const snapshot = (entries: AppSnapshot['entries'], files: AppSnapshot['files'] = {}): AppSnapshot => ({ entries, files });

  it('an unreadable runtime.txt still passes, without version metadata', () => {
    const r = detect(snapshot([{ name: 'runtime.txt', kind: 'file' }], { 'runtime.txt': { ok: false, problem: 'cannot be read (permission denied)' } }), {});
    expect(r.pass).toBe(true);
    expect(pythonRequirement(r)?.metadata?.version).toBeUndefined();
  });

  it('a .py directory is not a Python signal, a .py file is', () => {
    expect(detect(snapshot([{ name: 'weird.py', kind: 'dir' }]), {}).pass).toBe(false);
    expect(detect(snapshot([{ name: 'server.py', kind: 'file' }]), {}).pass).toBe(true);
  });

  it('malformed pyproject.toml or Pipfile.lock leave the verdict to the signals', () => {
    const r = detect(
      snapshot(
        [
          { name: 'pyproject.toml', kind: 'file' },
          { name: 'Pipfile.lock', kind: 'file' },
        ],
        { 'pyproject.toml': { ok: true, bytes: Buffer.from('[project\nname=') }, 'Pipfile.lock': { ok: true, bytes: Buffer.from('{not json') } },
      ),
      {},
    );
    expect(r.pass).toBe(true);
    expect(pythonRequirement(r)?.metadata?.version).toBeUndefined();
  });

  it('a file that is really unreadable on disk gives a verdict (readApp reports, never throws)', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'detect-'));
    await fsp.mkdir(path.join(dir, 'requirements.txt'));
    await fsp.writeFile(path.join(dir, 'runtime.txt'), Buffer.from([0x7f, 0x45, 0x00, 0xff, 0xfe]));
    await fsp.symlink('/nonexistent/target', path.join(dir, '.python-version'));
    const app = await readApp(dir);
    expect(app.files['runtime.txt']).toMatchObject({ ok: true });
    expect(app.files['.python-version']).toMatchObject({ ok: false });
    expect(detect(app, {}).pass).toBe(true);
    await fsp.rm(dir, { recursive: true });
  });
});
