// The classic buildpack's files and messages: hooks, nltk.txt, the collectstatic opt-out file and
// error line, committed virtual environments. Pure decisions only (the IO is in the integration tests).
import { collectstaticDisabled, djangoErrorLines } from '../../src/django';
import { hookFailure, planHook } from '../../src/hooks';
import { createHash } from 'node:crypto';
import { classicPlan, committedVenvWarning, parseNltkTxt } from '../../src/classic';
import type { AppSnapshot } from '../../src/project';
import { UserError } from '../../src/errors';

describe('build hooks', () => {
  it('an absent hook does not run; an executable one runs itself; otherwise bash runs it, saying so', () => {
    expect(planHook('pre_compile', undefined)).toEqual({ run: false });
    expect(planHook('pre_compile', { kind: 'file', executable: true })).toEqual({ run: true, command: 'sh', args: ['-c', 'exec "$0"', './bin/pre_compile'] });
    const plan = planHook('post_compile', { kind: 'file', executable: false });
    expect(plan).toMatchObject({ run: true, command: 'bash', args: ['bin/post_compile'] });
    expect(plan.run && plan.note).toMatch(/bin\/post_compile is not executable: running it with bash/);
  });

  it('a directory named like a hook is a titled error', () => {
    expect(() => planHook('pre_compile', { kind: 'dir', executable: true })).toThrow(/bin\/pre_compile is not a file/);
  });

  it("a failing hook's error names the exit code and quotes its last lines", () => {
    const e = hookFailure('post_compile', 7, ['ok', 'migrations are missing', '']);
    expect(e.title).toBe('bin/post_compile failed with exit code 7');
    expect(e.body.join('\n')).toMatch(/  ok\n  migrations are missing\n/);
    expect(hookFailure('pre_compile', 1, []).body).toContain('  (no output)');
  });
});

describe('nltk.txt', () => {
  it('one id per line (or several per line), comments, blank lines, CRLF; duplicates once', () => {
    expect(parseNltkTxt('punkt\r\n# a comment\n\nstopwords wordnet  # trailing\nomw-1.4\npunkt\n')).toEqual(['punkt', 'stopwords', 'wordnet', 'omw-1.4']);
    expect(parseNltkTxt('# nothing\n')).toEqual([]);
  });

  it('a name that cannot be an NLTK id is a titled error quoting the line', () => {
    expect(() => parseNltkTxt('punkt\n../etc/passwd\n')).toThrow(UserError);
    expect(() => parseNltkTxt('punkt\n../etc/passwd\n')).toThrow(/nltk\.txt line 2: "\.\.\/etc\/passwd"/);
  });
});

describe('collectstatic', () => {
  it('the classic opt-out file works like DISABLE_COLLECTSTATIC=1', () => {
    expect(collectstaticDisabled({}, true)).toBe('the app has .heroku/collectstatic_disabled');
    expect(collectstaticDisabled({}, false)).toBeUndefined();
    expect(collectstaticDisabled({ DISABLE_COLLECTSTATIC: '1' }, true)).toBe('DISABLE_COLLECTSTATIC is set');
  });

  it("quotes the final exception line, not a chained KeyError from deep inside Django", () => {
    const tail = [
      'Traceback (most recent call last):',
      '  File "handler.py", line 26, in __getitem__',
      '    return self._storages[alias]',
      "KeyError: 'staticfiles'",
      '',
      'During handling of the above exception, another exception occurred:',
      '',
      'Traceback (most recent call last):',
      '  File "utils.py", line 49, in check_settings',
      '    raise ImproperlyConfigured(',
      "django.core.exceptions.ImproperlyConfigured: You're using the staticfiles app without having set the required STATIC_URL setting.",
    ];
    expect(djangoErrorLines(tail)).toEqual([tail[10]]);
    expect(djangoErrorLines(['CommandError: no such file', ''])).toEqual(['CommandError: no such file']);
    expect(djangoErrorLines(['something went wrong: RuntimeError in x'])).toEqual(['something went wrong: RuntimeError in x']);
  });
});

describe('committed virtual environments', () => {
  it('none: no warning; some: one warning naming each directory, saying it is shipped and never used', () => {
    expect(committedVenvWarning([])).toBeUndefined();
    const w = committedVenvWarning(['.venv', '.heroku/python'])!;
    expect(w.title).toBe('The app contains a virtual environment: .venv/, .heroku/python/');
    expect(w.body.join('\n')).toMatch(/never uses them[\s\S]*shipped in the image as app files[\s\S]*Remove \.venv\/ and \.heroku\/python\//);
  });
});

describe('classicPlan (the analysis of the snapshot)', () => {
  const snapshot = (extra: Partial<AppSnapshot> = {}): AppSnapshot => ({ entries: [], files: {}, ...extra });
  const files = { hooks: {}, collectstaticOptOut: false, nestedManagePy: [], committedVenvs: [] };

  it('no classic files: no hooks, no nltk, nothing to say', () => {
    expect(classicPlan(snapshot())).toEqual({ hooks: { pre_compile: { run: false }, post_compile: { run: false } }, nltk: undefined, collectstaticOptOut: false, nestedManagePy: [], committedVenvs: [] });
  });

  it("nltk.txt's ids and sha256 (the layer key); a hook that is a directory fails the analysis", () => {
    const plan = classicPlan(snapshot({ files: { 'nltk.txt': { ok: true, bytes: Buffer.from('punkt\n') } }, classic: { ...files, hooks: { post_compile: { kind: 'file', executable: false } } } }));
    expect(plan.nltk).toEqual({ ids: ['punkt'], sha256: createHash('sha256').update('punkt\n').digest('hex') });
    expect(plan.hooks.post_compile).toMatchObject({ run: true, command: 'bash' });
    expect(() => classicPlan(snapshot({ classic: { ...files, hooks: { pre_compile: { kind: 'dir', executable: true } } } }))).toThrow(/bin\/pre_compile is not a file/);
    expect(() => classicPlan(snapshot({ files: { 'nltk.txt': { ok: false, problem: 'is a directory, not a file' } } }))).toThrow(/nltk\.txt cannot be read/);
  });
});
