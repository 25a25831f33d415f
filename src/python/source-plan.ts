// Pure decisions for CPython compiled from a python.org source tarball (a manifest entry of
// `kind = "source"`), where no prebuilt archive exists for the target (2.7, 3.6, 3.7; 3.8.8 and
// 3.9.2 on arm64). src/runtime/source-build.ts does the IO. Decided here: the configure command
// line (prefix at the layer, relocatable, no ensurepip), which user flags are allowed, which
// headers are required or optional and what to install for them, the cache-key part that says
// how it was compiled, and which files an install does not need.
import { UserError, printable } from '../errors';
import { listing } from '../log';
import type { Dependency } from './manifest';

/** A manifest entry to compile rather than unpack. */
export function isSourceEntry(d: Dependency): boolean {
  return d.kind === 'source';
}

export const minorOf = (version: string): string => version.split('.').slice(0, 2).join('.');
const majorMinor = (version: string): [number, number] => version.split('.').slice(0, 2).map(Number) as [number, number];
const before = (version: string, major: number, minor: number): boolean => {
  const [a, b] = majorMinor(version);
  return a < major || (a === major && b < minor);
};

/** The directory the tarball unpacks to (Python-X.Y.Z/), unless the entry names one. */
export function sourcePrefix(entry: Dependency): string {
  return entry.prefix ?? `Python-${entry.version}/`;
}

/**
 * The words of BP_PYTHON_CONFIGURE_FLAGS, checked. Only configure options (`--enable-*`,
 * `--disable-*`, `--with-*`, `--without-*`) and `NAME=value` variables (CFLAGS=-O3) are accepted;
 * options that would move the install out of the layer (the prefix, any `--*dir`) or run ensurepip
 * (it would install a pip the buildpack does not choose) are refused with the reason.
 */
export function parseConfigureFlags(raw: string | undefined): string[] {
  const words = (raw ?? '').trim().split(/\s+/).filter(Boolean);
  const moving = words.filter((w) => /^--(prefix|exec-prefix|\w*dir)(=|$)/.test(w) || /^DESTDIR=/.test(w));
  if (moving.length) {
    throw new UserError('BP_PYTHON_CONFIGURE_FLAGS would move the Python install', [
      `BP_PYTHON_CONFIGURE_FLAGS contains ${listing(moving.map((w) => `"${printable(w, 60)}"`))}.`,
      'The buildpack installs CPython into its python layer (the prefix is that layer), so that it is cached, exported and found at launch; flags that set the prefix or an install directory cannot be honoured.',
      'Remove them from BP_PYTHON_CONFIGURE_FLAGS; other configure options (for example --enable-optimizations or --with-lto) are passed on.',
    ]);
  }
  const ensurepip = words.filter((w) => /^--with-ensurepip/.test(w));
  if (ensurepip.length) {
    throw new UserError('BP_PYTHON_CONFIGURE_FLAGS asks for ensurepip', [
      `BP_PYTHON_CONFIGURE_FLAGS contains "${printable(ensurepip[0]!, 60)}".`,
      'The buildpack installs a pinned, verified pip of its own in a separate layer; the pip bundled with the sources is not installed.',
      'Remove the flag.',
    ]);
  }
  const odd = words.filter((w) => !/^--(enable|disable|with|without)-[A-Za-z0-9][\w.-]*(=.*)?$/.test(w) && !/^[A-Z][A-Z0-9_]*=/.test(w));
  if (odd.length) {
    throw new UserError('Invalid BP_PYTHON_CONFIGURE_FLAGS', [
      `BP_PYTHON_CONFIGURE_FLAGS contains ${listing(odd.map((w) => `"${printable(w, 60)}"`))}.`,
      'Expected configure options separated by spaces: --enable-X, --disable-X, --with-X[=value], --without-X, or NAME=value (for example CFLAGS=-O3). Values cannot contain spaces.',
    ]);
  }
  return words;
}

/**
 * configure's arguments. Relocatable without patching binaries: a shared libpython found through
 * RUNPATH $ORIGIN/../lib (the binary is in <layer>/bin, the library in <layer>/lib), as
 * python-build-standalone's install_only archives are. `\$$ORIGIN`: make turns `$$` into `$`, and
 * the shell of make's recipe turns `\$` into a literal `$`, so the linker receives `$ORIGIN`.
 * No --enable-optimizations / LTO by default: PGO runs the test suite, which triples the compile
 * time on a build machine; an operator can add them (BP_PYTHON_CONFIGURE_FLAGS).
 */
export function configureArgs(version: string, prefix: string, userFlags: readonly string[]): string[] {
  const args = [`--prefix=${prefix}`, '--enable-shared', '--without-ensurepip', 'LDFLAGS=-Wl,-rpath,\\$$ORIGIN/../lib'];
  // Python 2: the wide unicode build that Linux distributions and manylinux `cp27mu` wheels use.
  if (before(version, 3, 0)) args.push('--enable-unicode=ucs4');
  // Before 3.7, _ctypes bundles an old libffi unless told to use the system's.
  if (before(version, 3, 7)) args.push('--with-system-ffi');
  return [...args, ...userFlags];
}

/** The part of the python layer's key that says how a source build was made (readable: it is logged when it changes). */
export function sourceBuildKey(compilerIdentity: string, userFlags: readonly string[]): string {
  return `source; ${compilerIdentity || 'unknown compiler'}; flags: ${userFlags.length ? userFlags.join(' ') : '(none)'}`;
}

export interface HeaderCheck {
  /** What the user knows it as. */
  name: string;
  /** The header a tiny probe includes. */
  header: string;
  /** Debian/Ubuntu package that has it. */
  apt: string;
  /** The modules that need it. */
  modules: string;
  required: boolean;
}

/**
 * Headers the standard library's C modules compile against. Required: the ones pip cannot work
 * without (zlib for wheels, OpenSSL for https indexes) and libffi (ctypes, which 3.7+ cannot build
 * without the system's libffi, and which cffi-based packages and many others import). The rest are
 * optional: a missing one means that module is missing, which the log says.
 */
export function headerChecks(version: string): HeaderCheck[] {
  const checks: HeaderCheck[] = [
    { name: 'zlib', header: 'zlib.h', apt: 'zlib1g-dev', modules: 'zlib (pip needs it to unpack wheels)', required: true },
    { name: 'OpenSSL', header: 'openssl/ssl.h', apt: 'libssl-dev', modules: 'ssl, hashlib (pip needs them for https indexes)', required: true },
    { name: 'libffi', header: 'ffi.h', apt: 'libffi-dev', modules: 'ctypes', required: true },
    { name: 'bzip2', header: 'bzlib.h', apt: 'libbz2-dev', modules: 'bz2', required: false },
    { name: 'SQLite', header: 'sqlite3.h', apt: 'libsqlite3-dev', modules: 'sqlite3', required: false },
    { name: 'readline', header: 'readline/readline.h', apt: 'libreadline-dev', modules: 'readline', required: false },
    { name: 'ncurses', header: 'ncurses.h', apt: 'libncurses-dev', modules: 'curses', required: false },
  ];
  if (!before(version, 3, 3)) checks.push({ name: 'xz (liblzma)', header: 'lzma.h', apt: 'liblzma-dev', modules: 'lzma', required: false });
  if (!before(version, 3, 7)) checks.push({ name: 'libuuid', header: 'uuid/uuid.h', apt: 'uuid-dev', modules: '_uuid (uuid falls back to a slower path)', required: false });
  return checks;
}

export const FULL_BUILD_IMAGES = 'a "full" build image: this project\'s builders/builder-full.toml, Paketo\'s paketobuildpacks/builder-jammy-full, or heroku/builder:24';

/** The titled error for missing tools or required headers, before any download. */
export function missingPrerequisites(version: string, missing: { tools: string[]; headers: HeaderCheck[] }): UserError {
  const found: string[] = [];
  if (missing.tools.length) found.push(`Missing programs: ${listing(missing.tools.map((t) => `\`${t}\``))}.`);
  if (missing.headers.length) found.push(`Missing headers: ${missing.headers.map((h) => `${h.header} (${h.name}: ${h.modules})`).join('; ')}.`);
  const apt = [...missing.tools.map((t) => (t === 'make' ? 'make' : t === 'xz' ? 'xz-utils' : 'gcc libc6-dev')), ...missing.headers.map((h) => h.apt)];
  return new UserError(`The build image cannot compile Python ${version}`, [
    `Python ${version} has no prebuilt archive for this architecture, so it is compiled from its python.org source, which needs a C compiler, make and the development headers of the libraries the standard library uses.`,
    ...found,
    `Use ${FULL_BUILD_IMAGES}, or add the Debian/Ubuntu packages ${listing([...new Set(apt)])} to the build image. Or ask for a Python version with a prebuilt archive (3.10 or newer), or have the operator prebuild this one (npm run build-runtime) and list it in BP_PYTHON_MANIFEST.`,
  ]);
}

/**
 * Modules checked by importing them with the new interpreter once it is installed: what the log
 * reports as missing. `ssl` is the one that matters most (pip and https), and the one that the
 * oldest versions may fail to build against OpenSSL 3 (Debian 12, Ubuntu 22.04 and later), which
 * they predate: 2.7.18 builds it (with deprecation warnings; only _hashlib is skipped, and hashlib
 * falls back to CPython's own md5/sha1/sha2), and so did pyenv's 3.6.15 and 3.7.16 compiled on
 * Debian 12 here; another image's headers may still leave it out.
 */
export function modulesToCheck(version: string): string[] {
  return ['ssl', 'zlib', 'ctypes', 'hashlib', 'bz2', 'sqlite3', 'readline', ...(before(version, 3, 3) ? [] : ['lzma'])];
}

/** The standard library's test suites (about a third of its size), relative to Lib/: no app runs them. */
const TEST_SUITES = ['test', 'unittest/test', 'lib2to3/tests', 'ctypes/test', 'distutils/tests', 'sqlite3/test', 'tkinter/test', 'idlelib/idle_test', 'lib-tk/test', 'bsddb/test', 'json/tests', 'email/test'];

/**
 * The test suites in the source tree: removed after `make` and before `make install`, so that the
 * install neither copies them nor byte-compiles them (they are most of its compileall time). The
 * Makefile's libinstall skips a Lib/ subdirectory that does not exist ("if test ! -d $$a; then
 * continue"). A PGO build (--enable-optimizations) runs them during `make`, before they go.
 */
export function testSuitesInSource(): string[] {
  return TEST_SUITES.map((s) => `Lib/${s}`);
}

/**
 * What the install does not need, relative to the prefix: the test suites, should any have been
 * installed, and the static libpython (the shared one is what binaries use).
 */
export function removableAfterInstall(version: string): string[] {
  const lib = `lib/python${minorOf(version)}`;
  return TEST_SUITES.map((s) => `${lib}/${s}`);
}

/**
 * `make install` byte-compiles the standard library three times: plain, then `-O` and `-OO`
 * (CPython's Makefile.pre.in, target libinstall, 2.7 to 3.10). The -O/-OO bytecode is deleted
 * right after (src/runtime/stdlib-bytecode.ts: no app runs Python with -O), so those passes are
 * turned off: in each recipe line that runs `$(PYTHON_FOR_BUILD) ... -O|-OO ... compileall.py`,
 * the interpreter becomes `true` (the recipe's other words and continued lines become its ignored
 * arguments). Returns the new text and how many passes were turned off.
 */
export function withoutOptimizedBytecodePasses(makefile: string): { text: string; skipped: number } {
  let skipped = 0;
  const text = makefile
    .split('\n')
    .map((line) => {
      if (!/\$\(PYTHON_FOR_BUILD\)\s.*\s-O{1,2}\s.*compileall\.py/.test(line)) return line;
      skipped += 1;
      return line.replace('$(PYTHON_FOR_BUILD)', 'true');
    })
    .join('\n');
  return { text, skipped };
}
