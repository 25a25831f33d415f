// What bin/detect and bin/build share around their work: where the buildpack and the OS release are,
// and how an error becomes an exit code and one message. The build phase is a separate bundle
// (see loadBuildPhase in src/entry/main.ts), so each bundle has its own copy of this module and of the
// error classes it checks: errors never cross from one bundle to the other.
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { ContextError } from '../cnb/context';
import { EXIT } from '../cnb/exit-codes';
import { TomlError } from '../cnb/toml';
import { UserError } from '../errors';
import type { Log } from '../log';

export function osRelease(): string | undefined {
  try {
    return readFileSync('/etc/os-release', 'utf8');
  } catch {
    return undefined;
  }
}

/** The buildpack root: bin/<phase> lives one level below it (CNB_BUILDPACK_DIR wins when set). */
export function buildpackDirFromExecutable(): string {
  const invoked = process.argv0.includes('/') ? process.argv0 : (process.argv[1] ?? process.execPath);
  return path.resolve(path.dirname(invoked), '..');
}

/**
 * Runs a phase; a user's mistake is one message and exit 1, anything else a bug report and exit 2.
 * `render` turns the IO edge's typed failures into UserErrors (the build phase passes
 * src/explain.ts's toUserError; detect does no IO that fails that way, and stays small without it).
 */
export async function runPhase(log: Log, work: () => Promise<number>, render: (e: unknown) => unknown = (e) => e): Promise<number> {
  try {
    return await work();
  } catch (thrown) {
    const e = render(thrown);
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
