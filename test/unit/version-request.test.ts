import * as req from '../../src/python/version-request';

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));

type Row = [string, req.ParseResult];
function ok(result: req.ParseResult) {
  if (!result.found || !('request' in result)) throw new Error(`expected a request, got ${JSON.stringify(result)}`);
  return result.request;
}
function err(result: req.ParseResult) {
  if (!result.found || !('error' in result)) throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  return `${result.error.title}\n${result.error.body.join('\n')}`;
}

describe('runtime.txt', () => {
  it.each([
    ['python-3.9.2', '3.9.2'],
    ['python-3.9', '3.9'],
    ['python-3.12.4\n', '3.12.4'],
    ['  python-3.11  \r\n\n', '3.11'],
    ['# the classic buildpack allows comments\n\npython-3.12.4\n# and after\n', '3.12.4'],
  ])('%j -> %s', (text, spec) => {
    expect(ok(req.fromRuntimeTxt(b(text)))).toEqual({ spec, kind: 'version', source: 'runtime.txt', origin: 'runtime.txt' });
  });

  it.each([
    ['3.12', /contains "3\.12"[\s\S]*python-<major>\.<minor>\[\.<patch>\]/],
    ['python3.12', /contains "python3\.12"/],
    ['python-3', /contains "python-3"/],
    ['', /\(the file is empty\)/],
    ['python-3.12\npython-3.11', /\(and more lines\)/],
    ['# only a comment\n\n', /\(the file is empty\)/],
    ['python-3.12 # trailing comment', /contains "python-3\.12 # trailing comment"/],
    ['pypy-3.10', /contains "pypy-3\.10"/],
  ])('%j is an error quoting the line and the expected form', (text, pattern) => {
    const message = err(req.fromRuntimeTxt(b(text)));
    expect(message).toMatch(/^Invalid Python version in runtime\.txt/);
    expect(message).toMatch(pattern);
  });

  it('binary garbage is quoted safely', () => {
    const message = err(req.fromRuntimeTxt(b([0x7f, 0x45, 0x4c, 0x46, 0x02, 0xff, 0x9c, 0x41])));
    expect(message).not.toMatch(/[\x00-\x08\x7f]/);
    expect(message).toContain('\uFFFD');
  });

  it('absent is not found', () => expect(req.fromRuntimeTxt(undefined)).toEqual({ found: false }));
});

describe('.python-version', () => {
  it.each([
    ['3.12', '3.12'],
    ['3.12.4\n', '3.12.4'],
    ['# pinned by the team\n\n  3.13  \n# trailing comment\n', '3.13'],
    ['3.11\r\n', '3.11'],
  ])('%j -> %s', (text, spec) => {
    expect(ok(req.fromPythonVersionFile(b(text))).spec).toBe(spec);
  });

  it.each<[string, Buffer, RegExp]>([
    ['two versions', b('3.12\n3.11\n'), /More than one Python version[\s\S]*"3\.12", "3\.11"/],
    ['system', b('system\n'), /"system"/],
    ['pypy', b('pypy3.10\n'), /CPython only/],
    ['only comments', b('# nothing\n\n'), /No Python version/],
    ['garbage', b('latest\n'), /Invalid Python version in \.python-version[\s\S]*"latest"/],
    ['major only', b('3\n'), /contains "3"/],
    ['UTF-16 LE with BOM', b([0xff, 0xfe, 0x33, 0x00, 0x2e, 0x00, 0x31, 0x00, 0x32, 0x00]), /UTF-16/],
    ['UTF-16 without BOM', b([0x33, 0x00, 0x2e, 0x00, 0x31, 0x00]), /NUL bytes/],
    ['UTF-8 BOM', b([0xef, 0xbb, 0xbf, 0x33, 0x2e, 0x31, 0x32]), /byte order mark/],
  ])('%s is a clear error', (_name, bytes, pattern) => {
    expect(err(req.fromPythonVersionFile(bytes))).toMatch(pattern);
  });
});

describe('Pipfile.lock and Pipfile', () => {
  it('prefers python_full_version over python_version', () => {
    const lock = { _meta: { requires: { python_version: '3.11', python_full_version: '3.11.7' } } };
    expect(ok(req.fromPipfileLock(b(JSON.stringify(lock))))).toMatchObject({ spec: '3.11.7', origin: 'Pipfile.lock (_meta.requires.python_full_version)' });
  });
  it('reads python_version', () => {
    expect(ok(req.fromPipfileLock(b('{"_meta":{"requires":{"python_version":"3.12"}}}'))).spec).toBe('3.12');
  });
  it('no version is not found', () => expect(req.fromPipfileLock(b('{"_meta":{}}'))).toEqual({ found: false }));
  it('invalid JSON is an error', () => expect(err(req.fromPipfileLock(b('{')))).toMatch(/not valid JSON[\s\S]*pipenv lock/));
  it('a bad version is an error', () => expect(err(req.fromPipfileLock(b('{"_meta":{"requires":{"python_version":"3.x"}}}')))).toMatch(/"3\.x"/));
  it('Pipfile [requires]', () => {
    expect(ok(req.fromPipfile(b('[requires]\npython_full_version = "3.12.1"\npython_version = "3.12"\n')))).toMatchObject({ spec: '3.12.1', source: 'Pipfile' });
    expect(ok(req.fromPipfile(b('[requires]\npython_version = "3.10"\n'))).spec).toBe('3.10');
    expect(req.fromPipfile(b('[packages]\nflask = "*"\n'))).toEqual({ found: false });
    expect(err(req.fromPipfile(b('[requires\n')))).toMatch(/Pipfile is not valid TOML/);
  });
});

describe('pyproject.toml requires-python', () => {
  it.each(['>=3.10,<3.13', '>=3.11', '~=3.12', '==3.12.*', '>= 3.10, < 3.13'])('%s is a specifier', (spec) => {
    const r = ok(req.fromPyproject(b(`[project]\nname = "x"\nrequires-python = "${spec}"\n`)));
    expect(r).toMatchObject({ kind: 'specifier', source: 'pyproject.toml', spec: spec.replace(/\s+/g, '') });
  });
  it('missing is not found', () => expect(req.fromPyproject(b('[project]\nname = "x"\n'))).toEqual({ found: false }));
  it('invalid specifier is an error', () => expect(err(req.fromPyproject(b('[project]\nrequires-python = "python3"\n')))).toMatch(/not a PEP 440 version specifier/));
  it('invalid TOML is an error', () => expect(err(req.fromPyproject(b('[project\n')))).toMatch(/pyproject\.toml is not valid TOML/));
});

describe('BP_PYTHON_VERSION', () => {
  it.each([
    ['3.12', '3.12'],
    ['3.12.4', '3.12.4'],
    ['3.12.x', '3.12'],
    ['3.12.*', '3.12'],
    [' 3.13 ', '3.13'],
  ])('%j -> %s', (value, spec) => expect(ok(req.fromEnv(value))).toMatchObject({ spec, source: 'BP_PYTHON_VERSION' }));
  it('unset or empty is not found', () => {
    expect(req.fromEnv(undefined)).toEqual({ found: false });
    expect(req.fromEnv('')).toEqual({ found: false });
  });
  it('garbage is an error naming the variable', () => expect(err(req.fromEnv('latest'))).toMatch(/BP_PYTHON_VERSION is set to "latest"/));
});
