// What decides the contents of the site-packages layer, and how pip is asked to install it. Pure:
// file contents in, references / hashes / argv / warnings out. The reading is in
// layers/site-packages.ts.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { UserError } from '../errors';
import { parsePipfileLock } from './pipfile-lock';

/** Files pulled in by a requirements file: -r/--requirement and -c/--constraint (relative to it). */
export function referencedFiles(requirementsPath: string, text: string): string[] {
  const out: string[] = [];
  for (const raw of logicalLines(text)) {
    const m = /^(?:-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?=[^\s-]))(\S+)/.exec(raw);
    // An absolute path stays absolute (joined, /etc/passwd would become etc/passwd inside the app);
    // a relative one is relative to the file that names it, as pip reads it.
    if (m && !/^[a-z]+:\/\//i.test(m[1]!)) out.push(path.posix.isAbsolute(m[1]!) ? path.posix.normalize(m[1]!) : path.posix.normalize(path.posix.join(path.posix.dirname(requirementsPath), m[1]!)));
  }
  return out;
}

/** Lines with comments stripped and backslash continuations joined, as pip reads them. */
export function logicalLines(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, '');
  return joined
    .split(/\r?\n/)
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter((l) => l !== '');
}

/**
 * Requirements that are not pinned to one version (`flask`, `flask>=2`): a reused environment can
 * drift from what a fresh install would give. URLs, paths, editables and options are not counted.
 * Linear in the input: anchored patterns whose repeated parts cannot overlap (a line of 400,000
 * `=` must not make a backtracking engine try every split).
 */
export function unpinnedRequirements(text: string): string[] {
  const out: string[] = [];
  for (const line of logicalLines(text)) {
    if (line.startsWith('-') || /^[a-z+]+:\/\//i.test(line) || line.startsWith('.') || line.startsWith('/') || line.includes(' @ ')) continue;
    const spec = line.split(';')[0]!.split(/\s--hash/)[0]!.trim();
    const name = /^[A-Za-z0-9._-]+(\[[^\]]*\])?/.exec(spec)?.[0];
    if (!name) continue;
    if (!isExactPin(spec.slice(name.length))) out.push(name);
  }
  return out;
}

/** `==1.2.3` / `=== 1.2.3` (and nothing else): one exact version, no wildcard, no second clause. */
function isExactPin(rest: string): boolean {
  const m = /^\s*===?\s*/.exec(rest);
  if (!m) return false;
  const version = rest.slice(m[0].length);
  return version !== '' && !/[\s*,<>~!=]/.test(version);
}

/** sha256 over the inputs in the given (fixed) order: name, NUL, content, NUL for each. */
export function hashInputs(inputs: ReadonlyArray<{ name: string; bytes: Buffer }>, extra: readonly string[] = []): string {
  const h = createHash('sha256');
  for (const i of inputs) {
    h.update(i.name).update('\0').update(i.bytes).update('\0');
  }
  for (const e of extra) h.update(e).update('\0');
  return h.digest('hex');
}

/**
 * Pipfile.lock -> pip requirements that install exactly the locked set, as pipenv does: every
 * package with hashes pinned with all of them and its markers (`hashed`: one pip pass with
 * --require-hashes), and the entries that cannot carry hashes (editable, path, file and VCS
 * entries, and any version locked without hashes) in `other` (a second pass). The lock is a full
 * closure, so both passes run with --no-deps.
 */
export function pipfileLockToRequirements(lockText: string, includeDevelop: boolean): { hashed: string[]; other: string[]; sources: string[] } {
  const lock = parsePipfileLock(lockText);
  const packages = { ...(lock.default ?? {}), ...(includeDevelop ? (lock.develop ?? {}) : {}) };
  const hashed: string[] = [];
  const other: string[] = [];
  for (const [name, p] of Object.entries(packages).sort(([a], [b]) => a.localeCompare(b))) {
    const extras = p.extras?.length ? `[${p.extras.join(',')}]` : '';
    const marker = p.markers ? ` ; ${p.markers}` : '';
    if (p.git) {
      other.push(`${p.editable ? '-e ' : ''}git+${p.git.replace(/^git\+/, '')}${p.ref ? `@${p.ref}` : ''}#egg=${name}`);
    } else if (p.path || p.file) {
      const where = p.path ?? p.file!;
      other.push(`${p.editable ? '-e ' : ''}${where}`);
    } else if (p.version) {
      const hashes = (p.hashes ?? []).map((h) => ` --hash=${h}`).join('');
      (hashes ? hashed : other).push(`${name}${extras}${p.version}${marker}${hashes}`);
    } else {
      throw new UserError('Unsupported entry in Pipfile.lock', [`The locked package "${name}" has no version, git or path.`, 'Regenerate the lock with `pipenv lock`.']);
    }
  }
  const sources = (lock._meta?.sources ?? []).map((s) => s.url).filter((u): u is string => typeof u === 'string');
  return { hashed, other, sources };
}

/** Expands ${VAR} in a Pipfile source URL from the build env, as pipenv does. */
export function expandEnv(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => env[name] ?? '');
}

/**
 * pipenv's content hash of a Pipfile (_meta.hash.sha256 in the lock): sha256 of the JSON of
 * {_meta: {sources, requires}, default: packages, develop: dev-packages} with sorted keys and no
 * spaces (pipenv's plette: Pipfile.get_hash).
 */
export function pipfileHash(pipfile: Record<string, unknown>): string {
  const data = {
    _meta: { sources: pipfile.source ?? [], requires: pipfile.requires ?? {} },
    default: pipfile.packages ?? {},
    develop: pipfile['dev-packages'] ?? {},
  };
  return createHash('sha256').update(stableJson(data)).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The lines pip printed that say what failed ("ERROR: ..."), for the error message: at most 12, each shortened. */
export function pipErrorLines(tail: readonly string[]): string[] {
  const errors = tail.filter((l) => /^\s*(ERROR|error):/.test(l) || /^\s*×/.test(l) || /╰─>/.test(l));
  const chosen = errors.length ? errors : tail.slice(-5);
  const shown = chosen.slice(-12).map((l) => shorten(l.trimEnd(), 400));
  return chosen.length > 12 ? [`(${chosen.length - 12} earlier lines like these not shown)`, ...shown] : shown;
}

function shorten(line: string, max: number): string {
  return line.length > max ? `${line.slice(0, max)}… (${line.length - max} more characters)` : line;
}
