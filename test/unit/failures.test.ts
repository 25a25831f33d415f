import { UserError } from '../../src/errors';
import { explain, toUserError, whenCommandFails } from '../../src/explain';
import { CommandFailed, DownloadFailed, UnsafeArchive } from '../../src/failures';
import { run, runOrThrow } from '../../src/io/exec';
import { redactUrl } from '../../src/redact';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

describe('the failure vocabulary', () => {
  it('runOrThrow throws CommandFailed with the exit code and the output tail', async () => {
    const error = await runOrThrow('sh', ['-c', 'echo one; echo two >&2; exit 3'], { env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailed);
    expect((error as CommandFailed).exitCode).toBe(3);
    expect((error as CommandFailed).tail).toEqual(['one', 'two']);
    expect((error as CommandFailed).argv).toEqual(['-c', 'echo one; echo two >&2; exit 3']);
  });

  it('run returns a non-zero exit as data', async () => {
    expect((await run('sh', ['-c', 'exit 4'], { env })).exitCode).toBe(4);
  });

  it('a program that cannot be started is an internal error, not a user error', async () => {
    const error = await run('/nonexistent/program', [], { env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UserError);
    expect(toUserError(error)).toBe(error);
    expect(String((error as Error).message)).toMatch(/could not be started/);
  });

  it('whenCommandFails renders with the caller words and passes other errors through', () => {
    const failed = new CommandFailed('pip', ['install'], 1, ['a', 'ERROR: b']);
    let rendered: unknown;
    try {
      whenCommandFails((f) => ({ title: `pip said ${f.exitCode}`, lead: 'lead', lines: f.tail.slice(-1), fix: ['fix it'] }))(failed);
    } catch (e) {
      rendered = e;
    }
    expect(rendered).toBeInstanceOf(UserError);
    expect((rendered as UserError).title).toBe('pip said 1');
    expect((rendered as UserError).body).toEqual(['lead', '', 'ERROR: b', '', 'fix it']);
    const other = new Error('other');
    expect(() => whenCommandFails(() => ({ title: 'x' }))(other)).toThrow(other);
  });

  it.each<[string, DownloadFailed | UnsafeArchive, string, RegExp]>([
    ['a checksum mismatch', new DownloadFailed('https://h/a.tgz', 'checksum', { expected: 'aa', actual: 'bb' }), 'Checksum mismatch', /Expected: aa[\s\S]*Actual: {3}bb/],
    ['a 404', new DownloadFailed('https://h/a.tgz', 'http', { status: 404 }), 'Download failed', /answered HTTP 404\.\nThe artifact is not at that address/],
    ['a 403', new DownloadFailed('https://h/a.tgz', 'http', { status: 403 }), 'Download failed', /answered HTTP 403\.\nCheck the URL/],
    ['retries exhausted', new DownloadFailed('https://h/a.tgz', 'network', { cause: 'https://h/a.tgz: ECONNRESET', attempts: 4 }), 'Download failed', /ECONNRESET\.\nGave up after 4 attempts/],
    ['an unpack error', new DownloadFailed('https://h/a.tgz', 'unpack', { cause: 'invalid' }), 'Could not unpack the download', /has the expected sha256 but could not be unpacked: invalid/],
    ['an unsafe entry', new UnsafeArchive('python/../../x', 'points outside the destination'), 'Unsafe archive', /"python\/..\/..\/x", which points outside the destination/],
  ])('renders %s as a titled user error', (_name, failure, title, body) => {
    const shown = explain(failure);
    expect(shown.title).toBe(title);
    expect(shown.body.join('\n')).toMatch(body);
    expect(toUserError(failure)).toBeInstanceOf(UserError);
  });

  it('redactUrl hides credentials', () => {
    expect(redactUrl('https://user:secret@example.com/simple/')).toBe('https://***:***@example.com/simple/');
    expect(redactUrl('not a url //user:pw@host')).toBe('not a url //***@host');
  });
});
