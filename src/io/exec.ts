// Running commands (python, pip, a C compiler). Output is streamed into the build log as it comes,
// and the tail is kept so an error can quote what the command said. Secrets are the caller's
// concern: never put one in `args` (pass it through env instead), since args may be logged.
// A non-zero exit is data (RunResult, or CommandFailed from runOrThrow); a program that cannot be
// started at all (missing, not executable) is an internal error with its cause: the buildpack
// chose the program, so it is our bug, not the user's.
import type execaModule from 'execa';
import { CommandFailed } from '../failures';
import { trace } from '../trace';

let execaLoaded: typeof execaModule | undefined;
/** Loaded on first use (about 5 ms at start, profiled): a warm rebuild runs no command. */
function execa(): typeof execaModule {
  return (execaLoaded ??= require('execa') as typeof execaModule);
}

export interface RunOptions {
  cwd?: string;
  env: Record<string, string>;
  /** Each chunk of stdout/stderr, in order (for the build log). */
  onOutput?: (chunk: string) => void;
  /** How many trailing lines to keep for error messages. */
  keepLines?: number;
}

export interface RunResult {
  exitCode: number;
  /** The last `keepLines` lines of combined output. */
  tail: string[];
  ms: number;
}

/** Longest line kept for an error message; the rest of it is dropped (the log has it all). */
const MAX_LINE = 64 * 1024;

function clipLine(line: string): string {
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line;
}

export async function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const keep = options.keepLines ?? 200;
  const tail: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer | string) => {
    const text = chunk.toString();
    options.onOutput?.(text);
    // Only the new text is split, and an unfinished line is kept to its first MAX_LINE characters:
    // re-splitting a growing partial line made a 20 MB line of output cost 40 s.
    const lines = text.split('\n');
    lines[0] = clipLine(partial + lines[0]!);
    partial = lines.pop()!;
    for (const line of lines.length > keep ? lines.slice(-keep) : lines) tail.push(line);
    if (tail.length > keep) tail.splice(0, tail.length - keep);
  };
  const child = execa()(command, [...args], { cwd: options.cwd, env: options.env, extendEnv: false, reject: false, all: false, stdin: 'ignore', buffer: false });
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let result;
  try {
    result = await child;
  } catch (e) {
    throw new Error(`${command} could not be started`, { cause: e });
  }
  if (partial) tail.push(partial);
  if (result.failed && result.exitCode === undefined) {
    throw new Error(`${command} could not be started: ${(result as { shortMessage?: string }).shortMessage ?? 'unknown error'}`);
  }
  const done = { exitCode: result.exitCode ?? 1, tail, ms: Date.now() - started };
  trace.command({ command, args, cwd: options.cwd, exitCode: done.exitCode, ms: done.ms });
  return done;
}

/** The exit code as a failure: a non-zero exit throws CommandFailed (render it with src/explain.ts). */
export function checkExit(command: string, args: readonly string[], result: RunResult): RunResult {
  if (result.exitCode !== 0) throw new CommandFailed(command, args, result.exitCode, result.tail);
  return result;
}

/** run(), and a non-zero exit throws CommandFailed. */
export async function runOrThrow(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return checkExit(command, args, await run(command, args, options));
}

/** Whether an executable is on PATH (for optional tools such as a C compiler). */
export async function which(command: string, env: Record<string, string>): Promise<string | undefined> {
  const started = Date.now();
  const args = ['-c', 'command -v "$1"', 'sh', command];
  const r = await execa()('sh', args, { env, extendEnv: false, reject: false });
  trace.command({ command: 'sh', args, exitCode: r.exitCode ?? 1, ms: Date.now() - started });
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}
