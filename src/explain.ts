// Where a typed failure from the IO edge (src/failures.ts) becomes the titled message a user reads:
// what was found, what was expected, how to fix it. runPhase renders whatever reaches it through
// toUserError; a step that knows its context (pip installing the requirements, the compiler
// building SQLite) renders its CommandFailed with explainCommand and its own words instead.
import { UserError, printable } from './errors';
import { formatBytes } from './log';
import { CommandFailed, DownloadFailed, Failure, UnsafeArchive } from './failures';

/** The words a step gives a failed command: a title, a lead sentence, the output lines to quote, the fix. */
export interface CommandWords {
  title: string;
  /** What was running and what happened; a blank line follows. */
  lead?: string;
  /** The lines of output to quote (default: the last 15). */
  lines?: readonly string[];
  /** How to fix it; a blank line precedes. */
  fix?: readonly string[];
}

export function explainCommand(f: CommandFailed, words: CommandWords): UserError {
  const lines = words.lines ?? f.tail.slice(-15);
  return new UserError(words.title, [...(words.lead ? [words.lead, ''] : []), ...lines, ...(words.fix?.length ? ['', ...words.fix] : [])]);
}

/** For `.catch()`: a CommandFailed becomes the caller's UserError; anything else passes unchanged. */
export function whenCommandFails(words: (f: CommandFailed) => CommandWords): (e: unknown) => never {
  return (e) => {
    throw e instanceof CommandFailed ? explainCommand(e, words(e)) : e;
  };
}

function explainDownload(f: DownloadFailed): UserError {
  const { status, cause, expected, actual, attempts, size, limit } = f.details;
  switch (f.reason) {
    case 'unreadable':
      return new UserError('Download failed', [`${f.url} could not be read: ${cause}.`]);
    case 'unsupported-url':
      return new UserError('Unsupported download URL', [`${f.url} is not an http(s):// or file:// URL.`]);
    case 'http':
      return new UserError('Download failed', [
        `${f.url} answered HTTP ${status}.`,
        status === 404 ? 'The artifact is not at that address: check the manifest entry or your dependency mirror.' : 'Check the URL, the mirror configuration and any credentials it needs.',
      ]);
    case 'network':
      return new UserError('Download failed', [`${cause}.`, ...(attempts ? [`Gave up after ${attempts} attempts. Check the network, the URL and any dependency mirror, then retry the build.`] : [])]);
    case 'checksum':
      return new UserError('Checksum mismatch', [
        `The file downloaded from ${f.url} does not have the expected sha256.`,
        `Expected: ${expected}`,
        `Actual:   ${actual}`,
        'The download was discarded. If you use a dependency mirror, it serves a different file than the manifest names; otherwise retry, and report it if it persists.',
      ]);
    case 'unpack':
      return new UserError('Could not unpack the download', [`${f.url} has the expected sha256 but could not be unpacked: ${cause}.`]);
    case 'invalid-url':
      return new UserError('Invalid download URL', [`"${printable(f.url, 200)}" is not a valid URL.`, 'Fix the uri in the manifest entry (or BP_PYTHON_MANIFEST), or the dependency mirror setting that produced it.']);
    case 'bad-redirect':
      return new UserError('Download redirect refused', [`${f.url} was not downloaded: ${cause}.`, 'Point the manifest entry or the dependency mirror at the final https:// address of the artifact.']);
    case 'too-large':
      return new UserError('Download too large', [
        `${f.url} is ${size !== undefined ? `${formatBytes(size)}, ` : ''}more than the limit of ${formatBytes(limit ?? 0)} for this download.`,
        'Nothing from it was kept. Check that the manifest entry or the mirror names the right file.',
      ]);
    case 'too-slow':
      return new UserError('Download too slow', [
        `${f.url} did not finish within ${Math.round((limit ?? 0) / 1000)} s${attempts ? ` (${attempts} attempts${cause ? `; the last: ${cause}` : ''})` : ''}.`,
        'Check the network and any dependency mirror; BP_PYTHON_DOWNLOAD_TIMEOUT (seconds) and BP_PYTHON_DOWNLOAD_MIN_RATE (KiB/s) set the limits.',
      ]);
    case 'not-a-file':
      return new UserError('Download source is not a file', [`${f.url} is not a regular file (a directory, a FIFO or a device), so it is not read.`, 'Point it at the artifact file itself.']);
  }
}

function explainUnsafeArchive(f: UnsafeArchive): UserError {
  return new UserError('Unsafe archive', [`The archive contains "${printable(f.entry)}", which ${f.why}.`, 'Nothing from it was kept. The artifact is not a genuine runtime archive: check the manifest entry and any dependency mirror.']);
}

/** A failure no step rendered with its own words. */
export function explain(f: Failure): UserError {
  if (f instanceof DownloadFailed) return explainDownload(f);
  if (f instanceof UnsafeArchive) return explainUnsafeArchive(f);
  if (f instanceof CommandFailed) {
    return explainCommand(f, { title: `${f.command} failed`, lead: `\`${[f.command, ...f.argv].join(' ')}\` exited with code ${f.exitCode}. Its last output:`, lines: f.tail.slice(-15).map((l) => `  ${l}`) });
  }
  throw new Error(`unexplained failure ${f.kind}`);
}

/** What runPhase shows: a typed failure rendered, anything else as it is. */
export function toUserError(e: unknown): unknown {
  return e instanceof Failure ? explain(e) : e;
}

/** For `.catch()` at a step: a typed failure is thrown as its UserError, anything else unchanged. */
export function rethrowExplained(e: unknown): never {
  throw toUserError(e);
}
