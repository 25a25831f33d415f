import { analyse, type BuildInputs } from '../../src/analysis';
import { userError } from '../helpers/user-error';
import { MANAGERS } from '../../src/managers';
import { bytecodeAfterInstall, parsePipReport, pipInstallCommon } from '../../src/managers/pip-runner';
import { pipenvLockEnv } from '../../src/managers/pipfile';
import { poetryEnv, poetrySyncArgs } from '../../src/managers/poetry';
import { uvEnv, uvSyncArgs } from '../../src/managers/uv';
import { satisfiesProjectConstraint } from '../../src/python/resolve';
import { poetryToPep440 } from '../../src/python/version-request';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseToml } from '../../src/cnb/toml';
import { analyseProject, chooseDependencies, type AppSnapshot } from '../../src/project';
import { pipfileHash, pipfileLockToRequirements } from '../../src/python/dependencies';
import { buildpackManifest } from '../../src/python/manifest';

/** The least poetry.lock its schema accepts (src/python/project-files.ts). */
const POETRY_LOCK = '[metadata]\nlock-version = "2.1"\n';

/** An in-memory app: root entries from the top-level names, every file readable. */
function app(files: Record<string, string>, extra: Partial<AppSnapshot> = {}): AppSnapshot {
  const roots = [...new Set(Object.keys(files).map((f) => f.split('/')[0]!))];
  return {
    entries: roots.map((name) => ({ name, kind: Object.keys(files).some((f) => f.startsWith(`${name}/`)) ? ('dir' as const) : ('file' as const) })),
    files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, { ok: true as const, bytes: Buffer.from(v) }])),
    ...extra,
  };
}

function inputsOf(snapshot: AppSnapshot, env: Record<string, string> = {}) {
  const choice = chooseDependencies(snapshot).manager!;
  return MANAGERS[choice.kind].inputs(snapshot, choice, env);
}

describe('package managers: inputs from the snapshot (pure)', () => {
  it('pip follows -r/-c includes, adds the project files, lists unpinned requirements', () => {
    const inputs = inputsOf(app({ 'requirements.txt': '-r base.txt\n-c constraints.txt\nflask\n', 'base.txt': 'gunicorn==23.0.0\n', 'constraints.txt': '', 'setup.py': '' }));
    expect(inputs.files.map((f) => f.name)).toEqual(['requirements.txt', 'base.txt', 'constraints.txt', 'setup.py']);
    expect(inputs.label).toBe('requirements.txt (and base.txt and constraints.txt)');
    expect(inputs.unpinned).toEqual(['flask']);
  });

  it('pip: a missing include names the file that refers to it', () => {
    const snapshot = app({ 'requirements.txt': '-r missing.txt\n' });
    const e = userError(() => inputsOf(snapshot));
    expect(e.title).toBe('missing.txt does not exist');
    expect(e.body.join('\n')).toContain('requirements.txt refers to it');
  });

  it('pip: an include outside the app is refused', () => {
    const e = userError(() => inputsOf(app({ 'requirements.txt': '-r ../outside.txt\n' })));
    expect(e.title).toBe('Requirements file outside the app');
  });

  it.each(['--requirement=/etc/passwd', '-r /etc/passwd', '-c /etc/passwd', '-r ../../etc/passwd', '-r sub/../../outside.txt'])('pip: `%s` is outside the app, not a file to create', (line) => {
    const e = userError(() => inputsOf(app({ 'requirements.txt': `${line}\n` })));
    expect(e.title).toBe('Requirements file outside the app');
    expect(e.body.join('\n')).not.toMatch(/Create|etc\/passwd was not found/);
  });

  it('pip: an include loop is a titled error naming the chain; a diamond is not a loop', () => {
    const loop = userError(() => inputsOf(app({ 'requirements.txt': '-r a.txt\n', 'a.txt': '-r b.txt\n', 'b.txt': '-c a.txt\n' })));
    expect(loop.title).toBe('Requirements files include each other');
    expect(loop.body[0]).toContain('a.txt -> b.txt -> a.txt');
    expect(userError(() => inputsOf(app({ 'requirements.txt': '-r requirements.txt\n' }))).body[0]).toContain('requirements.txt -> requirements.txt');
    const diamond = inputsOf(app({ 'requirements.txt': '-r a.txt\n-r b.txt\n', 'a.txt': '-r c.txt\n', 'b.txt': '-r c.txt\n', 'c.txt': 'flask==3.1.0\n' }));
    expect(diamond.files.map((f) => f.name)).toEqual(['requirements.txt', 'a.txt', 'b.txt', 'c.txt']);
  });

  it('vendor/ wheels become part of the inputs for pip, not for uv', () => {
    const pip = inputsOf(app({ 'requirements.txt': 'flask==3.1.0\n' }, { vendoredWheels: ['flask-3.1.0-py3-none-any.whl'] }));
    expect(pip.vendoredWheels).toEqual(['flask-3.1.0-py3-none-any.whl']);
    expect(pip.switches).toContain('vendor');
    expect(pipInstallCommon(pip)).toEqual(['install', '--progress-bar', 'off', '--no-input', '--no-index', '--find-links', 'vendor']);
    const uv = inputsOf(app({ 'uv.lock': 'version = 1\n', 'pyproject.toml': '' }, { vendoredWheels: ['x.whl'] }));
    expect(uv.vendoredWheels).toEqual([]);
    expect(uv.files.map((f) => f.name)).toEqual(['pyproject.toml', 'uv.lock']);
  });

  it('pipenv: a Pipfile without a lock is an error; BP_PIPENV_DEV adds a switch', () => {
    const alone = inputsOf(app({ Pipfile: '[packages]\n' }));
    expect(alone.manager.kind).toBe('pipfile');
    expect(alone.files.map((f) => f.name)).toEqual(['Pipfile']);
    expect(alone.warnings.map((w) => w.title)).toEqual(['No Pipfile.lock: this build is not reproducible']);
    expect(alone.warnings[0]!.body.join(' ')).toContain('commit Pipfile.lock');
    expect(pipenvLockEnv('/tmp/p/Pipfile', '/l/site-packages', 'http://127.0.0.1:1/simple/')).toMatchObject({ PIPENV_PIPFILE: '/tmp/p/Pipfile', VIRTUAL_ENV: '/l/site-packages', PIPENV_PYPI_MIRROR: 'http://127.0.0.1:1/simple/' });
    const dev = inputsOf(app({ 'Pipfile.lock': '{}' }), { BP_PIPENV_DEV: 'true' });
    expect(dev.switches).toEqual(['develop']);
    expect(dev.label).toBe('Pipfile.lock (default and develop)');
  });

  it('uv or poetry.lock without pyproject.toml, and a Poetry project without its lock, are titled errors', () => {
    expect(userError(() => inputsOf(app({ 'uv.lock': '' }))).title).toBe('uv.lock without pyproject.toml');
    expect(userError(() => inputsOf(app({ 'poetry.lock': '' }))).title).toBe('poetry.lock without pyproject.toml');
    const noLock = userError(() => inputsOf(app({ 'pyproject.toml': '[tool.poetry]\npackage-mode = false\n' })));
    expect(noLock.title).toBe('poetry.lock not found');
    expect(noLock.body.join(' ')).toContain('Run `poetry lock`');
  });

  it('poetry: the key files, the project installed only with a build system, the Python constraint', () => {
    const lib = inputsOf(app({ 'poetry.lock': POETRY_LOCK, 'pyproject.toml': '[tool.poetry.dependencies]\npython = "^3.11"\n[build-system]\nrequires = ["poetry-core"]\n' }));
    expect(lib.files.map((f) => f.name)).toEqual(['pyproject.toml', 'poetry.lock']);
    expect(lib.switches).toEqual([]);
    expect(lib.pythonConstraint).toEqual({ constraint: '^3.11', origin: 'pyproject.toml ([tool.poetry.dependencies] python)' });
    const app2 = inputsOf(app({ 'poetry.lock': POETRY_LOCK, 'pyproject.toml': '[project]\nrequires-python = ">=3.12"\n' }));
    expect(app2.switches).toEqual(['no-root']);
    expect(app2.pythonConstraint?.origin).toBe('pyproject.toml ([project] requires-python)');
    expect(poetrySyncArgs(false)).toEqual(['sync', '--only', 'main', '--compile', '--no-ansi', '--no-root']);
    const env = poetryEnv('/l/site-packages', '/tmp/x', () => undefined);
    expect(env).toMatchObject({ VIRTUAL_ENV: '/l/site-packages', POETRY_VIRTUALENVS_CREATE: 'false', PYTHON_KEYRING_BACKEND: 'keyring.backends.null.Keyring' });
    expect(poetryEnv('/v', '/t', (n) => (n === 'PYTHON_KEYRING_BACKEND' ? 'mine' : undefined)).PYTHON_KEYRING_BACKEND).toBeUndefined();
  });

  it("poetry: Poetry's constraint syntax as a version source and against the chosen Python", () => {
    expect(poetryToPep440('^3.11')).toBe('>=3.11,<4.0');
    expect(poetryToPep440('~3.11')).toBe('>=3.11,<3.12');
    expect(poetryToPep440('3.12.*')).toBe('==3.12.*');
    expect(poetryToPep440('>=3.10, <3.13')).toBe('>=3.10,<3.13');
    expect(poetryToPep440('^3.10 || ^3.12')).toBeUndefined();
    expect(satisfiesProjectConstraint('3.11.7', '^3.12')).toBe(false);
    expect(satisfiesProjectConstraint('3.12.1', '^3.12')).toBe(true);
    expect(satisfiesProjectConstraint('3.11.7', '~3.10 || ~3.11')).toBe(true);
    expect(satisfiesProjectConstraint('3.13.0', '>=3.10,<3.13')).toBe(false);
    expect(satisfiesProjectConstraint('3.13.0', 'nonsense')).toBeUndefined();
  });

  it('uv argv and env', () => {
    expect(uvSyncArgs()).toEqual(['sync', '--locked', '--no-default-groups', '--compile-bytecode', '--no-progress']);
    expect(uvEnv('/l/site-packages', '/l/python/bin/python3')).toMatchObject({ UV_PROJECT_ENVIRONMENT: '/l/site-packages', UV_PYTHON: '/l/python/bin/python3', UV_PYTHON_DOWNLOADS: 'never' });
  });
});

describe('analyse (pure, over one snapshot)', () => {
  const manifest = buildpackManifest({
    dependencies: [
      { id: 'python', version: '3.12.7', uri: 'https://example.com/python-3.12.7.tar.gz', checksum: `sha256:${'1'.repeat(64)}`, arch: 'amd64', stacks: ['*'] },
      { id: 'pip', version: '26.3', uri: 'https://example.com/pip-26.3-py3-none-any.whl', checksum: `sha256:${'2'.repeat(64)}`, stacks: ['*'] },
    ],
  });
  const inputs = (snapshot: AppSnapshot, env: Record<string, string> = {}): BuildInputs => ({
    app: snapshot,
    env: { BP_PYTHON_SQLITE: 'false', ...env },
    target: { os: 'linux', arch: 'amd64', distroName: 'debian', distroVersion: '12' },
    plan: { entries: [] },
    manifest,
    bindings: [],
    pins: { pip: '26.3', uv: '0.13.9' },
    today: new Date('2026-12-01'),
  });

  it('decides everything up front and is frozen', () => {
    const a = analyse(inputs(app({ 'requirements.txt': 'gunicorn==23.0.0\n', '.python-version': '3.12\n', 'manage.py': '', 'app.py': 'app = Flask(__name__)\n' }, { wsgiPackages: ['mysite'] })));
    expect(Object.isFrozen(a)).toBe(true);
    expect(a.python.version).toBe('3.12.7');
    expect(a.dependencies?.manager.kind).toBe('pip');
    expect(a.dependencies?.tool.version).toBe('26.3');
    expect(a.processes).toEqual({ procfile: undefined, defaultAllowed: true, djangoProjects: ['mysite'], flaskModules: ['app'] });
    expect(a.django).toBe(true);
    expect(a.sqlite.wanted).toBe(false);
  });

  it('a broken Procfile and a missing pin are input errors, thrown before any download', () => {
    expect(userError(() => analyse(inputs(app({ Procfile: 'web gunicorn\n' })))).title).toBe('Invalid line in Procfile');
    const noPin = { ...inputs(app({ 'requirements.txt': 'flask==3.1.0\n' })), pins: { pip: '9.9', uv: '0.13.9' } };
    expect(userError(() => analyse(noPin)).title).toBe('pip 9.9 is not in the dependency manifest');
  });
});

describe('Pipenv locks, the bare project, unused files (issue 15)', () => {
  const pipfile = '[packages]\nrequests = "*"\n';
  const lockFor = (text: string) => JSON.stringify({ _meta: { hash: { sha256: pipfileHash(parseToml(text)) } }, default: {} });

  it('a Pipfile.lock made from another Pipfile is an error naming both files and `pipenv lock`, unless BP_PIPENV_ALLOW_STALE_LOCK=true', () => {
    expect(inputsOf(app({ Pipfile: pipfile, 'Pipfile.lock': lockFor(pipfile) })).warnings).toEqual([]);
    const stale = app({ Pipfile: `${pipfile}flask = "*"\n`, 'Pipfile.lock': lockFor(pipfile) });
    const e = userError(() => inputsOf(stale));
    expect(e.title).toBe('Pipfile.lock is out of date');
    expect(e.body.join(' ')).toMatch(/Pipfile\.lock was made from another Pipfile[\s\S]*Run `pipenv lock` and commit Pipfile\.lock[\s\S]*BP_PIPENV_ALLOW_STALE_LOCK=true/);
    expect(inputsOf(stale, { BP_PIPENV_ALLOW_STALE_LOCK: 'true' }).warnings.map((w) => w.title)).toEqual(['Pipfile.lock is out of date']);
  });

  it('the fixture pipenv app has a current lock', () => {
    const dir = path.join(__dirname, '..', 'fixtures', 'apps', 'pipenv');
    expect(inputsOf(app({ Pipfile: fs.readFileSync(path.join(dir, 'Pipfile'), 'utf8'), 'Pipfile.lock': fs.readFileSync(path.join(dir, 'Pipfile.lock'), 'utf8') })).warnings).toEqual([]);
  });

  it('hashed packages in one pass, editable / path / VCS / unhashed entries in the other', () => {
    const [aa, bb] = ['a', 'b'].map((c) => `sha256:${c.repeat(64)}`);
    const lock = JSON.stringify({
      default: {
        flask: { version: '==3.1.3', hashes: [aa, bb], markers: "python_version >= '3.9'" },
        greeting: { editable: true, path: './libs/greeting' },
        tool: { git: 'https://example.com/tool.git', ref: 'abc123' },
        loose: { version: '==1.0' },
      },
    });
    expect(pipfileLockToRequirements(lock, false)).toEqual({
      hashed: [`flask==3.1.3 ; python_version >= '3.9' --hash=${aa} --hash=${bb}`],
      other: ['-e ./libs/greeting', 'loose==1.0', 'git+https://example.com/tool.git@abc123#egg=tool'],
      sources: [],
    });
  });

  it('a pyproject.toml that declares no package is nothing to install; an empty one alone is a titled error', () => {
    const tools = chooseDependencies(app({ 'pyproject.toml': '[tool.black]\nline-length = 100\n' }));
    expect(tools.manager).toBeUndefined();
    expect(tools.reason).toContain('no [project] table and no [build-system]');
    expect(chooseDependencies(app({ 'pyproject.toml': '[build-system]\nrequires = ["setuptools"]\n' })).manager?.kind).toBe('project');
    expect(chooseDependencies(app({ 'pyproject.toml': '[project]\nname = "x"\n' })).manager?.kind).toBe('project');
    const e = userError(() => analyseProject(app({ 'pyproject.toml': '# nothing yet\n\n' }), {}));
    expect(e.title).toBe('pyproject.toml is empty');
    expect(e.body.join(' ')).toContain('add a requirements.txt, or delete pyproject.toml');
    expect(analyseProject(app({ 'pyproject.toml': '', 'requirements.txt': 'flask\n' }), {}).dependencies.manager?.kind).toBe('pip');
  });

  it('an invalid Pipfile.lock that is not used (requirements.txt wins) is a warning naming it, not a version source', () => {
    const p = analyseProject(app({ 'requirements.txt': 'flask\n', 'Pipfile.lock': '{ not json' }), {});
    expect(p.dependencies.manager?.kind).toBe('pip');
    expect(p.versionRequests).toEqual([]);
    expect(p.versionWarnings.map((w) => w.title)).toEqual(['Pipfile.lock is not used and was ignored']);
    // Used, it is still an error.
    expect(() => analyseProject(app({ 'Pipfile.lock': '{ not json' }), {})).toThrow();
  });
});

describe('pip: the installation report and the deferred bytecode (pure)', () => {
  it('parsePipReport lists every distribution the report would install, by its metadata name', () => {
    const report = JSON.stringify({
      version: '1',
      pip_version: '26.3',
      install: [
        { metadata: { name: 'Flask', version: '3.1.3' }, requested: true },
        { metadata: { name: 'python_dotenv', version: '1.2.4' }, requested: true },
        { metadata: { name: 'Werkzeug', version: '3.1.3' }, requested: false },
        { metadata: {} },
      ],
    });
    expect(parsePipReport(report)).toEqual(['Flask', 'python_dotenv', 'Werkzeug']);
    expect(parsePipReport('{"version":"1","install":[]}')).toEqual([]);
    expect(parsePipReport('{"version":"1"}')).toEqual([]);
    expect(() => parsePipReport('not json')).toThrow();
  });

  it('compileall compiles after the install from Python 3.7 (--invalidation-mode), pip before it', () => {
    expect(['2.7.18', '3.6.13', '3.7.10', '3.9.2', '3.13.0', '3.14.1'].map(bytecodeAfterInstall)).toEqual([false, false, true, true, true, true]);
  });
});
