// What the managers that install with pip share (requirements.txt, Pipfile.lock, the project):
// vendor/ wheels as the only source, the common arguments, and one pip run with its failure words.
import { whenCommandFails } from '../explain';
import { CommandFailed } from '../failures';
import { runOrThrow, which } from '../io/exec';
import { pipErrorLines } from '../python/dependencies';
import { missingBuildToolError, type BuildTools } from '../python/missing-tools';
import type { AppSnapshot } from '../project';
import type { DependencyInputs, InstallStep } from './manager';

/** Adds the app's vendor/ wheels (their names are part of the key: a new wheel recreates the venv). */
export function withVendoredWheels(inputs: DependencyInputs, app: AppSnapshot): DependencyInputs {
  const vendoredWheels = app.vendoredWheels ?? [];
  if (vendoredWheels.length === 0) return inputs;
  return { ...inputs, files: [...inputs.files, { name: 'vendor/', bytes: Buffer.from(vendoredWheels.join('\n')) }], switches: [...inputs.switches, 'vendor'], label: `${inputs.label} with vendor/ (${vendoredWheels.length} wheels, no index)`, vendoredWheels };
}

/** `pip install` arguments every pip manager starts with (the argv is logged, so no secrets). */
export function pipInstallCommon(inputs: DependencyInputs): string[] {
  return ['install', '--progress-bar', 'off', '--no-input', ...(inputs.vendoredWheels.length ? ['--no-index', '--find-links', 'vendor'] : [])];
}

/** Runs `python -m pip --python <venv> <args>` in the app directory. `shown` replaces args in the log line. */
export async function runPip(step: InstallStep, args: readonly string[], env = step.env, shown: (arg: string) => string = (a) => a): Promise<void> {
  const { inputs, log } = step;
  log.info(`Running: pip ${args.map(shown).join(' ')}`);
  // Python 2's pip (20.3.4) has no --python: it runs with the runtime and installs with --prefix.
  const where = step.prefixInstall ? [...args, ...(args[0] === 'install' ? ['--prefix', step.venvDir, '--no-warn-script-location'] : [])] : ['--python', step.venvPython, ...args];
  await runOrThrow(step.python, ['-m', 'pip', ...where], { cwd: step.appDir, env: env.toRecord(), onOutput: (c) => log.commandOutput(c) }).catch(async (e: unknown) => {
    // pip failed for want of a compiler or git: say that the build image lacks it, not pip's words.
    if (e instanceof CommandFailed) {
      const missing = missingBuildToolError(e.tail, await buildTools(env.toRecord()), inputs.label);
      if (missing) throw missing;
    }
    whenCommandFails((f) => ({
      title: `Could not install the dependencies from ${inputs.label}`,
      lead: `pip exited with code ${f.exitCode} while installing ${inputs.label}. What pip reported:`,
      lines: pipErrorLines(f.tail).map((l) => `  ${l}`),
      fix: ["pip's full output is above. Check the named requirement: it must exist on your package index (PIP_INDEX_URL) for this Python, and an sdist must build with the tools in the build image."],
    }))(e);
  });
}

/** Which of the tools pip may need are on the build's PATH (see python/missing-tools.ts). */
async function buildTools(env: Record<string, string>): Promise<BuildTools> {
  const compilers = [env.CC?.trim().split(/\s+/)[0], 'cc', 'gcc'].filter((c): c is string => Boolean(c));
  const found = await Promise.all([...compilers, 'git'].map((c) => which(c, env)));
  return { cc: found.slice(0, -1).some(Boolean), git: Boolean(found.at(-1)) };
}
