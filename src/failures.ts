// The failure vocabulary of the IO edge. src/io/ throws these as data (what failed, with which
// exit code, URL or archive entry), never as prose; src/explain.ts is the one place that turns them
// into the titled message a user reads. A caller that knows more (pip was installing the
// requirements, the compiler was building SQLite) renders a CommandFailed itself through
// explainCommand, so the context-free sentences live in one file and the context-specific ones
// beside the step that knows the context.
//
// Each bundle (detect, build) has its own copy of these classes; a failure never crosses bundles.

/** A failure at the IO edge that a user can usually act on (a typed, not yet rendered UserError). */
export abstract class Failure extends Error {
  abstract readonly kind: 'command-failed' | 'download-failed' | 'unsafe-archive';
}

/** A program ran and exited non-zero. A program that could not be started at all is an internal error. */
export class CommandFailed extends Failure {
  override name = 'CommandFailed';
  readonly kind = 'command-failed';
  constructor(
    readonly command: string,
    /** The arguments as passed (never secrets: src/io/exec.ts says so to every caller). */
    readonly argv: readonly string[],
    readonly exitCode: number,
    /** The last lines of its combined output. */
    readonly tail: readonly string[],
  ) {
    super(`${command} exited with code ${exitCode}`);
  }
}

export type DownloadFailureReason =
  /** A file:// artifact could not be opened. */
  | 'unreadable'
  /** Neither http(s):// nor file://. */
  | 'unsupported-url'
  /** A final HTTP status (a 4xx other than 408/429). */
  | 'http'
  /** Transient failures (connection, timeout, 5xx) until the attempts ran out. */
  | 'network'
  /** The bytes arrived but their sha256 is not the manifest's. */
  | 'checksum'
  /** The bytes are the right ones but the consumer (an extractor) could not unpack them. */
  | 'unpack'
  /** The URL itself cannot be parsed (`http://[::1/x`, a file:// URL with an encoded slash). */
  | 'invalid-url'
  /** A redirect that is not followed: malformed Location, not http(s), plain http off loopback, too many. */
  | 'bad-redirect'
  /** Larger than the artifact's cap (Content-Length, file size or the bytes counted). */
  | 'too-large'
  /** The whole download did not finish before its deadline. */
  | 'too-slow'
  /** A local path that is not a regular file (a FIFO, a device, a directory). */
  | 'not-a-file';

export class DownloadFailed extends Failure {
  override name = 'DownloadFailed';
  readonly kind = 'download-failed';
  constructor(
    /** Already without credentials (src/redact.ts). */
    readonly url: string,
    readonly reason: DownloadFailureReason,
    readonly details: { status?: number; cause?: string; expected?: string; actual?: string; attempts?: number; size?: number; limit?: number } = {},
  ) {
    super(`${url}: ${reason}${details.status ? ` (HTTP ${details.status})` : ''}${details.cause ? `: ${details.cause}` : ''}`);
  }
}

/** An archive entry that would land outside the destination (a path or link escaping it). */
export class UnsafeArchive extends Failure {
  override name = 'UnsafeArchive';
  readonly kind = 'unsafe-archive';
  constructor(
    readonly entry: string,
    /** Completes "the archive contains <entry>, which ...". */
    readonly why: string,
  ) {
    super(`unsafe archive entry ${entry}: ${why}`);
  }
}
