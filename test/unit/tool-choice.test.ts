// The build tool release per Python line (src/managers/tool-choice.ts), over the repository's own
// buildpack.toml: every pip entry, the pins and the Pythons Poetry and Pipenv run on.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyse, type BuildInputs } from '../../src/analysis';
import { pipHasPythonOption } from '../../src/managers/pip-runner';
import { pipRunsZipped } from '../../src/layers/pip-zip';
import { checkToolRunsOn, choosePip, requiresPython } from '../../src/managers/tool-choice';
import { buildpackManifest, type Dependency } from '../../src/python/manifest';
import { AMD64, buildpackDependencies, repositoryBuildpack } from '../helpers/buildpack-manifest';
import { userError } from '../helpers/user-error';

const pips = buildpackDependencies('pip');
const UV_APP = path.join(__dirname, '..', 'fixtures', 'apps', 'uv');
const pinned = String(repositoryBuildpack().metadata['pip-version']);

describe('pip per Python line', () => {
  it.each([
    ['3.14.7', '26.3'],
    ['3.10.13', '26.3'],
    ['3.9.18', '26.0.1'],
    ['3.9.2', '26.0.1'],
    ['3.8.18', '25.0.1'],
    ['3.8.8', '25.0.1'],
    ['3.7.10', '24.0'],
    ['3.6.13', '21.3.1'],
    ['2.7.18', '20.3.4'],
  ])('Python %s gets pip %s', (python, pip) => {
    expect(choosePip(pips, pinned, python).entry.version).toBe(pip);
  });

  it('the log line names the pip, its Requires-Python and why the newer one was passed over', () => {
    expect(choosePip(pips, pinned, '3.12.1').reason).toBe('Using pip 26.3, the pinned default, whose Requires-Python >=3.10 admits Python 3.12.1');
    expect(choosePip(pips, pinned, '3.8.18').reason).toBe('Using pip 25.0.1, the newest pinned pip whose Requires-Python >=3.8 admits Python 3.8.18; pip 26.0.1 needs >=3.9');
  });

  it('a Python no pinned pip admits is a titled error listing what each pip needs', () => {
    for (const python of ['3.4.10', '3.0.1']) {
      const e = userError(() => choosePip(pips, pinned, python));
      expect(e.title).toBe(`No pinned pip runs on Python ${python}`);
      expect(e.body.join(' ')).toMatch(/pip 26\.3 >=3\.10[\s\S]*pip 20\.3\.4 >=2\.7,!=3\.0\.\*[\s\S]*Ask for a newer Python/);
    }
  });

  it('pip-version is the newest pinned pip, every pip entry records its Requires-Python, and none is newer than the pin', () => {
    expect(pips.map((e) => e.version)).toContain(pinned);
    expect(choosePip(pips, pinned, '3.99.0').entry.version).toBe(pinned);
    for (const e of pips) expect(requiresPython(e)).toMatch(/^>=\d/);
    for (const e of buildpackDependencies('uv')) expect(requiresPython(e)).toBe('>=3.8');
  });

  it('the pips for 3.6 and 2.7 have no --python (they run from the venv); the others do', () => {
    expect(pips.map((e) => `${e.version} ${pipHasPythonOption(e.version)}`)).toEqual(['26.3 true', '26.0.1 true', '25.0.1 true', '24.0 true', '21.3.1 false', '20.3.4 false']);
    expect(pipHasPythonOption('22.3')).toBe(true);
    expect(pipHasPythonOption('22.2.2')).toBe(false);
  });

  it('an operator pip without requires-python admits every Python; a pip newer than the pin is not chosen', () => {
    const entry = (version: string, rp?: string): Dependency => ({ id: 'pip', version, uri: `https://example.com/pip-${version}-py3-none-any.whl`, checksum: `sha256:${'a'.repeat(64)}`, ...(rp ? { 'requires-python': rp } : {}) });
    expect(choosePip([entry('26.3', '>=3.10'), entry('23.0')], '26.3', '3.7.10').entry.version).toBe('23.0');
    expect(choosePip([entry('27.0'), entry('26.3', '>=3.10')], '26.3', '3.12.1').entry.version).toBe('26.3');
  });
});

describe('uv, Poetry, Pipenv: one release each, and the Pythons it runs on', () => {
  it('a tool that does not run on the Python is a titled error naming both and how to go on', () => {
    const e = userError(() => checkToolRunsOn({ name: 'Poetry', version: '2.5.1', requiresPython: '>=3.10,<4.0' }, '3.9.18', 'Poetry (poetry.lock)'));
    expect(e.title).toBe('Poetry 2.5.1 needs Python >=3.10,<4.0; this app uses Python 3.9.18');
    expect(e.body.join(' ')).toMatch(/Ask for a Python that >=3\.10,<4\.0 admits[\s\S]*requirements\.txt/);
    expect(() => checkToolRunsOn({ name: 'Poetry', version: '2.5.1', requiresPython: '>=3.10,<4.0' }, '3.10.13', 'Poetry')).not.toThrow();
    expect(() => checkToolRunsOn({ name: 'uv', version: '0.13.9' }, '2.7.18', 'uv')).not.toThrow();
  });

  const { metadata } = repositoryBuildpack();
  const runtime = (version: string) => ({ id: 'python', version, uri: `https://example.com/python-${version}.tar.gz`, checksum: `sha256:${'1'.repeat(64)}`, arch: 'amd64' });
  const manifest = buildpackManifest({ dependencies: [...(metadata.dependencies as unknown[]).filter((d) => (d as Dependency).id !== 'python'), runtime('3.7.10'), runtime('3.9.18'), runtime('3.12.1')] });
  const inputs = (files: Record<string, string>): BuildInputs => ({
    app: { entries: Object.keys(files).map((name) => ({ name, kind: 'file' as const })), files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, { ok: true as const, bytes: Buffer.from(v) }])) },
    env: { BP_PYTHON_SQLITE: 'false' },
    target: AMD64,
    plan: { entries: [] },
    manifest,
    bindings: [],
    pins: { pip: pinned, uv: String(metadata['uv-version']), poetry: String(metadata['poetry-version']), pipenv: String(metadata['pipenv-version']) },
    toolRequirements: { poetry: Buffer.from('poetry==2.5.1\n'), pipenv: Buffer.from('pipenv==2026.10.3\n') },
    toolRequiresPython: { poetry: String(metadata['poetry-requires-python']), pipenv: String(metadata['pipenv-requires-python']) },
    today: new Date('2026-12-01'),
  });

  it('the analysis picks pip for the runtime and logs why; Poetry and Pipenv on 3.9 and uv on 3.7 fail before any download', () => {
    const a = analyse(inputs({ 'runtime.txt': 'python-3.9.18\n', 'requirements.txt': 'flask==3.1.3\n' }));
    expect(a.dependencies?.tool.version).toBe('26.0.1');
    expect(a.dependencies?.toolReason).toMatch(/^Using pip 26\.0\.1, .* >=3\.9 admits Python 3\.9\.18; pip 26\.3 needs >=3\.10$/);
    expect(analyse(inputs({ 'runtime.txt': 'python-3.12.1\n', 'requirements.txt': 'flask==3.1.3\n' })).dependencies?.tool.version).toBe('26.3');
    const poetry = userError(() => analyse(inputs({ 'runtime.txt': 'python-3.9.18\n', 'pyproject.toml': '[tool.poetry]\nname = "x"\n', 'poetry.lock': '[metadata]\nlock-version = "2.1"\n' })));
    expect(poetry.title).toBe('Poetry 2.5.1 needs Python >=3.10,<4.0; this app uses Python 3.9.18');
    const pipenv = userError(() => analyse(inputs({ 'runtime.txt': 'python-3.9.18\n', Pipfile: '[packages]\nflask = "*"\n' })));
    expect(pipenv.title).toBe('Pipenv 2026.10.3 needs Python >=3.10; this app uses Python 3.9.18');
    const uvApp = { pyproject: fs.readFileSync(path.join(UV_APP, 'pyproject.toml'), 'utf8'), lock: fs.readFileSync(path.join(UV_APP, 'uv.lock'), 'utf8') };
    expect(userError(() => analyse(inputs({ 'runtime.txt': 'python-3.7.10\n', 'pyproject.toml': uvApp.pyproject, 'uv.lock': uvApp.lock }))).title).toBe('uv 0.13.9 needs Python >=3.8; this app uses Python 3.7.10');
    expect(analyse(inputs({ 'runtime.txt': 'python-3.9.18\n', 'pyproject.toml': uvApp.pyproject, 'uv.lock': uvApp.lock })).dependencies?.tool.version).toBe('0.13.9');
    expect(analyse(inputs({ 'runtime.txt': 'python-3.7.10\n', 'requirements.txt': 'six==1.17.0\n' })).dependencies?.tool.version).toBe('24.0');
  });
});

describe('the pip layer zipped (src/layers/pip-zip.ts)', () => {
  it('zips the pip every Python 3.7+ line gets, and no pip that reads files by path or runs through PYTHONPATH', () => {
    // The pip chosen for each line (the table above), and whether it is zipped.
    const lines: Array<[string, string, boolean]> = [
      ['3.14.7', '26.3', true],
      ['3.9.18', '26.0.1', true],
      ['3.8.18', '25.0.1', true],
      ['3.7.10', '24.0', true],
      ['3.6.13', '21.3.1', false],
      ['2.7.18', '20.3.4', false],
    ];
    for (const [python, pip, zipped] of lines) {
      expect(choosePip(pips, pinned, python).entry.version).toBe(pip);
      expect([python, pipRunsZipped(python, pip)]).toEqual([python, zipped]);
    }
    // An operator's older pin on a new Python keeps the directory layout (no --python before 22.3).
    expect(pipRunsZipped('3.9.18', '21.3.1')).toBe(false);
    expect(pipRunsZipped('3.9.18', '22.3')).toBe(true);
    expect(pipRunsZipped('3.12.1', 'not-a-version')).toBe(false);
  });
});
