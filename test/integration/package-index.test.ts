/**
 * The loopback package index, proven with the pip that builds will run, before any buildpack
 * test leans on it. When a buildpack test fails on "could not find a version" or a hash
 * mismatch, this file says whether the index or the buildpack is to blame.
 *
 * Every pip here runs with an empty environment plus what the test gives it
 * (PIP_CONFIG_FILE=/dev/null), so the machine's pip config (find-links, a mirror, a cert) can
 * neither help nor hurt, and with a fresh cache dir, so each download shows in the log.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import execa from 'execa';
import { normalizeProjectName, projectOfFile, startPackageIndex, type PackageIndex } from '../helpers/package-index';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const REQUIREMENTS = path.join(REPO_ROOT, 'test', 'fixtures', 'requirements');
const PYENV_VERSIONS = path.join(process.env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv'), 'versions');

/** The newest X.Y.Z of a minor under pyenv: the interpreters the runtime fixtures are made from. */
function pyenvPython(minor: string): string {
  const versions = fs
    .readdirSync(PYENV_VERSIONS)
    .filter((v) => new RegExp(`^${minor.replace('.', '\\.')}\\.\\d+$`).test(v))
    .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
  const newest = versions.at(-1);
  if (!newest) throw new Error(`no CPython ${minor} under ${PYENV_VERSIONS}`);
  return path.join(PYENV_VERSIONS, newest, 'bin', 'python3');
}

let scratch: string;
let index: PackageIndex;

/** In-process fetch() can see a body before the server has logged it; pip, a child process, cannot. */
const settled = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));
const freshCacheDir = (): string => fs.mkdtempSync(path.join(scratch, 'pip-cache-'));

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'package-index-test-'));
  index = await startPackageIndex();
});

afterAll(async () => {
  await index?.close();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

beforeEach(() => index.clearLog());

function pipEnv(venv: string | undefined, cacheDir: string): Record<string, string> {
  return {
    PATH: [venv && path.join(venv, 'bin'), '/usr/local/bin', '/usr/bin', '/bin'].filter(Boolean).join(':'),
    HOME: scratch,
    PIP_CONFIG_FILE: os.devNull,
    PIP_CACHE_DIR: cacheDir,
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_INPUT: '1',
    PIP_KEYRING_PROVIDER: 'disabled',
    PIP_RETRIES: '0',
    PIP_TIMEOUT: '30',
  };
}

/** A fresh venv (with the interpreter's bundled pip, so no index is needed to make it). */
async function freshVenv(name: string, minor = '3.11'): Promise<string> {
  const venv = path.join(scratch, name, 'venv');
  await execa(pyenvPython(minor), ['-m', 'venv', venv], { extendEnv: false, env: { PATH: '/usr/bin:/bin' } });
  return venv;
}

/** `pip install` in the venv against `indexUrl`; never throws, the test inspects the result. */
async function pipInstall(
  venv: string,
  indexUrl: string,
  args: string[],
  { cacheDir = freshCacheDir(), trustedHost = false } = {},
) {
  return execa(path.join(venv, 'bin', 'python'), ['-m', 'pip', 'install', '--index-url', indexUrl, ...args], {
    extendEnv: false,
    env: { ...pipEnv(venv, cacheDir), ...(trustedHost && { PIP_TRUSTED_HOST: index.pipEnv().PIP_TRUSTED_HOST }) },
    reject: false,
    all: true,
  });
}

async function venvPython(venv: string, code: string): Promise<string> {
  const { stdout } = await execa(path.join(venv, 'bin', 'python'), ['-c', code], {
    extendEnv: false,
    env: { PATH: '/usr/bin:/bin' },
  });
  return stdout.trim();
}

describe('file names and PEP 503 names', () => {
  test.each([
    ['Flask-3.1.3-py3-none-any.whl', 'flask'],
    ['prompt_toolkit-3.0.53-py3-none-any.whl', 'prompt-toolkit'],
    ['zope.interface-6.0-cp311-cp311-manylinux_2_17_x86_64.whl', 'zope-interface'],
    ['hello_sdist-1.0.0.tar.gz', 'hello-sdist'],
    ['python-dateutil-2.8.2.tar.gz', 'python-dateutil'],
    ['Django-4.2.zip', 'django'],
    ['README.md', undefined],
    ['not-a-wheel.whl', undefined],
  ])('%s belongs to %s', (file, project) => {
    expect(projectOfFile(file)).toBe(project);
  });

  test('normalization collapses runs of - _ .', () => {
    expect(normalizeProjectName('Foo.__Bar-_-baz')).toBe('foo-bar-baz');
  });
});

describe('the HTTP side', () => {
  test('lists projects, links files with their sha256, serves them, and 404s the rest', async () => {
    const root = await (await fetch(index.url)).text();
    expect(root).toContain('<a href="flask/">flask</a>');
    expect(root).toContain('<a href="hello-sdist/">hello-sdist</a>');

    const flaskPage = await (await fetch(`${index.url}flask/`)).text();
    const link = /<a href="([^"#]+)#sha256=([0-9a-f]{64})">flask-3\.1\.3-py3-none-any\.whl<\/a>/.exec(flaskPage);
    expect(link).not.toBeNull();
    const file = await fetch(new URL(link![1]!, `${index.url}flask/`));
    expect(file.status).toBe(200);
    const body = Buffer.from(await file.arrayBuffer());
    expect(createHash('sha256').update(body).digest('hex')).toBe(link![2]);
    await settled();
    expect(index.downloads()).toEqual(['flask-3.1.3-py3-none-any.whl']);

    const redirected = await fetch(`${index.url}Prompt_Toolkit`, { redirect: 'manual' });
    expect(redirected.status).toBe(301);
    expect(redirected.headers.get('location')).toBe('/simple/prompt-toolkit/');

    expect((await fetch(`${index.url}no-such-project/`)).status).toBe(404);
    expect((await fetch(new URL('/files/no-such-file.whl', index.url))).status).toBe(404);
    await settled();
    expect(index.requests().map((r) => r.status)).toEqual([200, 200, 200, 301, 404, 404]);
  });

  // How fast is the bench's business (speed goals are never asserted in tests); this proves a
  // second index over the same wheelhouse sees every project the first one serves.
  test('a second index over the same wheelhouse lists the same projects', async () => {
    const another = await startPackageIndex();
    await another.close();
    expect(another.projects().length).toBeGreaterThan(50);
    expect(another.projects()).toEqual(index.projects());
  });
});

describe('real pip against the index', () => {
  test('installs flask and gunicorn from wheels, every file coming from the index', async () => {
    const venv = await freshVenv('flask');
    const result = await pipInstall(venv, index.url, ['-r', path.join(REQUIREMENTS, 'flask.txt')]);
    expect(result.exitCode).toBe(0);
    expect(await venvPython(venv, 'import flask, gunicorn; print(flask.__name__)')).toBe('flask');

    const downloads = index.downloads().sort();
    expect(downloads).toHaveLength(8);
    expect(downloads).toContain('flask-3.1.3-py3-none-any.whl');
    expect(downloads.some((f) => /^markupsafe-3\.0\.4-cp311-cp311-.*\.whl$/.test(f))).toBe(true);
    expect(index.requests().every((r) => r.status === 200)).toBe(true);
  });

  // The premise of the buildpack's pip-cache layer: with the same cache, a new venv fetches only
  // what is new (flask-plus-one.txt is flask.txt plus one dependency-free package). pip keeps
  // its HTTP cache only for https and trusted hosts, hence PackageIndex.pipEnv()'s
  // PIP_TRUSTED_HOST; the last step shows what happens without it.
  test('with a warm pip cache and a trusted host, adding one requirement downloads only that file', async () => {
    const cacheDir = freshCacheDir();
    const flask = path.join(REQUIREMENTS, 'flask.txt');
    const plusOne = path.join(REQUIREMENTS, 'flask-plus-one.txt');
    const first = await pipInstall(await freshVenv('warm-1'), index.url, ['-r', flask], {
      cacheDir,
      trustedHost: true,
    });
    expect(first.exitCode).toBe(0);

    index.clearLog();
    const venv = await freshVenv('warm-2');
    const second = await pipInstall(venv, index.url, ['-r', plusOne], { cacheDir, trustedHost: true });
    expect(second.exitCode).toBe(0);
    expect(index.downloads()).toEqual(['python_dotenv-1.2.4-py3-none-any.whl']);
    expect(await venvPython(venv, 'import dotenv, flask; print("ok")')).toBe('ok');

    index.clearLog();
    const untrusted = await pipInstall(await freshVenv('warm-3'), index.url, ['-r', plusOne], { cacheDir });
    expect(untrusted.exitCode).toBe(0);
    expect(index.downloads()).toHaveLength(9);
  });

  test('builds hello-sdist from its sdist, fetching setuptools for the isolated build', async () => {
    const venv = await freshVenv('hello-sdist');
    const result = await pipInstall(venv, index.url, ['hello-sdist']);
    expect(result.all).toContain('Building wheel for hello-sdist');
    expect(result.exitCode).toBe(0);
    const greeting = await venvPython(venv, 'import hello_sdist; print(hello_sdist.greet())');
    expect(greeting).toBe('hello, world, from an sdist');
    expect(index.downloads()).toEqual(
      expect.arrayContaining(['hello_sdist-1.0.0.tar.gz', expect.stringMatching(/^setuptools-.*\.whl$/)]),
    );
  });

  test('broken-sdist fails, and pip shows why', async () => {
    const venv = await freshVenv('broken-sdist');
    const result = await pipInstall(venv, index.url, ['broken-sdist']);
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toContain('broken-sdist: this package fails to build on purpose');
  });

  // The real proof is the sqlite layer's (headers and library from the layer, no system
  // package); this only proves the sdist is sound, so it needs the system's libsqlite3-dev.
  const systemSqliteHeaders = fs.existsSync('/usr/include/sqlite3.h');
  (systemSqliteHeaders ? test : test.skip)('sqlite-ext compiles against the system SQLite headers', async () => {
    const venv = await freshVenv('sqlite-ext');
    const result = await pipInstall(venv, index.url, ['sqlite-ext']);
    expect(result.exitCode).toBe(0);
    const versions = await venvPython(venv, 'import sqlite_ext as s; print(s.version(), s.header_version())');
    const [linked, header] = versions.split(' ');
    expect(linked).toMatch(/^3\.\d+\.\d+$/);
    expect(header).toMatch(/^3\.\d+\.\d+$/);
  });

  describe('with basic auth', () => {
    let guarded: PackageIndex;
    beforeAll(async () => {
      guarded = await startPackageIndex({ basicAuth: { user: 'builder', password: 's3cret' } });
    });
    afterAll(async () => guarded?.close());
    beforeEach(() => guarded.clearLog());

    test('pipEnv() carries the credentials, url does not', () => {
      expect(guarded.pipEnv().PIP_INDEX_URL).toBe(`http://builder:s3cret@127.0.0.1:${guarded.port}/simple/`);
      expect(guarded.url).not.toContain('s3cret');
    });

    const withCredentials = (user: string, password: string): string => {
      const url = new URL(guarded.url);
      url.username = user;
      url.password = password;
      return url.toString();
    };

    test('answers 401 with a Basic challenge', async () => {
      const response = await fetch(guarded.url);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    test('pip with the credentials in the index URL installs', async () => {
      const venv = await freshVenv('auth-ok');
      const result = await pipInstall(venv, withCredentials('builder', 's3cret'), ['requests']);
      expect(result.exitCode).toBe(0);
      expect(guarded.downloads()).toContain('requests-2.34.2-py3-none-any.whl');
      expect(guarded.requests().every((r) => r.status === 200)).toBe(true);
    });

    test('pip without credentials, or with wrong ones, fails', async () => {
      const venv = await freshVenv('auth-missing');
      for (const url of [guarded.url, withCredentials('builder', 'wrong')]) {
        guarded.clearLog();
        const result = await pipInstall(venv, url, ['requests']);
        expect(result.exitCode).not.toBe(0);
        expect(guarded.downloads()).toEqual([]);
        expect(guarded.requests().length).toBeGreaterThan(0);
        expect(guarded.requests().every((r) => r.status === 401)).toBe(true);
      }
    });
  });

  // The fill script proves this with --find-links; this proves it over HTTP, where name
  // normalization, redirects and hashes come into play, for both Pythons the tests build with.
  describe.each(['3.11', '3.12'])('every requirement set resolves from the index for CPython %s', (minor) => {
    const sets = fs.readdirSync(REQUIREMENTS).filter((f) => f.endsWith('.txt'));
    test.each(sets)('%s', async (set) => {
      const file = path.join(REQUIREMENTS, set);
      const expected = Number(/(\d+) packages\./.exec(fs.readFileSync(file, 'utf8'))?.[1]);
      const report = path.join(scratch, `report-${minor}-${set}.json`);
      const cacheDir = freshCacheDir();
      // The base interpreter is fine here: --dry-run --ignore-installed never writes to it.
      const result = await execa(
        pyenvPython(minor),
        ['-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--only-binary=:all:', '--index-url', index.url,
          '--report', report, '-r', file],
        { extendEnv: false, env: pipEnv(undefined, cacheDir), reject: false, all: true },
      );
      expect(result.all).not.toMatch(/ERROR/);
      expect(result.exitCode).toBe(0);
      const installed = JSON.parse(fs.readFileSync(report, 'utf8')).install as unknown[];
      expect(installed).toHaveLength(expected);
      expect(index.requests().every((r) => r.status === 200 || r.status === 301)).toBe(true);
    });
  });
});
