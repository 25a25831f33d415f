import { Log } from '../../src/log';
import { UserError } from '../../src/errors';
import { UNSAFE_ENV, decideUnsafeEnv, rejectionError, safeBuildEnv } from '../../src/unsafe-env';

function captured(): { log: Log; text: () => string } {
  const chunks: string[] = [];
  return { log: new Log((t) => chunks.push(t)), text: () => chunks.join('') };
}

describe('unsafe platform env', () => {
  it('removes the variables the buildpack owns and keeps everything else', () => {
    const d = decideUnsafeEnv({ PYTHONHOME: '/nonexistent', VIRTUAL_ENV: '/x', PIP_INDEX_URL: 'http://i/simple/', UV_INDEX: 'u', PATH: '/bin' });
    expect(d.removed.map((f) => f.name)).toEqual(['PYTHONHOME', 'VIRTUAL_ENV']);
    expect(d.rejected).toEqual([]);
    expect(d.env).toEqual({ PIP_INDEX_URL: 'http://i/simple/', UV_INDEX: 'u', PATH: '/bin' });
  });

  it('rejects the variables that would install the packages outside the venv, naming each', () => {
    const d = decideUnsafeEnv({ PIP_TARGET: '/tmp/t', PIP_USER: '1', PYTHONPATH: '/x' });
    expect(d.rejected.map((f) => f.name)).toEqual(['PIP_TARGET', 'PIP_USER']);
    expect(d.removed.map((f) => f.name)).toEqual(['PYTHONPATH']);
    const e = rejectionError(d.rejected);
    expect(e.title).toBe('Unsafe environment variables PIP_TARGET and PIP_USER');
    expect(e.body.join('\n')).toMatch(/PIP_TARGET is set to "\/tmp\/t"[\s\S]*PIP_USER is set to "1"[\s\S]*Unset PIP_TARGET and PIP_USER/);
  });

  it('an empty value counts as set; unset variables are not reported', () => {
    expect(decideUnsafeEnv({ PYTHONPATH: '' }).removed.map((f) => f.name)).toEqual(['PYTHONPATH']);
    expect(decideUnsafeEnv({ PYTHONHOME: undefined, HOME: '/home/cnb' })).toEqual({ env: { HOME: '/home/cnb' }, removed: [], rejected: [] });
  });

  it('every rule says why, and the list covers what Python and the installers read', () => {
    for (const [name, rule] of Object.entries(UNSAFE_ENV)) expect([name, rule.why.length > 10]).toEqual([name, true]);
    for (const name of ['PYTHONHOME', 'PYTHONPATH', 'VIRTUAL_ENV', 'PIP_TARGET', 'PIP_USER', 'PIP_PREFIX', 'UV_PROJECT_ENVIRONMENT', 'POETRY_VIRTUALENVS_IN_PROJECT']) {
      expect(UNSAFE_ENV[name]).toBeDefined();
    }
  });

  it('safeBuildEnv warns naming each removed variable, and throws a UserError for rejected ones', () => {
    const out = captured();
    expect(safeBuildEnv({ PYTHONHOME: '/nonexistent', A: 'b' }, out.log)).toEqual({ A: 'b' });
    expect(out.text()).toMatch(/! Warning: Ignoring PYTHONHOME from the platform env[\s\S]*PYTHONHOME is set, but the buildpack runs its own CPython/);
    expect(() => safeBuildEnv({ PIP_PREFIX: '/opt' }, captured().log)).toThrow(UserError);
  });
});
