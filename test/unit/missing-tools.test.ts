import { missingBuildToolError } from '../../src/python/missing-tools';

// What pip 26 printed (abridged; test/pack/minimal-builder.test.ts sees the real thing) when an sdist with a C extension is built without a compiler, and
// when a git requirement meets a build image without git.
const NO_COMPILER = [
  'Collecting sqlite-ext==1.0.0 (from -r requirements.txt (line 1))',
  '  Downloading sqlite_ext-1.0.0.tar.gz (1.2 kB)',
  'Building wheels for collected packages: sqlite-ext',
  '  Building wheel for sqlite-ext (pyproject.toml): finished with status \'error\'',
  '  error: subprocess-exited-with-error',
  '  × Building wheel for sqlite-ext (pyproject.toml) did not run successfully.',
  "      building 'sqlite_ext' extension",
  '      gcc -Wsign-compare -DNDEBUG -g -fwrapv -O3 -Wall -fPIC -I/layers/python-cnb_python/python/include/python3.11 -c sqlite_ext.c -o build/temp.linux-x86_64-cpython-311/sqlite_ext.o',
  "      error: [Errno 2] No such file or directory: 'gcc'",
  '  ERROR: Failed building wheel for sqlite-ext',
  'Failed to build sqlite-ext',
  'error: failed-wheel-build-for-install',
  '× Failed to build installable wheels for some pyproject.toml based projects',
  '╰─> sqlite-ext',
];
const NO_GIT = [
  'Collecting hello-sdist @ git+https://user:s3cret@127.0.0.1:9/hello-sdist.git@v1.0.0 (from -r requirements.txt (line 3))',
  '  Cloning https://user:****@127.0.0.1:9/hello-sdist.git (to revision v1.0.0) to /tmp/pip-install-l62hi1tv/hello-sdist_bb60e7aa',
  "ERROR: Error [Errno 2] No such file or directory: 'git' while executing command git version",
  "ERROR: Cannot find command 'git' - do you have 'git' installed and in your PATH?",
];

describe('missingBuildToolError', () => {
  test('an sdist that needs a compiler on a build image without one: names the package, the image and a builder with a compiler', () => {
    const err = missingBuildToolError(NO_COMPILER, { cc: false, git: false }, 'requirements.txt');
    expect(err?.title).toBe('The build image has no C compiler');
    const body = err!.body.join('\n');
    expect(body).toMatch(/pip had to build sqlite-ext from source/);
    expect(body).toMatch(/pip ran `gcc`, which does not exist here/);
    expect(body).toMatch(/Use a builder whose build image has a C compiler, e\.g\. a "full" builder/);
  });

  test('the same failure with a compiler present is not blamed on the image (a real compile error)', () => {
    expect(missingBuildToolError(NO_COMPILER, { cc: true, git: true }, 'requirements.txt')).toBeUndefined();
  });

  test('a git requirement without git: says the image has no git, never shows the credentials', () => {
    const err = missingBuildToolError(NO_GIT, { cc: true, git: false }, 'requirements.txt');
    expect(err?.title).toBe('The build image has no git');
    const body = err!.body.join('\n');
    expect(body).toMatch(/\(hello-sdist @ git\+https:\/\/\*\*\*@127\.0\.0\.1:9\/hello-sdist\.git@v1\.0\.0\)/);
    expect(body).not.toMatch(/s3cret/);
    expect(body).toMatch(/Use a builder whose build image has git/);
  });

  test('other pip failures (a missing package) are left to the generic error', () => {
    const notFound = ['ERROR: Could not find a version that satisfies the requirement nope==1 (from versions: none)', 'ERROR: No matching distribution found for nope==1'];
    expect(missingBuildToolError(notFound, { cc: false, git: false }, 'requirements.txt')).toBeUndefined();
  });
});
