// uv.lock (with its pyproject.toml): `uv sync --locked` into the venv, as Heroku's CNB does. vendor/
// wheels are not used: uv resolves again from them instead of installing the lock, so the lock's
// index is the only source (point it at a reachable one with UV_DEFAULT_INDEX).
import { UserError } from '../errors';
import { whenCommandFails } from '../explain';
import { runOrThrow } from '../io/exec';
import { pipErrorLines } from '../python/dependencies';
import { appFile, type Manager } from './manager';
import { checkProjectFile } from '../python/project-files';

/**
 * The uv arguments (pure). As Heroku's CNB: exactly the locked set (--locked fails when uv.lock
 * does not match pyproject.toml), no dev or other default groups, bytecode compiled now
 * (hash-based under SOURCE_DATE_EPOCH) instead of at every container start.
 */
export function uvSyncArgs(): string[] {
  return ['sync', '--locked', '--no-default-groups', '--compile-bytecode', '--no-progress'];
}

/** The environment uv runs with: the venv to fill, our Python and nothing else (never a download). */
export function uvEnv(venvDir: string, python: string): Record<string, string> {
  return {
    UV_PROJECT_ENVIRONMENT: venvDir,
    UV_PYTHON: python,
    UV_PYTHON_DOWNLOADS: 'never',
    UV_NO_MANAGED_PYTHON: '1',
    UV_LINK_MODE: 'hardlink',
    UV_NO_PROGRESS: '1',
  };
}

export const uv: Manager = {
  kind: 'uv',
  tool: 'uv',
  inputs(app, manager) {
    if (!app.entries.some((e) => e.name === 'pyproject.toml')) {
      throw new UserError('uv.lock without pyproject.toml', ['The app has uv.lock but no pyproject.toml, so uv has no project to sync.', 'Commit the pyproject.toml that uv.lock was made from (uv lock writes uv.lock beside it).']);
    }
    const files = [
      { name: 'pyproject.toml', bytes: appFile(app, 'pyproject.toml') },
      { name: 'uv.lock', bytes: appFile(app, 'uv.lock') },
    ];
    // Their shapes are checked now, before any download (src/python/project-files.ts).
    for (const f of files) checkProjectFile(f.name as 'pyproject.toml' | 'uv.lock', f.bytes.toString('utf8'));
    return { manager, files, switches: [], label: 'uv.lock', warnings: [], unpinned: [], vendoredWheels: [] };
  },
  async install(step) {
    const { inputs, log } = step;
    const args = uvSyncArgs();
    log.info(`Running: uv ${args.join(' ')}`);
    await runOrThrow(step.tool, args, { cwd: step.appDir, env: step.env.with(uvEnv(step.venvDir, step.python)).toRecord(), onOutput: (c) => log.commandOutput(c) }).catch(
      whenCommandFails((f) => {
        const stale = f.tail.some((l) => /needs to be updated/.test(l));
        return {
          title: stale ? 'uv.lock is out of date' : `Could not install the dependencies from ${inputs.label}`,
          lead: `uv exited with code ${f.exitCode} while syncing uv.lock. What uv reported:`,
          lines: pipErrorLines(f.tail).map((l) => `  ${l}`),
          fix: [
            stale
              ? 'uv.lock does not match pyproject.toml, and the build installs exactly the lock (uv sync --locked). Run `uv lock`, then commit uv.lock.'
              : "uv's full output is above. Check the named package: it must be on the index uv.lock was made against (or the one set with UV_INDEX / UV_DEFAULT_INDEX), for this Python.",
          ],
        };
      }),
    );
  },
};
