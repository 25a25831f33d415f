// Whether poetry.lock still matches pyproject.toml, decided during analysis (pure), so that a stale
// lock fails before anything is downloaded, Poetry itself included. Poetry records in
// poetry.lock's [metadata] `content-hash` the sha256 of the parts of pyproject.toml that decide
// the lock, serialised by Python's `json.dumps(..., sort_keys=True)`; `poetry check --lock`
// compares it with the hash of the current pyproject.toml. This is the same computation as the
// pinned Poetry's (poetry 2.5.1, poetry/packages/locker.py, Locker._get_content_hash). The build
// still runs `poetry check --lock` afterwards (the authority); here, only a certain mismatch is
// an error: a document with numbers or dates in those parts (which JSON cannot round-trip the way
// Python prints them) or a lock without a content-hash is left to Poetry.
import { createHash } from 'node:crypto';

type Table = Record<string, unknown>;

const LEGACY_KEYS = ['dependencies', 'source', 'extras', 'dev-dependencies'];
const RELEVANT_KEYS = [...LEGACY_KEYS, 'group'];
const RELEVANT_PROJECT_KEYS = ['requires-python', 'dependencies', 'optional-dependencies'];

const asTable = (v: unknown): Table => (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) ? (v as Table) : {});

/** What Poetry hashes (locker.py, _get_content_hash): [project]'s relevant keys, [dependency-groups],
 *  and [tool.poetry]'s, the legacy ones as null when absent in a [tool.poetry]-only project. */
export function poetryRelevantContent(pyproject: Table, withDependencyGroups: boolean): Table {
  const project = asTable(pyproject.project);
  const groups = withDependencyGroups ? asTable(pyproject['dependency-groups']) : {};
  const toolPoetry = asTable(asTable(pyproject.tool).poetry);
  const relevantProject: Table = {};
  for (const key of RELEVANT_PROJECT_KEYS) if (project[key] !== undefined) relevantProject[key] = project[key];
  const hasProject = Object.keys(relevantProject).length > 0;
  const hasGroups = Object.keys(groups).length > 0;
  const relevantPoetry: Table = {};
  for (const key of RELEVANT_KEYS) {
    const data = toolPoetry[key];
    if (data === undefined && (!LEGACY_KEYS.includes(key) || hasProject || hasGroups)) continue;
    relevantPoetry[key] = data ?? null;
  }
  const content: Table = {};
  if (hasProject) content.project = relevantProject;
  if (hasGroups) content['dependency-groups'] = groups;
  if (Object.keys(content).length === 0) return relevantPoetry; // Poetry's backwards-compatible top level
  content.tool = { poetry: relevantPoetry };
  return content;
}

/** Only values Python's json.dumps prints as JSON.stringify would (strings, booleans, null, arrays, tables). */
function jsonSafe(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (Array.isArray(v)) return v.every(jsonSafe);
  if (typeof v === 'object' && !(v instanceof Date)) return Object.values(v as Table).every(jsonSafe);
  return false; // numbers (1.0 prints as 1), dates, bigints
}

function byCodePoint(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** A JSON string as Python's json.dumps writes it (ensure_ascii: everything outside space..~ escaped). */
function pythonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Python's `json.dumps(value, sort_keys=True)` (separators ", " and ": "), for jsonSafe values. */
export function pythonJsonDumps(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return pythonString(v);
  if (Array.isArray(v)) return `[${v.map(pythonJsonDumps).join(', ')}]`;
  const t = v as Table;
  return `{${Object.keys(t).sort(byCodePoint).map((k) => `${pythonString(k)}: ${pythonJsonDumps(t[k])}`).join(', ')}}`;
}

export function poetryContentHash(pyproject: Table, withDependencyGroups = true): string | undefined {
  const content = poetryRelevantContent(pyproject, withDependencyGroups);
  if (!jsonSafe(content)) return undefined;
  return createHash('sha256').update(pythonJsonDumps(content), 'utf8').digest('hex');
}

/**
 * stale: the lock's content-hash is neither the hash of this pyproject.toml nor the one without
 * [dependency-groups] (Poetry before 2.3 left them out); fresh: it is one of them; unknown: no
 * content-hash, or content this check cannot hash exactly (Poetry decides).
 */
export function poetryLockFreshness(pyproject: Table, lock: Table): { state: 'fresh' | 'unknown' } | { state: 'stale'; locked: string; current: string } {
  const locked = asTable(lock.metadata)['content-hash'];
  const current = poetryContentHash(pyproject, true);
  if (typeof locked !== 'string' || current === undefined) return { state: 'unknown' };
  if (locked === current || locked === poetryContentHash(pyproject, false)) return { state: 'fresh' };
  return { state: 'stale', locked, current };
}
