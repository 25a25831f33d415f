// Pure decisions for the sqlite layer (src/layers/sqlite/index.ts does the IO): whether it is wanted (BP_PYTHON_SQLITE), which manifest entry
// to use (a prebuilt archive for this distro beats compiling the source), the compiler and flags
// (honouring CC / CFLAGS / LDFLAGS), the exact cc command lines, and the pkg-config file.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { UserError } from '../../errors';
import type { Dependency } from '../../python/manifest';

/**
 * Compile-time options, as mainstream distributions build SQLite. Reference: Debian's sqlite3
 * package (bookworm: `PRAGMA compile_options` of its libsqlite3-0), plus what the amalgamation's own
 * build gives its CLI (autosetup's OPT_SHELL: DBPAGE/BYTECODE vtabs, ...), because our CLI links
 * against this very library. JSON is built in since 3.38 (no flag needed). Left out on purpose:
 * SQLITE_OMIT_LOOKASIDE (Debian's; costs speed) and SQLITE_ENABLE_UPDATE_DELETE_LIMIT (needs a
 * regenerated parser, so it does nothing in the amalgamation).
 */
export const SQLITE_COMPILE_OPTIONS: readonly string[] = [
  '-DSQLITE_ENABLE_FTS3',
  '-DSQLITE_ENABLE_FTS3_PARENTHESIS',
  '-DSQLITE_ENABLE_FTS3_TOKENIZER',
  '-DSQLITE_ENABLE_FTS4',
  '-DSQLITE_ENABLE_FTS5',
  '-DSQLITE_ENABLE_RTREE',
  '-DSQLITE_ENABLE_GEOPOLY',
  '-DSQLITE_ENABLE_MATH_FUNCTIONS',
  '-DSQLITE_ENABLE_PERCENTILE',
  '-DSQLITE_ENABLE_COLUMN_METADATA',
  '-DSQLITE_ENABLE_DBSTAT_VTAB',
  '-DSQLITE_ENABLE_DBPAGE_VTAB',
  '-DSQLITE_ENABLE_BYTECODE_VTAB',
  '-DSQLITE_ENABLE_STMTVTAB',
  '-DSQLITE_ENABLE_EXPLAIN_COMMENTS',
  '-DSQLITE_ENABLE_OFFSET_SQL_FUNC',
  '-DSQLITE_ENABLE_SESSION',
  '-DSQLITE_ENABLE_PREUPDATE_HOOK',
  '-DSQLITE_ENABLE_UNLOCK_NOTIFY',
  '-DSQLITE_ENABLE_LOAD_EXTENSION',
  '-DSQLITE_SECURE_DELETE',
  '-DSQLITE_SOUNDEX',
  '-DSQLITE_LIKE_DOESNT_MATCH_BLOBS',
  '-DSQLITE_USE_URI=1',
  '-DSQLITE_THREADSAFE=1',
  '-DSQLITE_MAX_SCHEMA_RETRY=25',
  '-DSQLITE_MAX_VARIABLE_NUMBER=250000',
];

/** The features a user looks for, for the log line and the README. */
export const SQLITE_FEATURES: readonly string[] = [
  'FTS3',
  'FTS4',
  'FTS5',
  'JSON',
  'RTREE',
  'GEOPOLY',
  'math functions',
  'percentile',
  'column metadata',
  'DBSTAT',
  'DBPAGE',
  'session',
  'preupdate hook',
  'unlock notify',
  'load extension',
  'secure delete',
  'soundex',
];

/** Libraries both the library and the CLI need on glibc (harmless where they are empty stubs). */
const SYSTEM_LIBS = ['-lm', '-lpthread', '-ldl'];

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** BP_PYTHON_SQLITE: unset = on by default; "false" skips; "true" = explicitly requested. */
export function sqliteWanted(env: Record<string, string | undefined>): { wanted: boolean; explicit: boolean } {
  const raw = env.BP_PYTHON_SQLITE?.trim().toLowerCase() ?? '';
  if (raw === '') return { wanted: true, explicit: false };
  if (TRUE.has(raw)) return { wanted: true, explicit: true };
  if (FALSE.has(raw)) return { wanted: false, explicit: true };
  throw new UserError('Invalid BP_PYTHON_SQLITE', [`BP_PYTHON_SQLITE is "${env.BP_PYTHON_SQLITE}".`, 'Set it to "true" (SQLite is required: fail the build when it cannot be installed) or "false" (do not install SQLite), or leave it unset (install SQLite when a C compiler is available).']);
}

/**
 * A prebuilt entry names the distros it was built for (and an arch): its archive holds lib/, include/
 * and bin/ under `prefix`, ready to copy. Every other sqlite entry is the amalgamation source.
 */
export function isPrebuilt(entry: Dependency): boolean {
  return entry.distros !== undefined && entry.distros.length > 0;
}

/**
 * The entry to install from those that run on the target (see forTarget, which already drops prebuilt
 * entries for other distros and arches): the newest version, a prebuilt one before the source of the
 * same version.
 */
export function chooseSqliteEntry(entries: readonly Dependency[]): Dependency | undefined {
  const rank = (d: Dependency): number[] => [...d.version.split('.').map((n) => Number.parseInt(n, 10) || 0), isPrebuilt(d) ? 1 : 0];
  const cmp = (a: number[], b: number[]): number => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  };
  return [...entries].sort((a, b) => cmp(rank(b), rank(a)))[0];
}

/** The directory inside the archive that holds the files ("sqlite-autoconf-3520000/"). */
export function archivePrefix(entry: Dependency): string {
  if (entry.prefix !== undefined) return entry.prefix;
  if (isPrebuilt(entry)) return '';
  const file = path.posix.basename(new URL(entry.uri).pathname).replace(/\.(tar\.gz|tgz|tar\.zst|tzst|tar)$/, '');
  return `${file}/`;
}

/** Splits a flags variable the way make hands it to the shell, for the simple cases users write. */
export function splitFlags(value: string | undefined): string[] {
  return (value ?? '').trim().split(/\s+/).filter(Boolean);
}

export interface Compiler {
  /** The executable ("cc", "/usr/bin/gcc", "ccache"). */
  command: string;
  /** Words of CC after the executable ("ccache gcc" -> ["gcc"]). */
  prefixArgs: string[];
  /** As the user would name it: "cc", or "CC=ccache gcc". */
  shown: string;
  cflags: string[];
  ldflags: string[];
}

export function compilerFrom(env: Record<string, string | undefined>): Compiler {
  const cc = splitFlags(env.CC);
  const [command, ...prefixArgs] = cc.length ? cc : ['cc'];
  return { command: command!, prefixArgs, shown: cc.length ? `CC=${cc.join(' ')}` : 'cc', cflags: splitFlags(env.CFLAGS), ldflags: splitFlags(env.LDFLAGS) };
}

/**
 * The part of the cache key that says how the source was compiled: our options and the user's CC,
 * CFLAGS and LDFLAGS, so changing any of them recompiles (a short hash: the values are not logged).
 */
export function buildOptionsKey(c: Compiler): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ options: SQLITE_COMPILE_OPTIONS, cc: [c.command, ...c.prefixArgs], cflags: c.cflags, ldflags: c.ldflags }));
  return `source:${h.digest('hex').slice(0, 16)}`;
}

/** File names in lib/ for a version: the real file, the soname link, the dev link. */
export function libraryNames(version: string): { real: string; soname: string; dev: string } {
  return { real: `libsqlite3.so.${version}`, soname: 'libsqlite3.so.0', dev: 'libsqlite3.so' };
}

export interface CompileSteps {
  /** sqlite3.c -> lib/libsqlite3.so.<version> (runs in parallel with shellObject) */
  library: string[];
  /** shell.c -> shell.o */
  shellObject: string[];
  /** shell.o + the library -> bin/sqlite3 (RUNPATH $ORIGIN/../lib, so the CLI finds its library) */
  shellLink: string[];
}

/**
 * The cc arguments (after the command and CC's extra words), run in `srcDir`, writing into `outDir`
 * (which has lib/ and bin/). Our -O2 comes before the user's CFLAGS, so their -O3 or -g wins.
 */
export function compileSteps(c: Compiler, version: string, outDir: string): CompileSteps {
  const names = libraryNames(version);
  const lib = path.join(outDir, 'lib');
  return {
    library: [...c.prefixArgs, '-O2', '-fPIC', '-shared', ...SQLITE_COMPILE_OPTIONS, ...c.cflags, '-I.', 'sqlite3.c', '-o', path.join(lib, names.real), `-Wl,-soname,${names.soname}`, ...c.ldflags, ...SYSTEM_LIBS],
    shellObject: [...c.prefixArgs, '-O2', ...SQLITE_COMPILE_OPTIONS, ...c.cflags, '-I.', '-c', 'shell.c', '-o', 'shell.o'],
    shellLink: [...c.prefixArgs, ...c.cflags, 'shell.o', '-o', path.join(outDir, 'bin', 'sqlite3'), `-L${lib}`, '-lsqlite3', '-Wl,-rpath,$ORIGIN/../lib', ...c.ldflags, ...SYSTEM_LIBS],
  };
}

/** lib/pkgconfig/sqlite3.pc for a prefix (the layer's real directory). */
export function pkgConfigFile(prefix: string, version: string): string {
  return [
    '# Written by python-cnb for the sqlite layer.',
    `prefix=${prefix}`,
    'exec_prefix=${prefix}',
    'libdir=${exec_prefix}/lib',
    'includedir=${prefix}/include',
    '',
    'Name: SQLite',
    'Description: SQL database engine',
    `Version: ${version}`,
    'Libs: -L${libdir} -lsqlite3',
    `Libs.private: ${SYSTEM_LIBS.join(' ')}`,
    'Cflags: -I${includedir}',
    '',
  ].join('\n');
}

/** Points an existing .pc file (from a prebuilt archive) at the layer: its prefix= line. */
export function relocatePkgConfig(text: string, prefix: string): string {
  return /^prefix=.*$/m.test(text) ? text.replace(/^prefix=.*$/m, `prefix=${prefix}`) : `prefix=${prefix}\n${text}`;
}
