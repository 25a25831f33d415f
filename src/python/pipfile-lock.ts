// Pipfile.lock, read once and checked against pipenv's schema during analysis, before any
// download: a value of the wrong type (`null` for the lock or a package, sources as a string,
// hashes as a string, an array for the whole lock) is a titled error naming the file, the path
// inside it and the fix, never a TypeError after Python is installed. Every string that ends up in
// the generated requirements file is one line without NUL, so a lock cannot smuggle pip options
// (`--index-url ...`) in on a line of its own. Pure.
//
// Hand-written rather than zod: detect reads the lock's Python version through this module, and
// the detect bundle stays without zod (it must start in well under 80 ms).
import { UserError, printable } from '../errors';

export interface LockedPackage {
  version?: string;
  hashes?: string[];
  markers?: string;
  extras?: string[];
  git?: string;
  ref?: string;
  path?: string;
  file?: string;
  editable?: boolean;
  index?: string;
  subdirectory?: string;
}

export interface PipfileLock {
  _meta?: {
    hash?: { sha256?: string };
    requires?: Record<string, unknown> & { python_version?: string; python_full_version?: string };
    sources?: Array<{ url: string; name?: string; verify_ssl?: boolean }>;
  };
  default?: Record<string, LockedPackage>;
  develop?: Record<string, LockedPackage>;
}

type Path = ReadonlyArray<string | number>;
interface Problem {
  path: Path;
  text: string;
}

const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,200}[A-Za-z0-9])?$/;
const SPECIFIER = /^(===?|~=|!=|<=|>=|<|>)\s*\S+$/;
const HASH = /^(sha256|sha384|sha512|md5):[0-9a-fA-F]{32,128}$/;
const LINE_FIELDS = ['markers', 'git', 'ref', 'path', 'file', 'index', 'subdirectory'] as const;

/** Where in the JSON, as a reader would write it: `default.requests.hashes[0]`. */
export function jsonPath(path: Path): string {
  if (path.length === 0) return '(the whole file)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(p) ? `${i ? '.' : ''}${p}` : `[${printable(JSON.stringify(p), 80)}]`)).join('');
}

/** A found value, briefly: `null`, `an array`, `string "x"`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${printable(JSON.stringify(value) ?? String(value), 60)}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Collects what is wrong with the lock (the first problems; the count of the rest). */
class Checker {
  readonly problems: Problem[] = [];

  wrongType(path: Path, expected: string, found: unknown): void {
    this.problems.push({ path, text: `expected ${expected}, found ${describeValue(found)}` });
  }

  invalid(path: Path, found: unknown, why: string): void {
    this.problems.push({ path, text: `${describeValue(found)} ${why}` });
  }

  object(v: unknown, path: Path): v is Record<string, unknown> {
    if (isObject(v)) return true;
    this.wrongType(path, 'an object', v);
    return false;
  }

  /** An optional one-line string (what may go into a requirements file line). */
  line(v: unknown, path: Path, pattern?: RegExp, what?: string): void {
    if (v === undefined) return;
    if (typeof v !== 'string') return this.wrongType(path, 'a string', v);
    if (v.length > 4096) return this.invalid(path, v, 'is longer than 4096 characters');
    if (/[\r\n\0]/.test(v)) return this.invalid(path, v, 'contains a line break or a NUL byte');
    if (pattern && !pattern.test(v)) this.invalid(path, v, `is not ${what}`);
  }

  strings(v: unknown, path: Path, pattern: RegExp, what: string): void {
    if (v === undefined) return;
    if (!Array.isArray(v)) return this.wrongType(path, 'an array', v);
    v.forEach((x, i) => this.line(x, [...path, i], pattern, what));
  }

  packages(v: unknown, path: Path): void {
    if (v === undefined || !this.object(v, path)) return;
    for (const [name, p] of Object.entries(v)) {
      const at = [...path, name];
      if (!NAME.test(name)) this.invalid(at, name, 'is not a package name (letters, digits, ".", "_", "-")');
      if (!this.object(p, at)) continue;
      this.line(p.version, [...at, 'version'], SPECIFIER, 'a version specifier such as "==1.2.3"');
      this.strings(p.hashes, [...at, 'hashes'], HASH, 'a hash such as "sha256:<64 hex digits>"');
      this.strings(p.extras, [...at, 'extras'], NAME, 'an extra name');
      for (const f of LINE_FIELDS) this.line(p[f], [...at, f]);
      if (p.editable !== undefined && typeof p.editable !== 'boolean') this.wrongType([...at, 'editable'], 'a boolean', p.editable);
    }
  }

  meta(v: unknown): void {
    const at = ['_meta'];
    if (v === undefined || !this.object(v, at)) return;
    if (v.hash !== undefined && this.object(v.hash, [...at, 'hash']) && v.hash.sha256 !== undefined && typeof v.hash.sha256 !== 'string') this.wrongType([...at, 'hash', 'sha256'], 'a string', v.hash.sha256);
    if (v.requires !== undefined) this.object(v.requires, [...at, 'requires']);
    if (v.sources === undefined) return;
    if (!Array.isArray(v.sources)) return this.wrongType([...at, 'sources'], 'an array', v.sources);
    v.sources.forEach((s, i) => {
      const sp = [...at, 'sources', i];
      if (!this.object(s, sp)) return;
      if (typeof s.url !== 'string') this.wrongType([...sp, 'url'], 'a string', s.url);
      else this.line(s.url, [...sp, 'url']);
      if (s.verify_ssl !== undefined && typeof s.verify_ssl !== 'boolean') this.wrongType([...sp, 'verify_ssl'], 'a boolean', s.verify_ssl);
    });
  }
}

/** Parses and validates Pipfile.lock; throws a titled UserError naming the place and the fix. */
export function parsePipfileLock(text: string): PipfileLock {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError('Pipfile.lock is not valid JSON', [`Pipfile.lock could not be parsed: ${printable((e as Error).message, 200)}.`, 'Regenerate it with `pipenv lock` and commit the result.']);
  }
  const check = new Checker();
  if (check.object(raw, [])) {
    check.meta(raw._meta);
    check.packages(raw.default, ['default']);
    check.packages(raw.develop, ['develop']);
  }
  const [first, ...rest] = check.problems;
  if (!first) return raw as PipfileLock;
  throw new UserError('Invalid Pipfile.lock', [
    `Pipfile.lock ${jsonPath(first.path)}: ${first.text}${rest.length ? ` (and ${rest.length} more problems)` : ''}.`,
    'Pipfile.lock must be the JSON that pipenv writes: an object with "_meta", "default" and "develop", each package an object with "version" and "hashes".',
    'Regenerate it with `pipenv lock` and commit the result.',
  ]);
}
