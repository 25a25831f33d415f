// Malformed locks and project files (issue 17, class 3), absurd inputs (class 4) and the Procfile
// NUL byte (class 6): each ends in a titled UserError naming the file, the place and the fix,
// within a time bound, with a message of bounded size. These parsers are pure: they write nothing.
import { UserError } from '../../src/errors';
import { run } from '../../src/io/exec';
import { parseProcfile } from '../../src/processes';
import { logicalLines, pipErrorLines, pipfileLockToRequirements, referencedFiles, unpinnedRequirements } from '../../src/python/dependencies';
import { checkProjectFile } from '../../src/python/project-files';
import { resolvePython, satisfiesConstraint } from '../../src/python/resolve';
import { fromPipfile, fromPipfileLock, fromPyproject, fromPythonVersionFile, fromRuntimeTxt, type ParseResult } from '../../src/python/version-request';
import { buildpackDependencies } from '../helpers/buildpack-manifest';

/** Runs `f`, expecting a UserError; returns it and checks the time bound and the message size. */
function refused(f: () => unknown, ms = 1000): UserError {
  const started = performance.now();
  let error: unknown;
  try {
    const r = f() as ParseResult | undefined;
    if (r && typeof r === 'object' && 'error' in r) error = r.error;
  } catch (e) {
    error = e;
  }
  expect(performance.now() - started).toBeLessThan(ms);
  expect(error).toBeInstanceOf(UserError);
  expect((error as UserError).message.length).toBeLessThan(2000);
  return error as UserError;
}

const lock = (value: unknown) => Buffer.from(JSON.stringify(value));
const HASH = `sha256:${'a'.repeat(64)}`;

describe('Pipfile.lock values of the wrong type (class 3)', () => {
  it.each<[string, unknown, RegExp]>([
    ['null for the whole lock', null, /\(the whole file\): expected an object, found null/],
    ['an array for the whole lock', [], /\(the whole file\): expected an object, found an array/],
    ['null for a package', { default: { requests: null } }, /default\.requests: expected an object, found null/],
    ['sources as a string', { _meta: { sources: 'https://pypi.org/simple' } }, /_meta\.sources: expected an array, found string "https:\/\/pypi\.org\/simple"/],
    ['extras as a string', { default: { requests: { version: '==2.0', extras: 'socks' } } }, /default\.requests\.extras: expected an array, found string "socks"/],
    ['hashes as a string', { default: { requests: { version: '==2.0', hashes: HASH } } }, /default\.requests\.hashes: expected an array/],
    ['a version as a number', { default: { requests: { version: 2 } } }, /default\.requests\.version: expected a string, found number 2/],
    ['a pip option smuggled into a name', { default: { 'x\n--index-url http://evil': { version: '==1' } } }, /is not a package name/],
    ['a pip option smuggled into a version', { default: { x: { version: '==1\n--index-url http://evil' } } }, /default\.x\.version: .*line break/],
    ['a marker with a NUL byte', { default: { x: { version: '==1', markers: 'python_version > "3"\u0000' } } }, /default\.x\.markers: .*NUL/],
  ])('%s', (_what, value, place) => {
    for (const parse of [() => fromPipfileLock(lock(value)), () => pipfileLockToRequirements(JSON.stringify(value), true)]) {
      const e = refused(parse);
      expect(e.title).toBe('Invalid Pipfile.lock');
      expect(e.message).toMatch(place);
      expect(e.message).toMatch(/pipenv lock/);
    }
  });

  it('several problems: the first is named and the rest are counted', () => {
    expect(refused(() => fromPipfileLock(lock({ default: { a: null, b: null, c: 3 } }))).message).toMatch(/default\.a: expected an object, found null \(and 2 more problems\)/);
  });

  it('a genuine lock still converts, hash-checked', () => {
    const converted = pipfileLockToRequirements(JSON.stringify({ _meta: { sources: [{ url: 'https://pypi.org/simple', name: 'pypi', verify_ssl: true }], requires: { python_version: '3.12' } }, default: { flask: { version: '==3.0.0', hashes: [HASH], extras: ['async'], markers: "python_version >= '3.8'" } } }), false);
    expect(converted.hashed).toEqual([`flask[async]==3.0.0 ; python_version >= '3.8' --hash=${HASH}`]);
    expect(converted.other).toEqual([]);
    expect(converted.sources).toEqual(['https://pypi.org/simple']);
  });

  it('Pipfile tables of the wrong type', () => {
    expect(refused(() => fromPipfile(Buffer.from('requires = "3.12"\n'))).message).toMatch(/Pipfile's requires is a string; it must be a table/);
    expect(refused(() => fromPipfile(Buffer.from('source = "https://x"\n'))).message).toMatch(/source must be an array of tables/);
  });

  it.each<[string, string, string, RegExp]>([
    ['pyproject.toml', 'project = "x"\n', 'Invalid pyproject.toml', /pyproject\.toml project: expected an object, found string "x"/],
    ['pyproject.toml', '[project]\ndependencies = "flask"\n', 'Invalid pyproject.toml', /project\.dependencies: expected an array/],
    ['uv.lock', 'package = []\n', 'Invalid uv.lock', /uv\.lock version: expected a number, found undefined[\s\S]*uv lock/],
    ['uv.lock', 'version = 1\n[[package]]\nversion = "1"\n', 'Invalid uv.lock', /package\[0\]\.name: expected a string/],
    ['poetry.lock', '[[package]]\nname = "x"\n', 'Invalid poetry.lock', /package\[0\]\.version: expected a string[\s\S]*poetry lock/],
    ['uv.lock', 'version = [', 'uv.lock is not valid TOML', /uv\.lock could not be parsed/],
  ])('%s: %j', (file, text, title, place) => {
    const e = refused(() => checkProjectFile(file as 'uv.lock', text));
    expect(e.title).toBe(title);
    expect(e.message).toMatch(place);
  });

  it.each([
    ['<3.99999999999999999999999', /more than 9 digits/],
    [`>=${'3.'.repeat(150)}1`, /characters long; at most 200 are read/],
    ['>=3,'.repeat(20000), /characters long/],
    ['>>3.12', /not a PEP 440 version specifier/],
  ])('requires-python = %j is a titled error, not a library crash', (spec, why) => {
    const e = refused(() => fromPyproject(Buffer.from(`[project]\nrequires-python = ${JSON.stringify(spec)}\n`)));
    expect(e.title).toBe('Invalid requires-python in pyproject.toml');
    expect(e.message).toMatch(why);
  });

  it('a Buildpack Plan constraint the libraries choke on is an unreadable constraint', () => {
    for (const c of ['<3.99999999999999999999999', '>=3,'.repeat(5000), '^'.repeat(300)]) {
      expect(satisfiesConstraint('3.12.1', c)).toBeUndefined();
      const e = refused(() => resolvePython({ requests: [], constraints: [{ constraint: c, origin: 'a buildpack plan requirement' }], available: buildpackDependencies('python'), arch: 'amd64', today: new Date('2026-12-01') }));
      expect(e.title).toBe('Unreadable Python version constraint in the build plan');
    }
  });
});

describe('bounded work on absurd input (class 4)', () => {
  const within = <T>(ms: number, f: () => T): T => {
    const started = performance.now();
    const r = f();
    expect(performance.now() - started).toBeLessThan(ms);
    return r;
  };

  it.each([
    ['400,000 "="', '='.repeat(400_000)],
    ['400,000 "=" then ","', `${'='.repeat(400_000)},`],
    ['a name, 400,000 "=" then " x"', `flask${'='.repeat(400_000)} x`],
    ['a name then 400,000 "="', `flask${'='.repeat(400_000)}`],
    ['== then 400,000 spaces then x', `flask==${' '.repeat(400_000)}x`],
    ['400,000 "[" ', `a${'['.repeat(400_000)}`],
    ['-r then 400,000 spaces', `-r${' '.repeat(400_000)}`],
    ['100,000 lines with # comments', 'flask # x #\n'.repeat(100_000)],
  ])('requirements: %s', (_what, text) => {
    within(2000, () => unpinnedRequirements(text));
    within(2000, () => referencedFiles('requirements.txt', text));
    within(2000, () => logicalLines(text));
  });

  it('unpinned detection still right', () => {
    expect(unpinnedRequirements('flask\nrequests==2.31.0\ndjango>=4\nnumpy==1.*\nattrs===23.1\nx==1,!=2\n')).toEqual(['flask', 'django', 'numpy', 'x']);
  });

  it('the pip error explainer on 200,000 lines and on a 5 MB line', () => {
    const many = Array.from({ length: 200_000 }, (_, i) => (i % 2 ? `ERROR: problem ${i}` : `noise ${i}`));
    const lines = within(2000, () => pipErrorLines(many));
    expect(lines.length).toBeLessThanOrEqual(13);
    expect(lines[0]).toMatch(/99988 earlier lines like these not shown/);
    const long = within(2000, () => pipErrorLines([`ERROR: ${'x'.repeat(5_000_000)}`]));
    expect(long[0]!.length).toBeLessThan(500);
    expect(long[0]).toMatch(/more characters\)$/);
  });

  it('a command printing a 20 MB line or a million lines: the tail is collected in linear time', async () => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    for (const script of ["head -c 20000000 /dev/zero | tr '\\0' x; echo; echo 'ERROR: boom'", "seq 1 1000000; echo 'ERROR: boom'"]) {
      const started = performance.now();
      const result = await run('sh', ['-c', script], { env });
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(result.tail[result.tail.length - 1]).toBe('ERROR: boom');
      expect(Math.max(...result.tail.map((l) => l.length))).toBeLessThanOrEqual(64 * 1024 + 1);
      expect(pipErrorLines(result.tail)).toEqual(['ERROR: boom']);
    }
  });

  it('a 200,000-line .python-version gives a short error that counts the rest', () => {
    const e = refused(() => fromPythonVersionFile(Buffer.from('3.12\n'.repeat(200_000))));
    expect(e.message).toMatch(/lists 200000 versions: "3\.12", "3\.12", "3\.12" and 199997 more/);
  });

  it('a 10 MB runtime.txt line is quoted shortened', () => {
    const e = refused(() => fromRuntimeTxt(Buffer.from(`python-${'3'.repeat(10_000_000)}`)));
    expect(e.title).toBe('Invalid Python version in runtime.txt');
  });

  it('a Procfile with 100,000 bad lines, or one 5 MB line', () => {
    expect(refused(() => parseProcfile('no colon here\n'.repeat(100_000))).message).toMatch(/Procfile line 1:/);
    expect(refused(() => parseProcfile(`web${' '.repeat(5_000_000)}`)).title).toBe('Invalid line in Procfile');
  });
});

describe('Procfile (class 6)', () => {
  it('a command with a NUL byte is refused at build, naming the line', () => {
    const e = refused(() => parseProcfile('web: gunicorn app:app\nworker: python run.py\u0000--fast\n'));
    expect(e.title).toBe('NUL byte in a Procfile command');
    expect(e.message).toMatch(/Procfile line 2:[\s\S]*"worker"/);
  });
});
