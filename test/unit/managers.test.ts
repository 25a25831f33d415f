import { analyse, type BuildInputs } from '../../src/analysis';
import { userError } from '../helpers/user-error';
import { MANAGERS } from '../../src/managers';
import { pipInstallCommon } from '../../src/managers/pip-runner';
import { poetryEnv, poetrySyncArgs } from '../../src/managers/poetry';
import { uvEnv, uvSyncArgs } from '../../src/managers/uv';
import { satisfiesProjectConstraint } from '../../src/python/resolve';
import { poetryToPep440 } from '../../src/python/version-request';
import { chooseDependencies, type AppSnapshot } from '../../src/project';
import { buildpackManifest } from '../../src/python/manifest';

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
    const uv = inputsOf(app({ 'uv.lock': '', 'pyproject.toml': '' }, { vendoredWheels: ['x.whl'] }));
    expect(uv.vendoredWheels).toEqual([]);
    expect(uv.files.map((f) => f.name)).toEqual(['pyproject.toml', 'uv.lock']);
  });

  it('pipenv: a Pipfile without a lock is an error; BP_PIPENV_DEV adds a switch', () => {
    expect(userError(() => inputsOf(app({ Pipfile: '[packages]\n' }))).title).toBe('Pipfile.lock not found');
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
    const lib = inputsOf(app({ 'poetry.lock': 'x', 'pyproject.toml': '[tool.poetry.dependencies]\npython = "^3.11"\n[build-system]\nrequires = ["poetry-core"]\n' }));
    expect(lib.files.map((f) => f.name)).toEqual(['pyproject.toml', 'poetry.lock']);
    expect(lib.switches).toEqual([]);
    expect(lib.pythonConstraint).toEqual({ constraint: '^3.11', origin: 'pyproject.toml ([tool.poetry.dependencies] python)' });
    const app2 = inputsOf(app({ 'poetry.lock': 'x', 'pyproject.toml': '[project]\nrequires-python = ">=3.12"\n' }));
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
