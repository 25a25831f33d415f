import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyLayers, LayerEnv, writeLayerEnv } from '../../src/cnb/env';
import { buildContext, detectContext, parseOsRelease, targetFrom } from '../../src/cnb/context';
import { writeLaunchToml } from '../../src/cnb/launch';
import { writeBuildPlan } from '../../src/cnb/build-plan';
import { entriesNamed, readBuildpackPlan } from '../../src/cnb/plan';
import { parseToml, parseTomlAs, plainToml, TomlError } from '../../src/cnb/toml';
import { BuildpackDescriptor, LaunchToml } from '../../src/cnb/schemas';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'cnb-'));
});
afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

describe('layer env files', () => {
  const env = LayerEnv.empty()
    .override('PYTHONUNBUFFERED', '1')
    .default('LANG', 'C.UTF-8')
    .prepend('CPATH', '/layers/x/python/include/python3.13', ':', 'build')
    .override('PORT', '8080', 'launch')
    .append('EXTRA', 'v', ' ', { process: 'web' });

  it('maps to the spec file names, with a .delim beside every prepend/append', () => {
    expect(env.files()).toEqual([
      { file: 'env/PYTHONUNBUFFERED.override', content: '1' },
      { file: 'env/LANG.default', content: 'C.UTF-8' },
      { file: 'env.build/CPATH.prepend', content: '/layers/x/python/include/python3.13' },
      { file: 'env.build/CPATH.delim', content: ':' },
      { file: 'env.launch/PORT.override', content: '8080' },
      { file: 'env.launch/web/EXTRA.append', content: 'v' },
      { file: 'env.launch/web/EXTRA.delim', content: ' ' },
    ]);
  });

  it('writes values verbatim (no trailing newline) and replaces old env dirs', async () => {
    await fsp.mkdir(path.join(dir, 'env'), { recursive: true });
    await fsp.writeFile(path.join(dir, 'env', 'STALE.override'), 'x');
    await writeLayerEnv(dir, env);
    expect(await fsp.readFile(path.join(dir, 'env', 'LANG.default'), 'utf8')).toBe('C.UTF-8');
    expect(await fsp.readdir(path.join(dir, 'env'))).not.toContain('STALE.override');
  });

  it('applyLayers mirrors the lifecycle for our own subprocesses', () => {
    const result = applyLayers({ PATH: '/usr/bin', LANG: 'en_US.UTF-8' }, [{ dir: '/l/python', env, hasBin: true, hasLib: true }], 'build');
    expect(result.PATH).toBe('/l/python/bin:/usr/bin');
    expect(result.LD_LIBRARY_PATH).toBe('/l/python/lib');
    expect(result.LANG).toBe('en_US.UTF-8'); // a default never overrides
    expect(result.CPATH).toBe('/layers/x/python/include/python3.13');
    expect(result.PORT).toBeUndefined(); // launch only
  });

  it('rejects invalid names', () => expect(() => LayerEnv.empty().override('A=B', 'x')).toThrow());
});

describe('contexts', () => {
  it('reads CNB_* env first', () => {
    const ctx = buildContext({ CNB_LAYERS_DIR: '/layers/bp', CNB_PLATFORM_DIR: '/platform', CNB_BP_PLAN_PATH: '/tmp/plan.toml', CNB_BUILDPACK_DIR: '/cnb/bp', CNB_TARGET_ARCH: 'arm64', CNB_TARGET_DISTRO_NAME: 'ubuntu', CNB_TARGET_DISTRO_VERSION: '24.04' }, [], '/workspace', '/x');
    expect(ctx).toMatchObject({ layersDir: '/layers/bp', buildpackDir: '/cnb/bp', appDir: '/workspace', target: { os: 'linux', arch: 'arm64', distroName: 'ubuntu', distroVersion: '24.04' } });
  });
  it('falls back to the deprecated positional arguments', () => {
    expect(detectContext({}, ['/platform', '/plan.toml'], '/app', '/bp')).toMatchObject({ platformDir: '/platform', buildPlanPath: '/plan.toml', buildpackDir: '/bp' });
    expect(buildContext({}, ['/layers', '/platform', '/plan.toml'], '/app', '/bp')).toMatchObject({ layersDir: '/layers', buildpackPlanPath: '/plan.toml' });
  });
  it('errors when run outside the lifecycle', () => expect(() => detectContext({}, [], '/app', '/bp')).toThrow(/must be run by the CNB lifecycle/));
  it('distro from /etc/os-release when the lifecycle did not say', () => {
    expect(parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n')).toEqual({ name: 'debian', version: '12' });
    expect(targetFrom({ CNB_TARGET_ARCH: 'amd64' }, 'ID=ubuntu\nVERSION_ID="24.04"\n')).toMatchObject({ distroName: 'ubuntu', distroVersion: '24.04' });
  });
});

describe('toml files', () => {
  it('build plan round trip with [[or]]', async () => {
    const file = path.join(dir, 'plan.toml');
    await writeBuildPlan(file, { provides: [{ name: 'python' }], requires: [{ name: 'python', metadata: { version: '3.12', build: true } }], or: [{ provides: [{ name: 'python' }] }] });
    const text = await fsp.readFile(file, 'utf8');
    expect(text).toMatch(/\[\[provides\]\]\s+name = "python"/);
    expect(text).toMatch(/\[\[or\]\]/);
  });

  it('plainToml reads back as written, tricky strings and keys included', () => {
    const doc = {
      title: 'quote " backslash \\ tab \t newline \n del \u007f bell \u0007 é ✓',
      n: 42,
      flags: [true, false],
      empty: [],
      'odd key.with dots': 'x',
      skipped: undefined,
      table: { a: '1', nested: { b: true }, list: ['x', 'y'] },
      items: [{ name: 'one', meta: { v: '>=3.11,<3.13' } }, { name: 'two', sub: [{ k: 'v' }] }],
    };
    const { skipped: _, ...expected } = doc;
    expect(parseToml(plainToml(doc))).toEqual(expected);
  });

  it('plainToml refuses what it cannot write', () => {
    expect(() => plainToml({ a: null })).toThrow(/a: cannot write null/);
    expect(() => plainToml({ a: [{ b: 1 }, 'c'] })).toThrow(/a: cannot write this array/);
    expect(() => plainToml({ a: 1.5 })).toThrow(/cannot write number/);
  });

  it('reads every python entry of the Buildpack Plan, duplicates included', async () => {
    const file = path.join(dir, 'bp-plan.toml');
    await fsp.writeFile(file, '[[entries]]\nname = "python"\n[entries.metadata]\nversion = "3.12"\n\n[[entries]]\nname = "python"\n[entries.metadata]\nversion = ">=3.11"\nbuild = true\n\n[[entries]]\nname = "site-packages"\n');
    const plan = await readBuildpackPlan(file);
    expect(entriesNamed(plan, 'python').map((e) => e.metadata?.version)).toEqual(['3.12', '>=3.11']);
    expect(await readBuildpackPlan(path.join(dir, 'missing.toml'))).toEqual({ entries: [] });
  });

  it('launch.toml: array commands, one default, valid types', async () => {
    const file = path.join(dir, 'launch.toml');
    await writeLaunchToml(file, [{ type: 'web', command: ['bash', '-c'], args: ['exec gunicorn app:app'], default: true }]);
    expect(await fsp.readFile(file, 'utf8')).toMatch(/command = \[ "bash", "-c" \]/);
    expect(() => LaunchToml.parse({ processes: [{ type: 'a b', command: ['x'] }] })).toThrow();
    expect(() => LaunchToml.parse({ processes: [{ type: 'a', command: ['x'], default: true }, { type: 'b', command: ['y'], default: true }] })).toThrow();
  });

  it('buildpack.toml: api must be a string', () => {
    expect(() => parseTomlAs(BuildpackDescriptor, 'api = 0.10\n[buildpack]\nid="a"\nversion="1.0.0"\nname="x"\n', 'buildpack.toml')).toThrow(TomlError);
  });

  it('the repository buildpack.toml is valid, with targets and no stacks', async () => {
    const text = await fsp.readFile(path.join(__dirname, '..', '..', 'buildpack.toml'), 'utf8');
    const d = parseTomlAs(BuildpackDescriptor, text, 'buildpack.toml');
    expect(d.api).toBe('0.10');
    expect(d.buildpack.id).toBe('python-cnb/python');
    expect(d.targets?.map((t) => `${t.os}/${t.arch}`)).toEqual(['linux/amd64', 'linux/arm64']);
    expect(text).not.toMatch(/^\[\[stacks\]\]/m);
  });
});
