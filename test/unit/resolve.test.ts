import { resolvePython, satisfiesConstraint, describeAvailable } from '../../src/python/resolve';
import type { Dependency } from '../../src/python/manifest';
import type { VersionRequest } from '../../src/python/version-request';
import { UserError } from '../../src/errors';

const eol: Record<string, string> = { '3.8': '2024-10-07', '3.9': '2025-10-31', '3.10': '2026-10-31', '3.11': '2027-10-31', '3.12': '2028-10-31', '3.13': '2029-10-31', '3.14': '2030-10-31' };
const dep = (version: string, arch = 'amd64'): Dependency => ({
  id: 'python',
  version,
  arch,
  os: 'linux',
  uri: `https://example.com/cpython-${version}.tar.gz`,
  checksum: `sha256:${'a'.repeat(64)}`,
  deprecation_date: `${eol[version.split('.').slice(0, 2).join('.')]}T00:00:00Z`,
});
const available = ['3.14.7', '3.14.6', '3.13.15', '3.13.9', '3.12.14', '3.12.4', '3.11.16', '3.10.21', '3.9.25', '3.9.2', '3.8.8'].map((v) => dep(v));
const today = new Date('2026-11-25T00:00:00Z');
const r = (spec: string, source: VersionRequest['source'] = 'runtime.txt', kind: VersionRequest['kind'] = 'version'): VersionRequest => ({ spec, kind, source, origin: source });
const resolve = (requests: VersionRequest[], extra: Partial<Parameters<typeof resolvePython>[0]> = {}) => resolvePython({ requests, constraints: [], available, arch: 'amd64', today, ...extra });
const errorOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return `${e.title}\n${e.body.join('\n')}`;
    throw e;
  }
  throw new Error('expected a UserError');
};

describe('resolvePython', () => {
  it.each([
    ['3.13', '3.13.15'],
    ['3.12.4', '3.12.4'],
    ['3.9.2', '3.9.2'],
    ['3.8.8', '3.8.8'],
  ])('%s -> %s', (spec, version) => expect(resolve([r(spec)]).version).toBe(version));

  it('the default is the newest stable version of a supported minor', () => expect(resolve([]).version).toBe('3.14.7'));
  it("an operator's default wins", () => expect(resolve([], { defaultVersion: '3.12' }).version).toBe('3.12.14'));

  it('a PEP 440 specifier picks the newest supported match', () => {
    expect(resolve([r('>=3.10,<3.13', 'pyproject.toml', 'specifier')]).version).toBe('3.12.14');
    expect(resolve([r('<3.11', 'pyproject.toml', 'specifier')]).version).toBe('3.10.21'); // only EOL matches: newest of them
  });

  it('the highest-priority source wins and a disagreement is a warning naming both', () => {
    const res = resolve([r('3.12', 'runtime.txt'), r('3.13', '.python-version')]);
    expect(res.version).toBe('3.12.14');
    expect(res.warnings[0]?.body.join(' ')).toMatch(/runtime\.txt asks for 3\.12, but \.python-version asks for 3\.13/);
  });

  it('an end-of-life version that is in the manifest installs with a warning', () => {
    const res = resolve([r('3.9.2')]);
    expect(res.warnings.map((w) => w.title)).toContain('Python 3.9 has reached end-of-life');
  });

  it('the end-of-life warning says since when and names the newest supported version', () => {
    const body = resolve([r('3.9.2')]).warnings.find((w) => w.title === 'Python 3.9 has reached end-of-life')!.body.join(' ');
    expect(body).toMatch(/stopped receiving security fixes on 2025-10-31[\s\S]*The newest supported version is 3\.14\.7/);
  });

  it.each([
    ['2.7.18', '2.7', '2020-01-01'],
    ['3.6.13', '3.6', '2021-12-23'],
    ['3.7.10', '3.7', '2023-06-27'],
  ])('%s installs, with the end-of-life warning, when the manifest has it (an entry without deprecation_date: the table dates it)', (version, minor, since) => {
    const { deprecation_date: _, ...undated } = dep(version);
    const res = resolve([r(version)], { available: [...available, undated] });
    expect(res.version).toBe(version);
    const warning = res.warnings.find((w) => w.title === `Python ${minor} has reached end-of-life`);
    expect(warning?.body.join(' ')).toMatch(new RegExp(`on ${since}[\\s\\S]*newest supported version is 3\\.14\\.7`));
  });

  it('a refused end-of-life minor says since when; one older than the table is refused without a date', () => {
    expect(errorOf(() => resolve([r('3.7')]))).toMatch(/Python 3\.7 has reached end-of-life\nruntime\.txt asks for Python 3\.7, which stopped receiving security fixes on 2023-06-27/);
    expect(errorOf(() => resolve([r('3.5.10')]))).toMatch(/Python 3\.5 has reached end-of-life\n.*no longer receives security fixes/);
    expect(errorOf(() => resolve([r('3.8.1')]))).toMatch(/Python 3\.8\.1 is not available for amd64/); // 3.8 is provided (3.8.8)
  });

  it('an old pinned patch notes the newer one', () => expect(resolve([r('3.12.4')]).notes.join('\n')).toMatch(/newer patch release is available: 3\.12\.14/));

  it.each([
    ['2.7', /Python 2\.7 has reached end-of-life[\s\S]*Available for amd64: 3\.14 \(3\.14\.6 to 3\.14\.7\)/],
    ['3.7.10', /Python 3\.7 has reached end-of-life/],
    ['3.16', /Python 3\.16 is not available yet/],
    ['3.12.99', /Python 3\.12\.99 is not available for amd64/],
    ['3.10.3', /Python 3\.10\.3 is not available for amd64[\s\S]*3\.10\.21/],
  ])('%s is a clear error listing what is available', (spec, pattern) => expect(errorOf(() => resolve([r(spec)]))).toMatch(pattern));

  it('no match for a specifier', () => expect(errorOf(() => resolve([r('>=3.20', 'pyproject.toml', 'specifier')]))).toMatch(/No Python version matches requires-python/));

  it("other buildpacks' constraints choose when the app asks for nothing", () => {
    expect(resolve([], { constraints: [{ constraint: '3.12.*', origin: 'buildpack x' }] }).version).toBe('3.12.14');
    expect(resolve([], { constraints: [{ constraint: '>=3.10,<3.12', origin: 'x' }, { constraint: '~3.11', origin: 'y' }] }).version).toBe('3.11.16');
  });

  it('a constraint that conflicts with the app is an error naming both', () => {
    expect(errorOf(() => resolve([r('3.13')], { constraints: [{ constraint: '3.12.*', origin: 'buildpack x' }] }))).toMatch(/runtime\.txt asks for Python 3\.13 \(3\.13\.15\), but buildpack x requires "3\.12\.\*"/);
    expect(errorOf(() => resolve([], { constraints: [{ constraint: '3.12', origin: 'a' }, { constraint: '3.13', origin: 'b' }] }))).toMatch(/No available Python satisfies every requirement/);
  });

  it('only the target arch counts', () => {
    expect(errorOf(() => resolvePython({ requests: [r('3.9.2')], constraints: [], available: [dep('3.9.25', 'arm64')], arch: 'arm64', today }))).toMatch(/not available for arm64/);
  });
});

describe('constraints', () => {
  it.each<[string, string, boolean | undefined]>([
    ['3.12.4', '3.12', true],
    ['3.12.4', '3.12.*', true],
    ['3.12.4', '3.12.x', true],
    ['3.13.0', '>=3.12', true],
    ['3.12.4', '~3.12', true],
    ['3.12.4', '^3.11', true],
    ['3.11.0', '==3.12.*', false],
    ['3.12.4', 'banana', undefined],
  ])('%s vs %s', (v, c, expected) => expect(satisfiesConstraint(v, c)).toBe(expected));

  it('describes what is available per minor', () => expect(describeAvailable([dep('3.12.1'), dep('3.12.4'), dep('3.11.2')])).toBe('3.12 (3.12.1 to 3.12.4), 3.11.2'));
});
