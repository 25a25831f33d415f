// Heroku classic parity through the real lifecycle: a failing build hook, nltk.txt errors, the
// unsafe platform env (PYTHONHOME removed, PIP_TARGET rejected before any download), runtime.txt
// comments, the .heroku/collectstatic_disabled opt-out, collectstatic quoting Django's own error
// line, a nested manage.py, committed virtual environments. The happy paths of hooks and nltk.txt,
// checked in the exported image as the run user, are in test/e2e/nltk-hooks.test.ts.
import { createScenario, runBuild, type Scenario } from '../helpers/lifecycle';
import { startNltkIndex, type NltkIndex } from '../helpers/nltk-index';
import { loopbackSourcesForSuite, useLoopbackSources } from '../helpers/sources';

const sources = loopbackSourcesForSuite();
let nltkIndex: NltkIndex;
beforeAll(async () => {
  nltkIndex = await startNltkIndex([{ id: 'pythoncnb_words', subdir: 'corpora', files: { 'words.txt': 'alpha\nbeta\n' } }]);
});
afterAll(async () => {
  await nltkIndex?.close();
});

async function scenario(fixture: string): Promise<Scenario> {
  const s = createScenario(fixture);
  await useLoopbackSources(s, sources);
  return s;
}

const STACK_TRACE = /^\s+at .+\(.+:\d+:\d+\)$/m;

describe('build hooks', () => {
  it("a failing bin/pre_compile fails the build with its exit code and output, before the dependency install", async () => {
    const s = await scenario('hook-fails');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.buildLog).toMatch(/- Running bin\/pre_compile\n[\s\S]*checking migrations/);
    expect(r.buildLog).toMatch(/! Error: bin\/pre_compile failed with exit code 3\n[\s\S]*!   checking migrations\n!   missing migration for app shop\n/);
    expect(r.buildLog).not.toMatch(STACK_TRACE);
    expect(r.buildLog).not.toContain('Process types');
  });
});

describe('nltk.txt', () => {
  it('without nltk installed: a warning, no layer, the build goes on', async () => {
    const s = await scenario('runtime-txt-comments');
    s.writeAppFile('nltk.txt', 'pythoncnb_words\n');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toMatch(/! Warning: nltk\.txt found but nltk is not installed\n[\s\S]*Add nltk to your dependencies/);
  });

  it('an unknown package is a titled error naming it', async () => {
    const s = await scenario('nltk-hooks');
    for (const [k, v] of Object.entries(nltkIndex.env())) s.setEnv(k, v);
    s.writeAppFile('nltk.txt', 'pythoncnb_words\nno_such_corpus\n');
    nltkIndex.clearLog();
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.buildLog).toMatch(/! Error: Unknown NLTK package "no_such_corpus" in nltk\.txt\n[\s\S]*not in NLTK's data index \(NLTK_DOWNLOAD_URL\)/);
    expect(r.buildLog).not.toMatch(STACK_TRACE);
    expect(nltkIndex.requests()[0]).toBe('GET /index.xml 200');
  });
});

describe('unsafe platform env', () => {
  it('PYTHONHOME=/nonexistent (and PYTHONPATH) are removed with a warning naming them; pip installs as usual', async () => {
    const s = await scenario('pip-requirements');
    s.setEnv('PYTHONHOME', '/nonexistent');
    s.setEnv('PYTHONPATH', '/nonexistent/site-packages');
    sources.index.clearLog();
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toMatch(/! Warning: Ignoring PYTHONHOME and PYTHONPATH from the platform env\n[\s\S]*PYTHONHOME is set, but the buildpack runs its own CPython/);
    expect(r.buildLog).not.toContain("No module named 'encodings'");
    expect(sources.index.requests().some((q) => /flask-3\.1\.3-py3-none-any\.whl/.test(q.path))).toBe(true);
  });

  it('PIP_TARGET is rejected with a titled error before anything is downloaded', async () => {
    const s = await scenario('pip-requirements');
    s.setEnv('PIP_TARGET', '/tmp/elsewhere');
    sources.mirror.clearLog();
    sources.index.clearLog();
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.buildLog).toMatch(/! Error: Unsafe environment variable PIP_TARGET\n[\s\S]*PIP_TARGET is set to "\/tmp\/elsewhere"[\s\S]*Unset PIP_TARGET/);
    expect(r.buildLog).not.toMatch(STACK_TRACE);
    expect(sources.mirror.requests()).toEqual([]);
    expect(sources.index.requests()).toEqual([]);
  });
});

describe('classic files and messages', () => {
  it('runtime.txt with comment lines and blank lines is read; no Procfile line without a Procfile', async () => {
    const s = await scenario('runtime-txt-comments');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toContain('Found 3.11 in runtime.txt');
    expect(r.buildLog).toContain('- No Procfile');
    expect(r.buildLog).not.toContain('Procfile declares types');
  });

  it('.heroku/collectstatic_disabled skips collectstatic like DISABLE_COLLECTSTATIC=1', async () => {
    const s = await scenario('django-collectstatic-opt-out');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toContain('Skipping collectstatic: the app has .heroku/collectstatic_disabled');
  });

  it("a failing collectstatic quotes Django's own error line, not a chained KeyError", async () => {
    const s = await scenario('django-no-static-url');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    const error = r.buildLog.slice(r.buildLog.indexOf('! Error: Django collectstatic failed'));
    expect(error).toMatch(/What Django reported:\n!\n!   django\.core\.exceptions\.ImproperlyConfigured: You're using the staticfiles app without having set the required STATIC_URL setting\.\n!\n/);
    expect(error).not.toContain('KeyError');
    expect(r.buildLog).toContain("KeyError: 'staticfiles'"); // it is in Django's full output above
  });

  it('a manage.py below the root is logged: collectstatic only runs for the root one', async () => {
    const s = await scenario('django-nested');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toContain('Found backend/manage.py; collectstatic runs only for a manage.py in the app root');
    expect(r.buildLog).not.toContain('collectstatic --noinput');
  });

  it('a committed .venv/ and .heroku/python/ get a warning naming them', async () => {
    const s = await scenario('committed-venv');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toMatch(/! Warning: The app contains a virtual environment: \.venv\/, \.heroku\/python\/\n[\s\S]*never uses them[\s\S]*shipped in the image as app files/);
  });
});
