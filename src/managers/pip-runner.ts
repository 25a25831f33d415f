// What the managers that install with pip share (requirements.txt, Pipfile.lock, the project):
// vendor/ wheels as the only source, the common arguments, and one pip run with its failure words.
import * as path from 'node:path';
import * as pep440 from '@renovatebot/pep440';
import type { BuildEnv } from '../cnb/build-env';
import { whenCommandFails } from '../explain';
import { CommandFailed } from '../failures';
import { run, runOrThrow, which } from '../io/exec';
import { listDir, readFile } from '../io/fs';
import { formatDuration, listing } from '../log';
import { normalizeName, readInstalledDistributions } from '../sbom/installed';
import { pipErrorLines } from '../python/dependencies';
import { missingBuildToolError, type BuildTools } from '../python/missing-tools';
import type { AppSnapshot } from '../project';
import type { DependencyInputs, InstallStep } from './manager';
import { stampLegacyBytecode, timestampBytecodeOnly } from '../runtime/stdlib-bytecode';

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

/** pip learnt `--python <interpreter>` (install into another environment) in 22.3. */
export function pipHasPythonOption(pipVersion: string): boolean {
  return pep440.valid(pipVersion) !== null && pep440.gte(pipVersion, '22.3');
}

/**
 * How pip runs for the venv: `python -m pip --python <venv>` from the pip layer; a pip older than
 * 22.3 (for Python 3.6 and 2.7) has no --python, so the venv's own python runs it, importing it
 * from the pip layer's site-packages through PYTHONPATH.
 */
async function pipCommand(step: InstallStep, env: BuildEnv): Promise<{ command: string; args: string[]; env: BuildEnv }> {
  const old = await installedOldPip(path.dirname(path.dirname(step.tool)));
  if (!old) return { command: step.python, args: ['-m', 'pip', '--python', step.venvPython], env };
  return { command: step.venvPython, args: ['-m', 'pip'], env: env.with({ PYTHONPATH: old }) };
}

/** The pip layer's site-packages (<layer>/lib/pythonX.Y/site-packages) when the pip there is older than 22.3. */
async function installedOldPip(layerDir: string): Promise<string | undefined> {
  for (const lib of await listDir(path.join(layerDir, 'lib'))) {
    const sitePackages = path.join(layerDir, 'lib', lib.name, 'site-packages');
    const info = (await listDir(sitePackages)).find((e) => /^pip-[^-]+\.dist-info$/.test(e.name));
    if (info) return pipHasPythonOption(info.name.slice('pip-'.length, -'.dist-info'.length)) ? undefined : sitePackages;
  }
  return undefined;
}

/** Runs `python -m pip --python <venv> <args>` in the app directory. `shown` replaces args in the log line. */
export async function runPip(step: InstallStep, args: readonly string[], env = step.env, shown: (arg: string) => string = (a) => a): Promise<void> {
  const { inputs, log } = step;
  log.info(`Running: pip ${args.map(shown).join(' ')}`);
  const pip = await pipCommand(step, env);
  // Python 2 has no venv: its environment is a plain prefix that pip installs into (src/layers/site-packages.ts).
  const into = step.prefixInstall && args[0] === 'install' ? ['--prefix', step.venvDir, '--no-warn-script-location'] : [];
  const deferred = args[0] === 'install' && step.deferredBytecode ? ['--no-compile'] : [];
  if (deferred.length) step.deferredBytecode!.pending = true;
  await runOrThrow(pip.command, [...pip.args, ...args, ...into, ...deferred], { cwd: step.appDir, env: pip.env.toRecord(), onOutput: (c) => log.commandOutput(c) }).catch(async (e: unknown) => {
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

/**
 * pip compiles each installed module's bytecode in its own process, one file after another: 4.1 s
 * of a 6.6 s install of the 40-package Django app here. compileall with -j0 compiles the same
 * files on every core (2.5 s on 2 cores), so a pip install runs with --no-compile and this runs
 * after it. Only from Python 3.7, whose compileall has --invalidation-mode (checked-hash, the
 * same .pyc pip writes under SOURCE_DATE_EPOCH).
 */
export function bytecodeAfterInstall(pythonVersion: string): boolean {
  const [major, minor] = pythonVersion.split('.').map(Number);
  return major === 3 && (minor ?? 0) >= 7;
}

/** compileall over the venv's site-packages. PYTHONHASHSEED=0: the same bytes on every build (a
 *  set constant's order follows the string hashes). A file that is not valid Python for this
 *  version (exit 1) stays uncompiled, as pip leaves it. */
export async function compileDeferredBytecode(step: InstallStep, pythonVersion: string): Promise<void> {
  if (!step.deferredBytecode?.pending) return;
  const minor = pythonVersion.split('.').slice(0, 2).join('.');
  const sitePackages = path.join(step.venvDir, 'lib', `python${minor}`, 'site-packages');
  const args = ['-m', 'compileall', '-q', '-j0', '--invalidation-mode', 'checked-hash', sitePackages];
  const r = await run(step.venvPython, args, { env: step.env.with({ PYTHONHASHSEED: '0' }).toRecord(), keepLines: 20 });
  if (r.exitCode > 1) throw new CommandFailed(step.venvPython, args, r.exitCode, r.tail);
  const skipped = r.tail.filter((l) => l.startsWith('*** Error compiling')).length;
  step.log.info(`Compiled the packages' bytecode (checked-hash) on every core in ${formatDuration(r.ms)}${r.exitCode === 1 ? `; ${skipped || 'some'} ${skipped === 1 ? 'file is' : 'files are'} not valid Python ${minor} and stay uncompiled, as pip leaves them` : ''}`);
}

/**
 * For Pythons without hash-based .pyc (2.7, 3.6), pip wrote timestamp .pyc against this build's
 * mtimes, which the exporter resets: src/runtime/stdlib-bytecode.ts (stampLegacyBytecode) gives the
 * sources the exporter's mtime and their .pyc the same, so they stay valid in the image.
 */
export async function stampTimestampBytecode(step: InstallStep, pythonVersion: string): Promise<void> {
  const minor = pythonVersion.split('.').slice(0, 2).join('.');
  if (!timestampBytecodeOnly(minor)) return;
  const started = Date.now();
  const sitePackages = path.join(step.venvDir, 'lib', `python${minor}`, 'site-packages');
  const r = await stampLegacyBytecode(step.python, sitePackages);
  const skipped = r.uncompilable ? `; ${r.uncompilable} .py do not compile on Python ${minor} and stay without` : '';
  step.log.info(`Python ${minor} writes timestamp bytecode only: the packages' sources now carry the mtime the exporter gives every file, and their .pyc record it (${r.restamped} re-stamped, ${r.compiled} compiled${skipped}), so they stay valid in the image, in ${formatDuration(Date.now() - started)}`);
}

/**
 * Updates a venv in place to what `source` (`--requirement requirements.txt`) requires: pip
 * resolves the whole set as for an empty venv (`--dry-run --ignore-installed --report`, from the
 * cache and the index, nothing installed), the distributions outside it are uninstalled, then
 * `pip install` installs what is missing or at another version (pip compiles what it installs).
 * The result holds the distributions a fresh install would, without unpacking and compiling the
 * unchanged ones again. pip 22.2+ (--report), so Python 3.7+ (see bytecodeAfterInstall).
 */
export async function syncWithPip(step: InstallStep, source: readonly string[]): Promise<void> {
  const reportFile = path.join(step.tmp, 'resolved.json');
  await runPip(step, [...pipInstallCommon(step.inputs), '--dry-run', '--ignore-installed', '--quiet', '--report', reportFile, ...source]);
  const resolved = new Set(parsePipReport(await readFile(reportFile, 'utf8')).map(normalizeName));
  const installed = (await readInstalledDistributions(step.venvDir)).map((d) => d.name);
  const extraneous = [...new Set(installed.filter((name) => !resolved.has(normalizeName(name))))].sort();
  if (extraneous.length) {
    step.log.info(`Removing ${extraneous.length} ${extraneous.length === 1 ? 'package' : 'packages'} no longer required: ${listing(extraneous)}`);
    await runPip(step, ['uninstall', '--yes', '--quiet', ...extraneous]);
  }
  await runPip(step, [...pipInstallCommon(step.inputs), ...source]);
}

/** The names of the distributions in a pip installation report (https://pip.pypa.io/en/stable/reference/installation-report/). */
export function parsePipReport(text: string): string[] {
  const report = JSON.parse(text) as { install?: Array<{ metadata?: { name?: unknown } }> };
  return (report.install ?? []).map((item) => item.metadata?.name).filter((n): n is string => typeof n === 'string');
}
