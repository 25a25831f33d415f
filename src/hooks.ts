// The classic buildpack's build hooks: bin/pre_compile runs after the Python install and before the
// dependency install, bin/post_compile after the dependency install (and collectstatic). Apps use
// them to generate files, check migrations or fetch assets. Each runs with the app dir as cwd and
// the build env (the venv's bin/ first on PATH once it exists), its output streamed under its own
// header. A hook may change the app dir (what it writes there is in the image); the layers are the
// buildpack's and a hook must not rely on changing them.
import { run } from './io/exec';
import { UserError } from './errors';
import { formatDuration, type Log } from './log';

export type HookName = 'pre_compile' | 'post_compile';

/** How to run a hook file (pure): itself when executable (through `sh -c exec`, so a bad #! line is
 *  the hook's failure with the shell's message, not a program we could not start), else with bash,
 *  saying so. The file is what src/project.ts found at bin/<name>. */
export type HookPlan =
  | { run: false }
  | { run: true; command: string; args: string[]; note?: string };

export function planHook(name: HookName, file: { kind: 'file' | 'dir' | 'other'; executable: boolean } | undefined): HookPlan {
  const rel = `bin/${name}`;
  if (!file) return { run: false };
  if (file.kind !== 'file') {
    throw new UserError(`${rel} is not a file`, [
      `The app has ${rel}, but it is ${file.kind === 'dir' ? 'a directory' : 'not a regular file'}.`,
      `The build runs ${rel} as a script (the classic buildpack's hook). Make it a script, or rename it.`,
    ]);
  }
  if (file.executable) return { run: true, command: 'sh', args: ['-c', 'exec "$0"', `./${rel}`] };
  return { run: true, command: 'bash', args: [rel], note: `${rel} is not executable: running it with bash (chmod +x ${rel} to run it with its own #! line)` };
}

/** The titled error of a failing hook (pure), quoting its last lines. */
export function hookFailure(name: HookName, exitCode: number, tail: readonly string[]): UserError {
  const rel = `bin/${name}`;
  const shown = tail.map((l) => l.trimEnd()).filter((l, i, all) => l !== '' || i < all.length - 1).slice(-15);
  return new UserError(`${rel} failed with exit code ${exitCode}`, [
    `The app's ${rel} hook exited with code ${exitCode}. Its last output:`,
    '',
    ...(shown.length ? shown.map((l) => `  ${l}`) : ['  (no output)']),
    '',
    `Fix ${rel} so that it exits 0 (its full output is above), or remove it. It runs in the app dir with the build env${name === 'post_compile' ? ' (the venv first on PATH)' : ''}.`,
  ]);
}

export async function runHook(name: HookName, plan: HookPlan, opts: { appDir: string; env: Record<string, string>; log: Log }): Promise<void> {
  const { log } = opts;
  if (!plan.run) return;
  log.step(`Running bin/${name}`);
  if (plan.note) log.info(plan.note);
  const started = Date.now();
  const result = await run(plan.command, plan.args, { cwd: opts.appDir, env: opts.env, onOutput: (c) => log.commandOutput(c), keepLines: 40 });
  if (result.exitCode !== 0) throw hookFailure(name, result.exitCode, result.tail);
  log.info(`bin/${name} finished in ${formatDuration(Date.now() - started)}`);
}
