import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decideLayer, defineLayer, dropLayer, openLayer, peekLayer, stringKey } from '../../src/cnb/layer';
import { removalsFinished } from '../../src/io/fs';

const def = defineLayer({
  name: 'python',
  types: { build: true, launch: true, cache: true },
  key: stringKey(['python_version', 'arch'] as const),
  reasons: {
    python_version: (a, b) => `the Python version changed from ${a} to ${b}`,
    arch: (a, b) => `the architecture changed from ${a} to ${b}`,
  },
});
const wanted = { python_version: '3.13.9', arch: 'amd64' };

describe('decideLayer (pure)', () => {
  it('no restored metadata: create, new', () => {
    expect(decideLayer(def, undefined, false, wanted)).toEqual({ action: 'create', cause: 'new' });
  });
  it('same key and contents present: reuse', () => {
    expect(decideLayer(def, { ...wanted }, true, wanted)).toEqual({ action: 'reuse', cached: wanted });
  });
  it('every changed field gives its reason', () => {
    const d = decideLayer(def, { python_version: '3.12.1', arch: 'arm64' }, true, wanted);
    expect(d).toMatchObject({ action: 'create', cause: 'changed' });
    expect(d.action === 'create' && 'reasons' in d ? d.reasons : []).toEqual([
      'the Python version changed from 3.12.1 to 3.13.9',
      'the architecture changed from arm64 to amd64',
    ]);
  });
  it('metadata that went through JSON as a number does not match (keys are strings)', () => {
    expect(decideLayer(def, { python_version: 3.139, arch: 'amd64' }, true, wanted)).toMatchObject({ cause: 'unreadable-metadata' });
  });
  it('extra or missing fields (another buildpack version) recreate', () => {
    expect(decideLayer(def, { ...wanted, extra: 'x' }, true, wanted)).toMatchObject({ cause: 'unreadable-metadata' });
    expect(decideLayer(def, { arch: 'amd64' }, true, wanted)).toMatchObject({ cause: 'unreadable-metadata' });
  });
  it('unparseable toml recreates', () => {
    expect(decideLayer(def, null, true, wanted)).toMatchObject({ cause: 'unreadable-metadata' });
  });
  it('same key but contents missing recreates', () => {
    expect(decideLayer(def, { ...wanted }, false, wanted)).toMatchObject({ cause: 'missing-contents' });
  });
  it('same key, contents not restored, files not needed: keep the image\'s layer', () => {
    expect(decideLayer(def, { ...wanted }, false, wanted, undefined, true)).toEqual({ action: 'keep', cached: wanted });
    // A changed key or a forced rebuild still recreates.
    expect(decideLayer(def, { ...wanted, arch: 'arm64' }, false, wanted, undefined, true)).toMatchObject({ cause: 'changed' });
    expect(decideLayer(def, { ...wanted }, false, wanted, 'forced', true)).toMatchObject({ cause: 'forced' });
  });
  it('forced recreates with the given reason', () => {
    expect(decideLayer(def, { ...wanted }, true, wanted, 'BP_PYTHON_FORCE_REINSTALL is set')).toEqual({
      action: 'create',
      cause: 'forced',
      cached: wanted,
      reasons: ['BP_PYTHON_FORCE_REINSTALL is set'],
    });
  });
  it('rejects reserved layer names', () => {
    expect(() => defineLayer({ ...def, name: 'launch' })).toThrow();
    expect(() => defineLayer({ ...def, name: 'site.packages' })).toThrow();
  });
});

describe('openLayer (on a real layers dir)', () => {
  let layers: string;
  beforeEach(async () => {
    layers = await fsp.mkdtemp(path.join(os.tmpdir(), 'layers-'));
  });
  afterEach(() => fsp.rm(layers, { recursive: true, force: true }));

  it('create: empty dir, no toml until commit, then [types] and [metadata]', async () => {
    const handle = await openLayer(layers, def, wanted);
    expect(handle.decision).toEqual({ action: 'create', cause: 'new' });
    expect(await fsp.readdir(handle.dir)).toEqual([]);
    await expect(fsp.stat(path.join(layers, 'python.toml'))).rejects.toThrow();
    await handle.commit();
    const toml = await fsp.readFile(path.join(layers, 'python.toml'), 'utf8');
    expect(toml).toMatch(/\[types\]\s+build = true\s+launch = true\s+cache = true/);
    expect(toml).toMatch(/\[metadata\]\s+python_version = "3\.13\.9"\s+arch = "amd64"/);
  });

  it('reuse after a restore that stripped [types]: keeps files and rewrites [types] at once', async () => {
    await fsp.mkdir(path.join(layers, 'python', 'bin'), { recursive: true });
    await fsp.writeFile(path.join(layers, 'python', 'bin', 'python3'), 'x');
    await fsp.writeFile(path.join(layers, 'python.toml'), '[metadata]\npython_version = "3.13.9"\narch = "amd64"\n');
    const handle = await openLayer(layers, def, wanted);
    expect(handle.decision.action).toBe('reuse');
    expect(await fsp.readFile(path.join(layers, 'python', 'bin', 'python3'), 'utf8')).toBe('x');
    expect(await fsp.readFile(path.join(layers, 'python.toml'), 'utf8')).toMatch(/\[types\][\s\S]*launch = true/);
  });

  it('changed key: the install starts in an empty layer without the old metadata; the old files are gone when the build ends', async () => {
    await fsp.mkdir(path.join(layers, 'python', 'lib'), { recursive: true });
    await fsp.writeFile(path.join(layers, 'python', 'lib', 'old'), 'x');
    await fsp.writeFile(path.join(layers, 'python.toml'), '[metadata]\npython_version = "3.12.1"\narch = "amd64"\n');
    await fsp.writeFile(path.join(layers, 'python.sbom.cdx.json'), '{}');
    const handle = await openLayer(layers, def, wanted);
    expect(handle.decision).toMatchObject({ cause: 'changed' });
    expect(await fsp.readdir(handle.dir)).toEqual([]);
    // The old contents were moved aside, to be deleted while the build goes on (src/io/fs.ts).
    expect((await fsp.readdir(layers)).filter((f) => !f.startsWith('.python.discarded-')).sort()).toEqual(['python']);
    await removalsFinished();
    expect((await fsp.readdir(layers)).sort()).toEqual(['python']);
  });

  it('keep: writes launch-only [types] and the restored metadata with its facts, and no directory', async () => {
    const withFact = defineLayer({ ...def, key: stringKey(['python_version', 'arch'] as const, ['has_gunicorn']) });
    await fsp.writeFile(path.join(layers, 'python.toml'), '[metadata]\npython_version = "3.13.9"\narch = "amd64"\nhas_gunicorn = "true"\n');
    const handle = await openLayer(layers, withFact, wanted, { keepInImage: true, types: { build: false, launch: true, cache: false } });
    expect(handle.decision).toEqual({ action: 'keep', cached: { ...wanted, has_gunicorn: 'true' } });
    expect(await fsp.readdir(layers)).toEqual(['python.toml']);
    const toml = await fsp.readFile(path.join(layers, 'python.toml'), 'utf8');
    expect(toml).toMatch(/\[types\]\s+build = false\s+launch = true\s+cache = false/);
    expect(toml).toContain('has_gunicorn = "true"');
  });

  it('commit(facts) stores fields that are not compared', async () => {
    const withFact = defineLayer({ ...def, key: stringKey(['python_version', 'arch'] as const, ['has_gunicorn']) });
    await (await openLayer(layers, withFact, wanted)).commit({ has_gunicorn: 'false' });
    await fsp.writeFile(path.join(layers, 'python.toml'), (await fsp.readFile(path.join(layers, 'python.toml'), 'utf8')).replace(/\[types\][^[]*/, ''));
    expect(await peekLayer(layers, withFact, wanted)).toEqual({ action: 'reuse', cached: { ...wanted, has_gunicorn: 'false' } });
  });

  it('dropLayer removes metadata and contents', async () => {
    await (await openLayer(layers, def, wanted)).commit();
    expect(await dropLayer(layers, 'python')).toBe(true);
    expect(await fsp.readdir(layers)).toEqual([]);
    expect(await dropLayer(layers, 'python')).toBe(false);
  });
});
