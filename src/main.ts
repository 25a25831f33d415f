// The one entry point. bin/detect and bin/build are the same program (a link to bin/main in the
// repository, a copy of the packaged executable otherwise); the name it was called by picks the
// phase. This is the only place that calls process.exit.
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { buildContext, ContextError, detectContext } from './cnb/context';
import { EXIT } from './cnb/exit-codes';
import { writeBuildPlan } from './cnb/plan';
import { TomlError } from './cnb/toml';
import { detect } from './detect';
import { UserError } from './errors';
import { Log, listing } from './log';
import { readApp } from './project';

type Phase = 'detect' | 'build';

export function phaseFromName(argv0: string, argv1: string | undefined): Phase | undefined {
  for (const candidate of [argv0, argv1]) {
    const base = candidate ? path.basename(candidate) : '';
    if (base === 'detect' || base === 'build') return base;
  }
  return undefined;
}

function osRelease(): string | undefined {
  try {
    return readFileSync('/etc/os-release', 'utf8');
  } catch {
    return undefined;
  }
}

/** The buildpack root: bin/<phase> lives one level below it (CNB_BUILDPACK_DIR wins when set). */
function buildpackDirFromExecutable(): string {
  const invoked = process.argv0.includes('/') ? process.argv0 : (process.argv[1] ?? process.execPath);
  return path.resolve(path.dirname(invoked), '..');
}

async function runDetect(log: Log): Promise<number> {
  const ctx = detectContext(process.env, process.argv.slice(2), process.cwd(), buildpackDirFromExecutable(), osRelease());
  const app = await readApp(ctx.appDir);
  const result = detect(app, ctx.env);
  if (!result.pass) {
    // The lifecycle shows detect output only at debug level (`pack build -v`).
    log.step(`No Python app found in ${ctx.appDir}: looked for ${listing(result.lookedFor)}`);
    return EXIT.DETECT_FAILED;
  }
  await writeBuildPlan(ctx.buildPlanPath, result.plan);
  log.step(`Python app detected (${listing(result.signals)})`);
  return EXIT.OK;
}

async function runBuild(log: Log): Promise<number> {
  // Loaded only for build: detect must start fast (the lifecycle runs it for every buildpack of
  // every group), and esbuild evaluates a dynamically imported module only when it is imported.
  const [{ build }, { readBuildpackInfo }] = await Promise.all([import('./build'), import('./buildpack-info')]);
  const ctx = buildContext(process.env, process.argv.slice(2), process.cwd(), buildpackDirFromExecutable(), osRelease());
  const info = await readBuildpackInfo(ctx.buildpackDir);
  await build(ctx, info, log);
  return EXIT.OK;
}

export async function main(): Promise<number> {
  const log = new Log();
  const phase = phaseFromName(process.argv0, process.argv[1]);
  if (!phase) {
    log.error('Unknown phase', [`This program was called as "${process.argv0}". Call it as bin/detect or bin/build (the CNB lifecycle does).`]);
    return EXIT.INTERNAL_ERROR;
  }
  try {
    return phase === 'detect' ? await runDetect(log) : await runBuild(log);
  } catch (e) {
    if (e instanceof UserError) {
      log.error(e.title, e.body);
      return EXIT.USER_ERROR;
    }
    if (e instanceof ContextError || e instanceof TomlError) {
      log.error(e.message);
      return EXIT.INTERNAL_ERROR;
    }
    log.error('Internal buildpack error', ['This is a bug in the buildpack, not in your app. Please report it with this log.', (e as Error)?.stack ?? String(e)]);
    return EXIT.INTERNAL_ERROR;
  }
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    () => {
      process.exitCode = EXIT.INTERNAL_ERROR;
    },
  );
}
