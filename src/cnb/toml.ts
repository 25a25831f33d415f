// The only module that reads or writes TOML. Every file build reads or writes is validated by a zod
// schema on the way in and on the way out, so a typo in a field name fails loudly here instead of
// being ignored by the lifecycle. Detect, which must start fast, writes its Build Plan with
// plainToml (no TOML library, no schema; test/unit checks both agree) and loads the TOML parser
// only when the app has a TOML file to read.
import type * as TOMLModule from 'smol-toml';
import type { z } from 'zod';
import { readFile, writeFileAtomic } from '../io/fs';

let tomlModule: typeof TOMLModule | undefined;
/** smol-toml (TOML 1.0, kept up to date; about twice as fast as @iarna/toml on our 123 KB
 *  buildpack.toml, which every build reads), evaluated on first use. */
function TOML(): typeof TOMLModule {
  return (tomlModule ??= require('smol-toml') as typeof TOMLModule);
}

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
    return TOML().parse(text) as Record<string, unknown>;
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
  // Drop `undefined` keys (a JSON round trip) so optional fields can be left unset.
  return TOML().stringify(JSON.parse(JSON.stringify(value)) as Record<string, unknown>);
}

/** Validates against `schema`, then writes atomically (temp file + rename). */
export async function writeTomlAs<S extends z.ZodTypeAny>(schema: S, path: string, value: z.input<S>): Promise<void> {
  const checked = schema.parse(value) as Record<string, unknown>;
  await writeFileAtomic(path, stringifyToml(checked));
}

/**
 * TOML for a document of strings, booleans, integers, arrays and tables, in the usual layout: a
 * table's plain values, then its sub-tables as [a.b] and its arrays of tables as [[a.b]]. Undefined
 * values are left out, as stringifyToml does. Enough for the Build Plan; not a general writer (an
 * array that mixes tables and plain values, or holds arrays of tables, is refused).
 */
export function plainToml(doc: Record<string, unknown>): string {
  return tomlTable(doc, []).join('\n');
}

const isTable = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isTableArray = (v: unknown): v is Array<Record<string, unknown>> => Array.isArray(v) && v.length > 0 && v.every(isTable);

/** The sections of one table: its own `key = value` lines first (under its header), then its children's. */
function tomlTable(table: Record<string, unknown>, at: string[], header?: string): string[] {
  const fields = Object.entries(table).filter(([, v]) => v !== undefined);
  const own = fields.filter(([, v]) => !isTable(v) && !isTableArray(v)).map(([k, v]) => `${tomlKey(k)} = ${tomlValue(v, [...at, k])}\n`);
  const sections = header !== undefined || own.length ? [`${header !== undefined ? `${header}\n` : ''}${own.join('')}`] : [];
  for (const [k, v] of fields) {
    const where = [...at, k];
    const name = where.map(tomlKey).join('.');
    if (isTable(v)) sections.push(...tomlTable(v, where, `[${name}]`));
    else if (isTableArray(v)) for (const item of v) sections.push(...tomlTable(item, where, `[[${name}]]`));
  }
  return sections;
}

function tomlValue(value: unknown, at: string[]): string {
  if (typeof value === 'string') return tomlString(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (Array.isArray(value) && !value.some((v) => isTable(v) || Array.isArray(v))) return `[${value.map((v, i) => tomlValue(v, [...at, String(i)])).join(', ')}]`;
  throw new TomlError('<toml>', `${at.join('.')}: cannot write ${value === null ? 'null' : Array.isArray(value) ? 'this array' : typeof value} as TOML`);
}

function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key);
}

/** A basic string. JSON's escapes are TOML's, but TOML also forbids a raw DEL (U+007F). */
function tomlString(text: string): string {
  return JSON.stringify(text).replace(/\x7f/g, '\\u007f');
}
