// Schemas (zod) for the TOML project and lock files the buildpack hands to pip or uv, checked
// during analysis, before any download: a file of the wrong shape is a titled error naming the
// file, the place inside it and the fix, not a failure of pip or uv after Python is installed.
// Only what tools rely on is checked, and everything else passes (passthrough). Pure.
import { z } from 'zod';
import { UserError, printable } from '../errors';
import { parseToml, TomlError } from '../cnb/toml';
import { describeValue, jsonPath } from './pipfile-lock';

const Strings = z.array(z.string());

const Pyproject = z
  .object({
    project: z
      .object({
        name: z.string().optional(),
        version: z.string().optional(),
        'requires-python': z.string().optional(),
        dependencies: Strings.optional(),
        'optional-dependencies': z.record(Strings).optional(),
        dynamic: Strings.optional(),
      })
      .passthrough()
      .optional(),
    'build-system': z.object({ requires: Strings.optional(), 'build-backend': z.string().optional() }).passthrough().optional(),
    'dependency-groups': z.record(z.array(z.union([z.string(), z.record(z.unknown())]))).optional(),
    tool: z.record(z.unknown()).optional(),
  })
  .passthrough();

const UvLock = z
  .object({
    version: z.number().int(),
    'requires-python': z.string().optional(),
    package: z.array(z.object({ name: z.string(), version: z.string().optional(), source: z.record(z.unknown()).optional() }).passthrough()).optional(),
  })
  .passthrough();

const PoetryLock = z
  .object({
    package: z.array(z.object({ name: z.string(), version: z.string() }).passthrough()).optional(),
    metadata: z.record(z.unknown()).optional(),
  })
  .passthrough();

const FILES = {
  'pyproject.toml': { schema: Pyproject, fix: 'Fix pyproject.toml (PEP 621: https://packaging.python.org/en/latest/specifications/pyproject-toml/).' },
  'uv.lock': { schema: UvLock, fix: 'Regenerate it with `uv lock` and commit the result.' },
  'poetry.lock': { schema: PoetryLock, fix: 'Regenerate it with `poetry lock` and commit the result.' },
} as const;

export type ProjectFile = keyof typeof FILES;

/** Parses `file` and checks its shape; throws a titled UserError. Returns the parsed document. */
export function checkProjectFile(file: ProjectFile, text: string): Record<string, unknown> {
  const { schema, fix } = FILES[file];
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(text, file);
  } catch (e) {
    throw new UserError(`${file} is not valid TOML`, [`${file} could not be parsed: ${printable(e instanceof TomlError ? e.detail : (e as Error).message, 200)}.`, fix]);
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new UserError(`Invalid ${file}`, [`${file} ${schemaProblem(raw, result.error.issues)}.`, fix]);
  return raw;
}

/** The first schema problem, where it is and what was found: `project.dependencies: expected an array, found string "x"`. */
function schemaProblem(raw: unknown, issues: readonly z.ZodIssue[]): string {
  const first = issues[0]!;
  let found: unknown = raw;
  for (const p of first.path) found = found !== null && typeof found === 'object' ? (found as Record<string | number, unknown>)[p] : undefined;
  const text = first.code === z.ZodIssueCode.invalid_type ? `expected ${first.expected === 'object' || first.expected === 'array' ? `an ${first.expected}` : `a ${first.expected}`}, found ${describeValue(found)}` : `${describeValue(found)} ${first.message}`;
  return `${jsonPath(first.path)}: ${text}${issues.length > 1 ? ` (and ${issues.length - 1} more problems)` : ''}`;
}
