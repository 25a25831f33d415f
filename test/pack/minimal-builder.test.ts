/**
 * `pack build` with the minimal builder (a Debian minbase build image: no C compiler, no git) and
 * the buildpack the builder carries: a pure-Python app builds without SQLite (the documented
 * warning); what needs a compiler or git fails with an error about the build image, naming the
 * kind of builder that has the tool, not pip's raw output with a hint at the package index.
 */
import * as path from 'node:path';
import { describePack, layerLines, packBuild, packEnv, packSuite, REPO_ROOT, runWeb } from './support';

const FLASK = 'python-cnb-pack-test/flask-minimal';

describePack('pack build with the minimal builder (no compiler, no git)', () => {
  const suite = packSuite('minimal builder', [FLASK, 'python-cnb-pack-test/no-cc', 'python-cnb-pack-test/no-git']);

  const build = async (image: string, app: string) => {
    const r = await packBuild({ image, app, builder: packEnv().PACK_BUILDER_MINIMAL, trust: true, sources: suite.sources });
    suite.timings.push(`${path.basename(app)} ${r.ms} ms`);
    return r;
  };

  test('Flask builds with the builder\'s own buildpack, without SQLite (warned), and serves HTTP 200', async () => {
    const r = await build(FLASK, path.join(REPO_ROOT, 'examples', 'flask-app'));
    if (r.status !== 0) throw new Error(`pack build failed (exit ${r.status}):\n${r.output}`);
    expect(r.output).toMatch(/No C compiler: SQLite was not installed/);
    const layers = layerLines(r.output);
    expect(layers.added).toEqual(expect.arrayContaining(['python', 'site-packages']));
    expect(layers.added).not.toContain('sqlite');
    const web = await runWeb(FLASK);
    web.stop();
  });

  test('an sdist with a C extension fails: the build image has no C compiler, use a builder that has one', async () => {
    const r = await build('python-cnb-pack-test/no-cc', path.join(REPO_ROOT, 'test', 'fixtures', 'apps', 'sqlite-ext-app'));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/The build image has no C compiler/);
    expect(r.output).toMatch(/pip had to build sqlite-ext from source/);
    expect(r.output).toMatch(/Use a builder whose build image has a C compiler, e\.g\. a "full" builder/);
    expect(r.output).not.toMatch(/must exist on your package index/);
    expect(r.output).not.toMatch(/Traceback|    at /);
  });

  test('a git+https requirement fails: the build image has no git', async () => {
    const r = await build('python-cnb-pack-test/no-git', path.join(REPO_ROOT, 'test', 'fixtures', 'apps', 'git-requirement'));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/The build image has no git/);
    expect(r.output).toMatch(/hello-sdist @ git\+https:\/\/127\.0\.0\.1:9\/python-cnb\/hello-sdist\.git@v1\.0\.0/);
    expect(r.output).toMatch(/Use a builder whose build image has git/);
    expect(r.output).not.toMatch(/must exist on your package index/);
  });
});
