// Django's collectstatic, run at build time after the dependencies, as Heroku does: when the app
// has manage.py, Django is installed, and the staticfiles app is enabled (collectstatic answers
// "Unknown command" when it is not).
// DISABLE_COLLECTSTATIC=1 (Heroku's name), BP_PYTHON_DISABLE_COLLECTSTATIC=true or the classic
// .heroku/collectstatic_disabled file skips it.
import * as path from 'node:path';
import { run } from './io/exec';
import { CommandFailed } from './failures';
import { whenCommandFails, type CommandWords } from './explain';
import { pathExists } from './io/fs';
import { formatDuration, type Log } from './log';
import { dropCollected, reuseCollectedStatic } from './layers/collected-static';

/** The classic buildpack's opt-out file: its presence works like DISABLE_COLLECTSTATIC=1. */
export const CLASSIC_OPT_OUT = '.heroku/collectstatic_disabled';

export function collectstaticDisabled(env: Record<string, string | undefined>, optOutFile = false): string | undefined {
  if (env.DISABLE_COLLECTSTATIC && env.DISABLE_COLLECTSTATIC !== '0') return 'DISABLE_COLLECTSTATIC is set';
  if (env.BP_PYTHON_DISABLE_COLLECTSTATIC === 'true') return 'BP_PYTHON_DISABLE_COLLECTSTATIC=true';
  if (optOutFile) return `the app has ${CLASSIC_OPT_OUT}`;
  return undefined;
}

/**
 * The line that says what went wrong (pure): the final exception line of Python's traceback (the
 * last unindented `name: message` line), so a chained exception's KeyError from deep inside
 * Django is not mistaken for the ImproperlyConfigured that Django raised; else the lines that
 * mention an error.
 */
export function djangoErrorLines(tail: readonly string[]): string[] {
  const exception = [...tail].reverse().find((l) => /^[A-Za-z_][\w.]*: \S/.test(l) || /^[A-Za-z_][\w.]*(Error|Exception)$/.test(l.trimEnd()));
  if (exception) return [exception];
  return tail.filter((l) => /Error|Exception/.test(l)).slice(-3);
}

const COLLECTSTATIC = ['manage.py', 'collectstatic', '--noinput'];

/** The titled error for a failed collectstatic: Django's own error line, and what usually causes it. */
function collectstaticFailure(f: CommandFailed): CommandWords {
  const reason = djangoErrorLines(f.tail);
  return {
    title: 'Django collectstatic failed',
    lead: '`python manage.py collectstatic --noinput` exited with an error. What Django reported:',
    lines: (reason.length ? reason : f.tail.slice(-5)).map((l) => `  ${l.trimEnd()}`),
    fix: [
      "Django's full output is above. Common causes: STATIC_ROOT is not set in settings.py, a settings module that does not import or needs an env var not set at build time (env vars set only at run time are not available here), or a missing static file referenced by a manifest storage.",
      `To skip this step, set DISABLE_COLLECTSTATIC=1 (or BP_PYTHON_DISABLE_COLLECTSTATIC=true) in the build environment, or add an empty ${CLASSIC_OPT_OUT} file to the app.`,
    ],
  };
}

/** For an app with manage.py (the analysis knows), after the dependencies are installed. */
/** Why collectstatic's output is not reused this build even when its inputs are unchanged
 *  (src/layers/collected-static.ts), or undefined. */
export function collectstaticReuseOff(env: Readonly<Record<string, string | undefined>>, hooks: { pre_compile: boolean; post_compile: boolean }): string | undefined {
  if (env.BP_PYTHON_COLLECTSTATIC_REUSE === 'false') return 'BP_PYTHON_COLLECTSTATIC_REUSE=false';
  const hook = hooks.pre_compile ? 'bin/pre_compile' : hooks.post_compile ? 'bin/post_compile' : undefined;
  return hook ? `${hook} runs, and a hook may change what collectstatic reads` : undefined;
}

export async function runCollectstatic(opts: { appDir: string; layersDir: string; venvDir: string; env: Record<string, string>; optOutFile: boolean; reuseOff?: string; log: Log }): Promise<void> {
  const { log } = opts;
  // The opt-out first: with it, the build does not need the venv's files (src/layers/reuse.ts).
  const disabled = collectstaticDisabled(opts.env, opts.optOutFile);
  if (!disabled && !(await pathExists(path.join(opts.venvDir, 'bin', 'django-admin')))) {
    log.info('manage.py found but Django is not installed: no collectstatic');
    await dropCollected(opts.layersDir);
    return;
  }
  log.step('Django static files');
  if (disabled) {
    log.info(`Skipping collectstatic: ${disabled}`);
    await dropCollected(opts.layersDir);
    return;
  }
  if (opts.reuseOff) {
    log.info(`Running collectstatic without checking whether its inputs changed: ${opts.reuseOff}`);
    await dropCollected(opts.layersDir);
  }
  const collected = opts.reuseOff ? undefined : await reuseCollectedStatic({ appDir: opts.appDir, layersDir: opts.layersDir, env: opts.env, log });
  if (collected?.restored) return;
  // One Django start, not two: collectstatic itself says "Unknown command" when the staticfiles
  // app is not enabled (Heroku's CNB asks `manage.py help collectstatic` first, which costs a
  // second start of Django on every build: ~0.2-0.3 s here). With settings that do not import,
  // Django raises their error instead, so that is never mistaken for a disabled app.
  const python = path.join(opts.venvDir, 'bin', 'python');
  log.info('Running: python manage.py collectstatic --noinput');
  const started = Date.now();
  const result = await run(python, COLLECTSTATIC, { cwd: opts.appDir, env: opts.env, onOutput: (c) => log.commandOutput(c) });
  if (result.exitCode !== 0 && result.tail.some((l) => l.includes("Unknown command: 'collectstatic'"))) {
    log.info("Skipping collectstatic: the 'django.contrib.staticfiles' app is not enabled");
    await collected?.discard();
    return;
  }
  if (result.exitCode !== 0) whenCommandFails(collectstaticFailure)(new CommandFailed(python, COLLECTSTATIC, result.exitCode, result.tail));
  log.info(`Collected static files in ${formatDuration(Date.now() - started)}`);
  await collected?.save();
}
