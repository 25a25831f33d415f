// Pipfile.lock, read once and checked against pipenv's schema (zod) during analysis, before any
// download: a value of the wrong type (`null` for the lock or a package, sources as a string,
// hashes as a string, an array for the whole lock) is a titled error naming the file, the path
// inside it and the fix, never a TypeError after Python is installed. Every string that ends up in
// the generated requirements file is one line without NUL, so a lock cannot smuggle pip options
// (`--index-url ...`) in on a line of its own. Pure.
import { z } from 'zod';
import { UserError, printable } from '../errors';

/** One line of printable text: what may go into a requirements file line. */
const Line = z.string().max(4096, 'is longer than 4096 characters').regex(/^[^\r\n\0]*$/, 'contains a line break or a NUL byte');
/** A PEP 508 distribution name (what pip accepts before `[extras]`). */
const Name = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,200}[A-Za-z0-9])?$/, 'is not a package name (letters, digits, ".", "_", "-")');

const LockedPackage = z
  .object({
    version: Line.regex(/^(===?|~=|!=|<=|>=|<|>)\s*\S+$/, 'is not a version specifier such as "==1.2.3"').optional(),
    hashes: z.array(z.string().regex(/^(sha256|sha384|sha512|md5):[0-9a-fA-F]{32,128}$/, 'is not a hash such as "sha256:<64 hex digits>"')).optional(),
    markers: Line.optional(),
    extras: z.array(Name).optional(),
    git: Line.optional(),
    ref: Line.optional(),
    path: Line.optional(),
    file: Line.optional(),
    editable: z.boolean().optional(),
    index: Line.optional(),
    subdirectory: Line.optional(),
  })
  .passthrough();
export type LockedPackage = z.infer<typeof LockedPackage>;

const Packages = z.record(z.string(), LockedPackage).superRefine((packages, ctx) => {
  for (const name of Object.keys(packages)) {
    if (!Name.safeParse(name).success) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: 'is not a package name (letters, digits, ".", "_", "-")' });
  }
});

export const PipfileLockSchema = z
  .object({
    _meta: z
      .object({
        hash: z.object({ sha256: z.string() }).passthrough().optional(),
        requires: z.object({ python_version: z.string().optional(), python_full_version: z.string().optional() }).passthrough().optional(),
        sources: z.array(z.object({ url: Line, name: z.string().optional(), verify_ssl: z.boolean().optional() }).passthrough()).optional(),
      })
      .passthrough()
      .optional(),
    default: Packages.optional(),
    develop: Packages.optional(),
  })
  .passthrough();
export type PipfileLock = z.infer<typeof PipfileLockSchema>;

/** Where in the JSON, as a reader would write it: `default.requests.hashes[0]`. */
export function jsonPath(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return '(the whole file)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(p) ? `${i ? '.' : ''}${p}` : `[${printable(JSON.stringify(p), 80)}]`)).join('');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${printable(JSON.stringify(value) ?? String(value), 60)}`;
}

function valueAt(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let v = root;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

/** Parses and validates Pipfile.lock; throws a titled UserError naming the place and the fix. */
export function parsePipfileLock(text: string): PipfileLock {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError('Pipfile.lock is not valid JSON', [`Pipfile.lock could not be parsed: ${printable((e as Error).message, 200)}.`, 'Regenerate it with `pipenv lock` and commit the result.']);
  }
  const result = PipfileLockSchema.safeParse(raw);
  if (result.success) return result.data;
  return invalid(`Pipfile.lock ${schemaProblem(raw, result.error.issues)}.`);
}

/** The first schema problem, where it is and what was found: `default.requests.hashes: expected an array, found string "x"`. */
export function schemaProblem(raw: unknown, issues: readonly z.ZodIssue[]): string {
  const first = issues[0]!;
  return `${jsonPath(first.path)}: ${issueText(first, valueAt(raw, first.path))}${issues.length > 1 ? ` (and ${issues.length - 1} more problems)` : ''}`;
}

function issueText(issue: z.ZodIssue, found: unknown): string {
  if (issue.code === z.ZodIssueCode.invalid_type) return `expected ${expectedText(issue.expected)}, found ${describe(found)}`;
  return `${describe(found)} ${issue.message}`;
}

function expectedText(expected: string): string {
  return expected === 'object' ? 'an object' : expected === 'array' ? 'an array' : `a ${expected}`;
}

function invalid(where: string): never {
  throw new UserError('Invalid Pipfile.lock', [where, 'Pipfile.lock must be the JSON that pipenv writes: an object with "_meta", "default" and "develop", each package an object with "version" and "hashes".', 'Regenerate it with `pipenv lock` and commit the result.']);
}
