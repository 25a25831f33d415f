// Which exact CPython to install. Pure: the app's version requests (highest priority first, see
// version-request.ts), other buildpacks' constraints from the Buildpack Plan, and the manifest
// entries for the target in; one manifest entry (or a UserError listing what is available) out.
import * as pep440 from '@renovatebot/pep440';
import semver from 'semver';
import { UserError, printable } from '../errors';
import { listing } from '../log';
import END_OF_LIFE from './end-of-life.json';
import { deprecationDate, type Dependency } from './manifest';
import type { VersionRequest } from './version-request';
import { isSourceEntry } from './source-plan';

const EOL_DAYS: Readonly<Record<string, string>> = END_OF_LIFE.minors;

/** The day a minor's upstream security fixes stopped (or stop), from end-of-life.json; undefined for a minor it does not list. */
export function endOfLife(minor: string): Date | undefined {
  const day = EOL_DAYS[minor];
  return day ? new Date(`${day}T00:00:00Z`) : undefined;
}

/** An entry's end of life: its own deprecation_date (an operator's may differ), else the table's date for its minor. */
function endOfLifeOf(e: Dependency): Date | undefined {
  return deprecationDate(e) ?? endOfLife(minorOf(e.version));
}

/** Is a minor past its end of life? Minors older than every one the table lists (3.5, 2.6) are. */
function isPastEndOfLife(minor: string, today: Date): boolean {
  const eol = endOfLife(minor);
  if (eol) return eol.getTime() <= today.getTime();
  const oldestListed = Object.keys(EOL_DAYS).filter((m) => m.split('.')[0] === minor.split('.')[0]).sort(compareVersions)[0];
  return oldestListed === undefined ? Number(minor.split('.')[0]) < 3 : compareVersions(minor, oldestListed) < 0;
}

export interface PlanConstraint {
  /** As another buildpack wrote it: "3.12", "3.12.*", ">=3.11", "~3.12" (semver, Paketo style). */
  constraint: string;
  origin: string;
}

export interface Resolution {
  entry: Dependency;
  version: string;
  /** The request that decided, or undefined when the default was used. */
  request?: VersionRequest;
  /** Human lines for the log: why this version. */
  notes: string[];
  warnings: Array<{ title: string; body: string[] }>;
}

const STABLE = /^\d+\.\d+\.\d+$/;

function parts(v: string): number[] {
  return v.split('.').map(Number);
}
function compareVersions(a: string, b: string): number {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
const minorOf = (v: string) => v.split('.').slice(0, 2).join('.');

/** Does `version` (X.Y.Z) satisfy a request spec ("3.12", "3.12.4", or a PEP 440 specifier)? */
export function satisfiesRequest(version: string, request: Pick<VersionRequest, 'spec' | 'kind'>): boolean {
  if (request.kind === 'specifier') {
    try {
      return pep440.satisfies(version, request.spec);
    } catch {
      return false; // version-request.ts already refuses the specifiers the library cannot evaluate
    }
  }
  return request.spec.split('.').length === 2 ? minorOf(version) === request.spec : version === request.spec;
}

/** Does `version` satisfy another buildpack's constraint? Bare versions, PEP 440, then semver. */
export function satisfiesConstraint(version: string, constraint: string): boolean | undefined {
  const c = constraint.trim().replace(/\.(x|\*)$/i, '');
  // Another buildpack's text: long or huge-numbered ranges are unreadable, not a reason to hang or crash.
  if (c.length > 200 || /\d{10}/.test(c)) return undefined;
  if (/^\d+\.\d+$/.test(c)) return minorOf(version) === c;
  if (/^\d+\.\d+\.\d+$/.test(c)) return version === c;
  try {
    if (pep440.validRange(c)) return pep440.satisfies(version, c);
    if (semver.validRange(c)) return semver.satisfies(version, c);
  } catch {
    return undefined; // the libraries throw on some inputs they accept as valid
  }
  return undefined;
}

/**
 * Does `version` satisfy a project's own constraint: PEP 440 (requires-python) or Poetry's syntax
 * (`^3.11`, `~3.11`, `>=3.10,<3.13`, `3.11.*`, alternatives joined by `||`)? Undefined when the
 * constraint cannot be read (the package tool then has the last word).
 */
export function satisfiesProjectConstraint(version: string, constraint: string): boolean | undefined {
  const alternatives = constraint.split('||').map((a) => a.trim());
  const verdicts = alternatives.map((a): boolean | undefined => {
    if (a === '*' || a === '') return true;
    if (pep440.validRange(a)) return pep440.satisfies(version, a);
    const range = semver.validRange(a.replace(/\s*,\s*/g, ' ').replace(/==/g, '='));
    return range ? semver.satisfies(version, range) : undefined;
  });
  if (verdicts.some((v) => v === true)) return true;
  return verdicts.some((v) => v === undefined) ? undefined : false;
}

/** "3.13 (3.13.0 to 3.13.15), 3.12 (...)" for error messages. */
export function describeAvailable(entries: readonly Dependency[]): string {
  const byMinor = new Map<string, string[]>();
  for (const v of [...new Set(entries.map((e) => e.version).filter((v) => STABLE.test(v)))].sort(compareVersions).reverse()) {
    const list = byMinor.get(minorOf(v)) ?? [];
    list.push(v);
    byMinor.set(minorOf(v), list);
  }
  return [...byMinor].map(([minor, vs]) => (vs.length === 1 ? vs[0]! : `${minor} (${vs[vs.length - 1]} to ${vs[0]})`)).join(', ');
}

export function resolvePython(input: {
  requests: readonly VersionRequest[];
  constraints: readonly PlanConstraint[];
  available: readonly Dependency[];
  arch: string;
  defaultVersion?: string;
  today: Date;
}): Resolution {
  // Newest first; of one version, a prebuilt archive before a source tarball (compiling is the fallback).
  const stable = input.available.filter((e) => STABLE.test(e.version)).sort((a, b) => compareVersions(b.version, a.version) || Number(isSourceEntry(a)) - Number(isSourceEntry(b)));
  const availableText = `Available for ${input.arch}: ${describeAvailable(stable) || '(none)'}.`;
  if (stable.length === 0) {
    throw new UserError(`No Python runtime available for ${input.arch}`, ['The dependency manifest has no CPython for this architecture.', 'Add entries with BP_PYTHON_MANIFEST, or build on a supported architecture (amd64, arm64).']);
  }
  const isSupported = (e: Dependency) => (endOfLifeOf(e)?.getTime() ?? Infinity) > input.today.getTime();
  const meetsConstraints = (v: string) => input.constraints.every((c) => satisfiesConstraint(v, c.constraint) !== false);
  for (const c of input.constraints) {
    if (satisfiesConstraint('3.0.0', c.constraint) === undefined) {
      throw new UserError('Unreadable Python version constraint in the build plan', [`${c.origin} requires python version "${printable(c.constraint)}", which is neither a version, a PEP 440 specifier nor a semver range.`]);
    }
  }

  const [request, ...lower] = input.requests;
  const notes: string[] = [];
  const warnings: Resolution['warnings'] = [];
  let entry: Dependency | undefined;

  if (request) {
    const matching = stable.filter((e) => satisfiesRequest(e.version, request));
    // For a specifier, the newest *supported* match: an open range must not pick an EOL minor
    // just because it is listed, nor a newer one an operator has deprecated.
    entry = request.kind === 'specifier' ? (matching.find(isSupported) ?? matching[0]) : matching[0];
    if (!entry) throw unavailable(request, stable, input.arch, availableText, input.today);
    notes.push(`${request.origin} asks for ${request.spec}: ${entry.version}`);
    const conflict = input.constraints.find((c) => satisfiesConstraint(entry!.version, c.constraint) === false);
    if (conflict) {
      throw new UserError('Conflicting Python version requirements', [
        `${request.origin} asks for Python ${request.spec} (${entry.version}), but ${conflict.origin} requires "${printable(conflict.constraint)}".`,
        'Change the app\'s version (or the other buildpack\'s configuration) so that one version satisfies both.',
        availableText,
      ]);
    }
    for (const other of lower) {
      if (!satisfiesRequest(entry.version, other)) {
        warnings.push({
          title: 'Python version sources disagree',
          body: [`${request.origin} asks for ${request.spec}, but ${other.origin} asks for ${other.spec}.`, `Using ${entry.version} from ${request.origin}, which takes precedence. Make them agree (or delete one) to avoid surprises.`],
        });
      }
    }
    if (request.kind === 'version' && request.spec.split('.').length === 3) {
      const newest = stable.find((e) => minorOf(e.version) === minorOf(request.spec));
      if (newest && newest.version !== request.spec) notes.push(`A newer patch release is available: ${newest.version} (security and bug fixes); ask for ${minorOf(request.spec)} to always get the newest`);
    }
  } else if (input.constraints.length > 0) {
    entry = stable.find((e) => isSupported(e) && meetsConstraints(e.version)) ?? stable.find((e) => meetsConstraints(e.version));
    if (!entry) {
      throw new UserError('Conflicting Python version requirements', [`No available Python satisfies every requirement: ${quoteConstraints(input.constraints)}.`, availableText]);
    }
    notes.push(`No version requested by the app; ${listing(input.constraints.map((c) => `${c.origin} requires ${printable(c.constraint)}`))}: ${entry.version}`);
  } else {
    const wanted = input.defaultVersion;
    entry = wanted
      ? stable.find((e) => satisfiesRequest(e.version, { spec: wanted, kind: 'version' }))
      : (stable.find(isSupported) ?? stable[0]);
    if (!entry) throw new UserError('The default Python version is not available', [`The configured default is ${wanted}, which is not in the manifest.`, availableText]);
    notes.push(`No version requested: using the default, ${entry.version}${wanted ? ` (the operator's default ${wanted})` : ' (the newest stable release)'}`);
  }

  if (isSourceEntry(entry)) notes.push(`Python ${entry.version} has no prebuilt archive for ${input.arch}: it will be compiled from its python.org source`);
  const eol = endOfLifeOf(entry);
  if (eol && eol.getTime() <= input.today.getTime()) {
    const newest = stable.find(isSupported);
    warnings.push({
      title: `Python ${minorOf(entry.version)} has reached end-of-life`,
      body: [
        `Python ${minorOf(entry.version)} stopped receiving security fixes on ${day(eol)}. It still builds, but gets no fixes, and packages are dropping support for it.`,
        newest ? `The newest supported version is ${newest.version}: upgrade the app and ask for ${minorOf(newest.version)} (runtime.txt, .python-version or BP_PYTHON_VERSION).` : 'Upgrade the app to a supported version.',
      ],
    });
  }
  return { entry, version: entry.version, request, notes, warnings };
}

const day = (d: Date) => d.toISOString().slice(0, 10);

function unavailable(request: VersionRequest, stable: readonly Dependency[], arch: string, availableText: string, today: Date): UserError {
  const where = `${request.origin} asks for Python ${request.spec}`;
  if (request.kind === 'specifier') {
    return new UserError('No Python version matches requires-python', [`${where}, and no available version satisfies it.`, availableText, 'Widen requires-python, or add a runtime.txt / .python-version naming one of the versions above.']);
  }
  const [major, minor] = request.spec.split('.').map(Number) as [number, number];
  const newestKnown = stable[0]!.version;
  // An end-of-life minor is refused only when the manifest has no build of it (an operator's or a
  // source entry makes it installable, with the warning above).
  const wanted = `${major}.${minor}`;
  if (!stable.some((e) => minorOf(e.version) === wanted) && isPastEndOfLife(wanted, today)) {
    const eol = endOfLife(wanted);
    const since = eol ? `stopped receiving security fixes on ${day(eol)}` : 'no longer receives security fixes';
    return new UserError(`Python ${wanted} has reached end-of-life`, [`${where}, which ${since} and is not provided by this buildpack.`, availableText, `Upgrade the app and ask for a supported version, for example ${minorOf(newestKnown)}.`]);
  }
  if (compareVersions(request.spec, newestKnown) > 0 && !stable.some((e) => minorOf(e.version) === `${major}.${minor}`)) {
    return new UserError(`Python ${request.spec} is not available yet`, [`${where}, which is newer than any version this buildpack knows (the newest is ${newestKnown}).`, availableText, 'Check the version for typos, or ask for one of the versions above.']);
  }
  return new UserError(`Python ${request.spec} is not available for ${arch}`, [`${where}, but the manifest has no such build for ${arch}.`, availableText, `Ask for ${minorOf(request.spec)} to get its newest available patch, or one of the versions above.`]);
}

/** The plan's constraints for a message: a few, each shortened, and how many more there were. */
function quoteConstraints(constraints: readonly PlanConstraint[]): string {
  const shown = constraints.slice(0, 5).map((c) => `"${printable(c.constraint)}" (${c.origin})`).join(', ');
  return constraints.length > 5 ? `${shown} and ${constraints.length - 5} more` : shown;
}
