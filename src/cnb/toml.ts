// The only module that reads or writes TOML. Every file is validated by a zod schema on the way
// in and on the way out, so a typo in a field name fails loudly here instead of being ignored by
// the lifecycle.
import TOML from '@iarna/toml';
import { z } from 'zod';
import { readFile, writeFileAtomic } from '../io/fs';

export class TomlError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'TomlError';
  }
}

export function parseToml(text: string, where = '<toml>'): Record<string, unknown> {
  try {
    return TOML.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new TomlError(where, (e as Error).message.split('\n')[0] ?? 'invalid TOML');
  }
}

/** Parses and validates; throws TomlError with the first schema problem. */
export function parseTomlAs<S extends z.ZodTypeAny>(schema: S, text: string, where = '<toml>'): z.infer<S> {
  const raw = parseToml(text, where);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new TomlError(where, `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return result.data;
}

export async function readTomlAs<S extends z.ZodTypeAny>(schema: S, path: string): Promise<z.infer<S>> {
  return parseTomlAs(schema, await readFile(path, 'utf8'), path);
}

export function stringifyToml(value: Record<string, unknown>): string {
  // @iarna/toml rejects `undefined`; drop such keys so optional fields can be left unset.
  return TOML.stringify(JSON.parse(JSON.stringify(value)) as TOML.JsonMap);
}

/** Validates against `schema`, then writes atomically (temp file + rename). */
export async function writeTomlAs<S extends z.ZodTypeAny>(schema: S, path: string, value: z.input<S>): Promise<void> {
  const checked = schema.parse(value) as Record<string, unknown>;
  await writeFileAtomic(path, stringifyToml(checked));
}
