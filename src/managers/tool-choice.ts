// Which release of a build tool runs on the chosen Python. Pure. Every pinned tool says which
// Pythons it runs on: a pip or uv wheel by its manifest entry's `requires-python` (copied from the
// wheel's METADATA), Poetry and Pipenv by buildpack.toml's `<tool>-requires-python`. pip is pinned
// once per Python line (26.x for the supported lines, the last release for each older one), so the
// newest pinned pip that admits the runtime is chosen; the other tools have one release, and a
// Python it does not run on is an input error, raised before anything is downloaded.
import * as pep440 from '@renovatebot/pep440';
import { UserError } from '../errors';
import { listing } from '../log';
import type { Dependency } from '../python/manifest';

/** The wheel's Requires-Python, when its manifest entry records one (an entry without admits every Python). */
export function requiresPython(entry: Dependency): string | undefined {
  return entry['requires-python']?.trim() || undefined;
}

/** Does a Requires-Python specifier admit this Python? An unreadable one admits (the installer has the last word). */
export function admits(specifier: string | undefined, pythonVersion: string): boolean {
  if (!specifier) return true;
  try {
    return pep440.validRange(specifier) ? pep440.satisfies(pythonVersion, specifier) : true;
  } catch {
    return true;
  }
}

export interface PipChoice {
  entry: Dependency;
  /** For the log: which pip, and why. */
  reason: string;
}

/**
 * The newest pinned pip, not newer than buildpack.toml's pip-version (the default), whose
 * Requires-Python admits the runtime. `pinned` is every pip entry for the target.
 */
export function choosePip(pinned: readonly Dependency[], defaultVersion: string, pythonVersion: string): PipChoice {
  const candidates = pinned.filter((e) => pep440.valid(e.version) && pep440.lte(e.version, defaultVersion)).sort((a, b) => pep440.rcompare(a.version, b.version));
  const index = candidates.findIndex((e) => admits(requiresPython(e), pythonVersion));
  const entry = candidates[index];
  if (!entry) {
    throw new UserError(`No pinned pip runs on Python ${pythonVersion}`, [
      `The pinned pip releases need: ${listing(candidates.map(describe))}.`,
      `Python ${pythonVersion} is older than any of them supports.`,
      'Ask for a newer Python (runtime.txt, .python-version or BP_PYTHON_VERSION), or add a pip wheel that supports it to BP_PYTHON_MANIFEST (id "pip", with requires-python).',
    ]);
  }
  const spec = requiresPython(entry);
  const admitted = spec ? `whose Requires-Python ${spec} admits Python ${pythonVersion}` : `(its manifest entry sets no Requires-Python), for Python ${pythonVersion}`;
  if (index === 0) return { entry, reason: `Using pip ${entry.version}, the pinned default, ${admitted}` };
  const newer = candidates[index - 1]!;
  return { entry, reason: `Using pip ${entry.version}, the newest pinned pip ${admitted}; pip ${newer.version} needs ${requiresPython(newer)}` };
}

function describe(e: Dependency): string {
  return `pip ${e.version} ${requiresPython(e) ?? '(any Python)'}`;
}

/**
 * A tool with one pinned release (uv, Poetry, Pipenv) must run on the chosen Python: else a titled
 * error that says so and how to go on (a newer Python, or requirements.txt, which pip installs).
 */
export function checkToolRunsOn(tool: { name: string; version: string; requiresPython?: string }, pythonVersion: string, manager: string): void {
  if (admits(tool.requiresPython, pythonVersion)) return;
  throw new UserError(`${tool.name} ${tool.version} needs Python ${tool.requiresPython}; this app uses Python ${pythonVersion}`, [
    `The app's dependencies are installed with ${manager}, and the ${tool.name} release this buildpack pins (${tool.version}) does not run on Python ${pythonVersion}.`,
    `Ask for a Python that ${tool.requiresPython} admits (runtime.txt, .python-version or BP_PYTHON_VERSION), or export the dependencies to requirements.txt (which pip installs on any Python this buildpack provides) and remove the ${manager} files.`,
  ]);
}
