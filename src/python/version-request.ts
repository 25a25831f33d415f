// Where the app asks for a Python version, and what it asks for. Pure: bytes in, a request or a
// UserError out. Order (first match wins; ../shared/DESIGN.md section 3):
//   BP_PYTHON_VERSION > runtime.txt > .python-version > Pipfile.lock > Pipfile > pyproject.toml
//   > other buildpacks' Buildpack Plan entries > the default.
import type * as PEP440 from '@renovatebot/pep440';
import { UserError, printable } from '../errors';
import { parseToml } from '../cnb/toml';
import { parsePipfileLock, type PipfileLock } from './pipfile-lock';

let pep440: typeof PEP440 | undefined;
/** Loaded on first use: detect reads requires-python only when the app has a pyproject.toml. */
function pep440Lib(): typeof PEP440 {
  return (pep440 ??= require('@renovatebot/pep440') as typeof PEP440);
}

/** Longest specifier read: the library's parser is superlinear, and real ones are a few clauses. */
const MAX_SPECIFIER = 200;

/**
 * Why a PEP 440 specifier cannot be used, or undefined when it can. Beyond syntax, the library
 * must be able to evaluate it: it throws on numbers it cannot represent (`<3.99999999999999999999999`),
 * so every number is kept to 9 digits and one evaluation is tried here, once, where the error can
 * name the file.
 */
export function specifierProblem(spec: string): string | undefined {
  if (spec.length > MAX_SPECIFIER) return `it is ${spec.length} characters long; at most ${MAX_SPECIFIER} are read`;
  if (/\d{10}/.test(spec)) return 'it has a number with more than 9 digits';
  try {
    if (!pep440Lib().validRange(spec)) return 'it is not a PEP 440 version specifier';
    pep440Lib().satisfies('3.12.0', spec);
  } catch {
    return 'it is not a PEP 440 version specifier this buildpack can evaluate';
  }
  return undefined;
}

export type VersionSource = 'BP_PYTHON_VERSION' | 'runtime.txt' | '.python-version' | 'Pipfile.lock' | 'Pipfile' | 'pyproject.toml' | 'buildpack plan' | 'default';

export interface VersionRequest {
  /** "3.12" (newest patch of a minor), "3.12.4" (exact), or a PEP 440 specifier such as ">=3.10,<3.13". */
  spec: string;
  kind: 'version' | 'specifier';
  source: VersionSource;
  /** Where exactly, for logs: "runtime.txt", "Pipfile.lock (_meta.requires.python_full_version)". */
  origin: string;
}

export type ParseResult = { found: false } | { found: true; request: VersionRequest } | { found: true; error: UserError };

const VERSION = /^(\d+)\.(\d+)(?:\.(\d+))?$/;

function request(spec: string, source: VersionSource, origin: string = source, kind: VersionRequest['kind'] = 'version'): ParseResult {
  return { found: true, request: { spec, kind, source, origin } };
}
function failure(title: string, body: string[]): ParseResult {
  return { found: true, error: new UserError(title, body) };
}

/** Strips a trailing ".x" / ".*" some platforms use for "any patch" ("3.12.x" -> "3.12"). */
function normaliseVersion(text: string): string {
  return text.replace(/\.(x|\*)$/i, '');
}

export function fromEnv(value: string | undefined): ParseResult {
  if (value === undefined || value.trim() === '') return { found: false };
  const v = normaliseVersion(value.trim());
  if (VERSION.test(v)) return request(v, 'BP_PYTHON_VERSION');
  return failure('Invalid Python version in BP_PYTHON_VERSION', [
    `BP_PYTHON_VERSION is set to "${printable(value.trim())}", which is not a Python version.`,
    'Expected a version such as "3.13" (the newest 3.13.x) or "3.13.9" (exactly that release).',
    'Fix the value in your platform environment (for example `pack build --env BP_PYTHON_VERSION=3.13`), or unset it.',
  ]);
}

function decodeText(bytes: Buffer, file: string): { text: string } | { error: UserError } {
  const example = file === 'runtime.txt' ? 'python-3.13' : '3.13';
  const fix = `Save ${file} as plain ASCII/UTF-8 without a byte order mark, for example: printf '${example}\\n' > ${file}`;
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    return { error: new UserError(`${file} is encoded as UTF-16`, [`${file} starts with a UTF-16 byte order mark, so its version cannot be read.`, fix]) };
  }
  if (bytes.includes(0)) {
    return { error: new UserError(`${file} is not a text file`, [`${file} contains NUL bytes (UTF-16 or binary content), so its version cannot be read.`, fix]) };
  }
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { error: new UserError(`${file} starts with a byte order mark`, [`${file} starts with an invisible UTF-8 byte order mark (BOM), which Python tools do not accept.`, fix]) };
  }
  return { text: bytes.toString('utf8') };
}

/** runtime.txt: "python-3.12.4" or "python-3.12" (the classic Heroku format); `#` comment lines and blank lines allowed. */
export function fromRuntimeTxt(bytes: Buffer | undefined): ParseResult {
  if (bytes === undefined) return { found: false };
  const decoded = decodeText(bytes, 'runtime.txt');
  if ('error' in decoded) return { found: true, error: decoded.error };
  // Comment lines and blank lines are ignored, as the classic buildpack does.
  const content = decoded.text.split(/\r?\n/).filter((l) => !/^\s*(#|$)/.test(l)).join('\n').trim();
  const m = /^python-(\d+\.\d+(?:\.\d+)?)$/.exec(content);
  if (m) return request(m[1]!, 'runtime.txt');
  const shown = content === '' ? '(the file is empty)' : `"${printable(content.split(/\r?\n/)[0]!)}"${content.includes('\n') ? ' (and more lines)' : ''}`;
  return failure('Invalid Python version in runtime.txt', [
    `runtime.txt contains ${shown}.`,
    'Expected one line of the form python-<major>.<minor>[.<patch>], for example "python-3.13" or "python-3.13.9".',
    'Fix runtime.txt, or delete it and put the version in .python-version (for example "3.13").',
  ]);
}

/** .python-version: one version per pyenv's format; comments (#) and blank lines are ignored. */
export function fromPythonVersionFile(bytes: Buffer | undefined): ParseResult {
  if (bytes === undefined) return { found: false };
  const decoded = decodeText(bytes, '.python-version');
  if ('error' in decoded) return { found: true, error: decoded.error };
  const lines = decoded.text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const expected = 'Expected one CPython version such as "3.13" (the newest 3.13.x) or "3.13.9", on a line of its own.';
  if (lines.length === 0) {
    return failure('No Python version in .python-version', ['.python-version has no version in it (only blank lines or comments).', expected, 'Write the version, for example: echo 3.13 > .python-version']);
  }
  if (lines.length > 1) {
    return failure('More than one Python version in .python-version', [
      `.python-version lists ${lines.length} versions: ${quoteSome(lines, 3)}.`,
      'A buildpack installs exactly one Python. Keep only the version the app runs with.',
    ]);
  }
  const line = lines[0]!;
  if (VERSION.test(line)) return request(line, '.python-version');
  if (line === 'system') {
    return failure('.python-version asks for the "system" Python', ['.python-version contains "system", which means "whatever Python the machine has".', 'A buildpack installs its own Python, so name a version instead, for example "3.13".']);
  }
  if (/^(pypy|graalpy|jython|ironpython|anaconda|miniconda|mambaforge|micropython|stackless|pyston)/i.test(line)) {
    return failure('.python-version asks for a Python implementation this buildpack does not provide', [`.python-version contains "${printable(line)}". This buildpack installs CPython only.`, expected]);
  }
  return failure('Invalid Python version in .python-version', [`.python-version contains "${printable(line)}".`, expected]);
}

/** Pipfile.lock: _meta.requires.python_full_version, else python_version. */
export function fromPipfileLock(bytes: Buffer | undefined): ParseResult {
  if (bytes === undefined) return { found: false };
  let lock: PipfileLock;
  try {
    // The whole lock is checked here, during analysis: a malformed one fails before any download.
    lock = parsePipfileLock(bytes.toString('utf8'));
  } catch (e) {
    if (e instanceof UserError) return { found: true, error: e };
    throw e;
  }
  const requires: Record<string, unknown> = lock._meta?.requires ?? {};
  for (const key of ['python_full_version', 'python_version'] as const) {
    const v = requires[key];
    if (v === undefined) continue;
    if (typeof v === 'string' && VERSION.test(v)) return request(v, 'Pipfile.lock', `Pipfile.lock (_meta.requires.${key})`);
    return failure('Invalid Python version in Pipfile.lock', [`Pipfile.lock has _meta.requires.${key} = ${printable(JSON.stringify(v))}.`, 'Expected a version such as "3.13" or "3.13.9". Fix [requires] in Pipfile, then run `pipenv lock`.']);
  }
  return { found: false };
}

/** Pipfile: [requires] python_full_version, else python_version. */
export function fromPipfile(bytes: Buffer | undefined): ParseResult {
  if (bytes === undefined) return { found: false };
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(bytes.toString('utf8'), 'Pipfile');
  } catch (e) {
    return failure('Pipfile is not valid TOML', [`Pipfile could not be parsed: ${(e as Error).message}.`, 'Fix the syntax (Pipfile is TOML), then run `pipenv lock`.']);
  }
  for (const table of ['requires', 'packages', 'dev-packages'] as const) {
    const v = doc[table];
    if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Date)) {
      return failure('Invalid Pipfile', [`Pipfile's ${table} is ${Array.isArray(v) ? 'an array' : `a ${typeof v}`}; it must be a table ([${table}]).`, 'Fix the Pipfile, then run `pipenv lock`.']);
    }
  }
  if (doc.source !== undefined && !(Array.isArray(doc.source) && doc.source.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x)))) {
    return failure('Invalid Pipfile', ["Pipfile's source must be an array of tables ([[source]] with name, url and verify_ssl).", 'Fix the Pipfile, then run `pipenv lock`.']);
  }
  const requires = (doc.requires ?? {}) as Record<string, unknown>;
  for (const key of ['python_full_version', 'python_version'] as const) {
    const v = requires[key];
    if (v === undefined) continue;
    if (typeof v === 'string' && VERSION.test(v)) return request(v, 'Pipfile', `Pipfile ([requires] ${key})`);
    return failure('Invalid Python version in Pipfile', [`Pipfile has [requires] ${key} = ${printable(JSON.stringify(v))}.`, 'Expected a version such as "3.13" or "3.13.9".']);
  }
  return { found: false };
}

/** pyproject.toml: [project] requires-python, a PEP 440 specifier (">=3.10,<3.13", "~=3.12", "==3.12.*"). */
export function fromPyproject(bytes: Buffer | undefined): ParseResult {
  if (bytes === undefined) return { found: false };
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(bytes.toString('utf8'), 'pyproject.toml');
  } catch (e) {
    return failure('pyproject.toml is not valid TOML', [`pyproject.toml could not be parsed: ${(e as Error).message}.`, 'Fix its syntax; `python -c "import tomllib; tomllib.load(open(\'pyproject.toml\',\'rb\'))"` shows where.']);
  }
  const value = (doc.project as Record<string, unknown> | undefined)?.['requires-python'];
  if (value === undefined) return fromPoetryPython(doc);
  const problem = typeof value !== 'string' ? 'it is not a string' : value.trim() === '' ? 'it is empty' : specifierProblem(value.trim());
  if (problem === undefined) {
    return request((value as string).trim().replace(/\s+/g, ''), 'pyproject.toml', 'pyproject.toml ([project] requires-python)', 'specifier');
  }
  return failure('Invalid requires-python in pyproject.toml', [
    `pyproject.toml has requires-python = ${printable(JSON.stringify(value) ?? String(value))}, which cannot be used: ${problem}.`,
    'Expected something like ">=3.11", ">=3.10,<3.13" or "~=3.12".',
  ]);
}

/** `"a", "b", "c" and 197 more`: an error quotes a few lines, never a whole file. */
export function quoteSome(lines: readonly string[], max: number): string {
  const shown = lines.slice(0, max).map((l) => `"${printable(l)}"`).join(', ');
  return lines.length > max ? `${shown} and ${lines.length - max} more` : shown;
}

/** [tool.poetry.dependencies] python (Poetry's own syntax), as a PEP 440 specifier when it has one. */
function fromPoetryPython(doc: Record<string, unknown>): ParseResult {
  const deps = ((doc.tool as Record<string, unknown> | undefined)?.poetry as Record<string, unknown> | undefined)?.dependencies as Record<string, unknown> | undefined;
  const value = deps?.python;
  if (typeof value !== 'string') return { found: false };
  const spec = poetryToPep440(value);
  // `*` and alternatives (`||`) admit several ranges: no single request, the default applies.
  if (spec === undefined) return { found: false };
  return request(spec, 'pyproject.toml', 'pyproject.toml ([tool.poetry.dependencies] python)', 'specifier');
}

/** Poetry's constraint syntax as PEP 440: ^3.11 -> >=3.11,<4.0; ~3.11 -> >=3.11,<3.12; 3.11 / 3.11.* -> ==3.11.*. */
export function poetryToPep440(constraint: string): string | undefined {
  const parts = constraint.split(',').map((p) => p.trim());
  if (constraint.includes('||') || parts.some((p) => p === '*' || p === '')) return undefined;
  const out: string[] = [];
  for (const p of parts) {
    const caret = /^\^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(p);
    const tilde = /^~(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(p);
    const bare = /^(\d+\.\d+)(?:\.\*)?$/.exec(p);
    if (caret) out.push(`>=${caret.slice(1).filter(Boolean).join('.')}`, `<${Number(caret[1]) + 1}.0`);
    else if (tilde) out.push(`>=${tilde.slice(1).filter(Boolean).join('.')}`, tilde[2] === undefined ? `<${Number(tilde[1]) + 1}.0` : `<${tilde[1]}.${Number(tilde[2]) + 1}`);
    else if (bare) out.push(`==${bare[1]}.*`);
    else out.push(p.replace(/\s+/g, ''));
  }
  const spec = out.join(',');
  return specifierProblem(spec) === undefined ? spec : undefined;
}
