// Compiles CPython from a verified python.org source tarball into a prefix (the python layer, or
// an operator's staging directory for `npm run build-runtime`): one code path for both. The
// decisions (configure flags, headers, what to remove) are in source-plan.ts; this file runs the
// compiler. The source tree and objects live in a temporary directory outside the layers; only
// `make install` writes to the prefix.
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../errors';
import { run, which, type RunResult } from '../io/exec';
import { listDir, makeDir, pathExists, removePath } from '../io/fs';
import { formatDuration, listing, type Log } from '../log';
import { fetchIntoLayer } from '../layers/kit';
import type { Dependency } from '../python/manifest';
import type { MirrorConfig } from '../python/mirrors';
import {
  configureArgs,
  headerChecks,
  minorOf,
  missingPrerequisites,
  parseConfigureFlags,
  removableAfterInstall,
  sourceBuildKey,
  sourcePrefix,
  modulesToCheck,
  testSuitesInSource,
  withoutOptimizedBytecodePasses,
  type HeaderCheck,
} from '../python/source-plan';

export interface SourceBuildPlan {
  /** BP_PYTHON_CONFIGURE_FLAGS, checked. */
  userFlags: string[];
  /** `cc --version`'s first line ('' when there is no compiler). */
  compilerIdentity: string;
  /** The python layer's `build` key field. */
  key: string;
}

/** The C compiler as configure will run it: $CC (its words: "ccache gcc"), else `cc`. */
function compilerCommand(env: Record<string, string>): { cc: string; args: string[] } {
  const [cc, ...args] = (env.CC ?? '').trim().split(/\s+/).filter(Boolean);
  return { cc: cc ?? 'cc', args };
}

/** What the key needs, cheaply (one `cc --version`), before deciding whether to compile at all. */
export async function planSourceBuild(env: Record<string, string>): Promise<SourceBuildPlan> {
  const userFlags = parseConfigureFlags(env.BP_PYTHON_CONFIGURE_FLAGS);
  const { cc, args } = compilerCommand(env);
  let compilerIdentity = '';
  if (await which(cc, env)) {
    const r = await run(cc, [...args, '--version'], { env, keepLines: 5 }).catch(() => undefined);
    compilerIdentity = r?.exitCode === 0 ? (r.tail.find((l) => l.trim()) ?? '').trim() : '';
  }
  return { userFlags, compilerIdentity, key: sourceBuildKey(compilerIdentity, userFlags) };
}

export interface Preflight {
  /** Optional headers that are absent: those modules will be missing. */
  missingOptional: HeaderCheck[];
  /** The OpenSSL headers are version 3 or later (which Python 3.6 and older predate). */
  openssl3: boolean;
}

/**
 * Before any download: a compiler, make, xz for a .tar.xz, and the headers, each found by
 * preprocessing a one-line probe with the build env (so CPATH / C_INCLUDE_PATH and the compiler's
 * default include dirs count, exactly as for the real compile). Missing required ones end the
 * build with one error naming all of them.
 */
export async function preflightSourceBuild(entry: Dependency, env: Record<string, string>): Promise<Preflight> {
  const { cc, args } = compilerCommand(env);
  const tools = [cc, 'make', ...(/\.(tar\.xz|txz)$/i.test(entry.uri.split(/[?#]/)[0]!) ? ['xz'] : [])];
  const missingTools: string[] = [];
  for (const t of tools) if (!(await which(t, env))) missingTools.push(t !== cc ? t : env.CC?.trim() ? `CC=${env.CC.trim()} (the C compiler)` : 'cc (a C compiler)');
  const checks = headerChecks(entry.version);
  if (missingTools.some((t) => t.startsWith(cc))) {
    // Without a compiler the headers cannot be probed: report the compiler (and make) first.
    throw missingPrerequisites(entry.version, { tools: missingTools, headers: [] });
  }
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'python-cnb-probe-'));
  try {
    const probe = (source: string) => preprocesses([cc, ...args], source, tmp, env);
    const found = await Promise.all(checks.map((c) => probe(`#include <${c.header}>\n`)));
    const missing = checks.filter((_, i) => !found[i]);
    const required = missing.filter((h) => h.required);
    if (missingTools.length || required.length) throw missingPrerequisites(entry.version, { tools: missingTools, headers: required });
    const openssl3 = await probe('#include <openssl/opensslv.h>\n#if OPENSSL_VERSION_NUMBER < 0x30000000L\n#error older than OpenSSL 3\n#endif\n');
    return { missingOptional: missing.filter((h) => !h.required), openssl3 };
  } finally {
    await removePath(tmp);
  }
}

let probes = 0;
/** Whether `cc -E` accepts the source: the headers it includes are found as the real compile would find them (CPATH, CPPFLAGS). */
async function preprocesses([cc, ...args]: string[], source: string, dir: string, env: Record<string, string>): Promise<boolean> {
  const file = path.join(dir, `probe-${++probes}.c`);
  await fsp.writeFile(file, source);
  const flags = (env.CPPFLAGS ?? '').trim().split(/\s+/).filter(Boolean);
  const r = await run(cc!, [...args, ...flags, '-E', '-o', '/dev/null', file], { env, keepLines: 5 }).catch(() => undefined);
  return r?.exitCode === 0;
}

export interface CompileOptions {
  entry: Dependency;
  /** Where `make install` puts CPython (the layer): baked into sysconfig, so it must be where it runs. */
  prefix: string;
  plan: SourceBuildPlan;
  preflight: Preflight;
  env: Record<string, string>;
  mirrors: ReadonlyArray<MirrorConfig | undefined>;
  log: Log;
}

/** Downloads, verifies, configures, makes and installs into `prefix`; logs each stage with its duration. */
export async function compilePython(opts: CompileOptions): Promise<void> {
  const { entry, log } = opts;
  const version = entry.version;
  const jobs = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  log.info(`Compiling Python ${version} from source: no prebuilt archive for this architecture. This happens once: the python layer is cached and reused until the version, the source, the compiler or BP_PYTHON_CONFIGURE_FLAGS change`);
  for (const h of opts.preflight.missingOptional) log.detail(`No ${h.header} (${h.name}): the ${h.modules} module will be missing (apt package ${h.apt})`);

  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'python-cnb-cpython-'));
  try {
    const src = path.join(tmp, 'src');
    await makeDir(src);
    await fetchIntoLayer(entry, src, { prefix: sourcePrefix(entry), what: `Python ${version} source`, mirrors: opts.mirrors, log });
    if (!(await pathExists(path.join(src, 'configure')))) {
      throw new UserError('Not a CPython source archive', [`The archive of Python ${version} (${entry.uri}) has no configure script under "${sourcePrefix(entry)}".`, 'A python entry of kind "source" must name a python.org Python-X.Y.Z.tgz or .tar.xz (or set `prefix` to its top directory).']);
    }
    const args = configureArgs(version, opts.prefix, opts.plan.userFlags);
    const stage = async (name: string, command: string, commandArgs: string[], keepLines = 80): Promise<RunResult> => {
      const started = Date.now();
      const r = await run(command, commandArgs, { cwd: src, env: opts.env, keepLines });
      if (r.exitCode !== 0) throw stageFailed(version, name, r, opts.plan.userFlags);
      log.detail(`${name}: ${formatDuration(Date.now() - started)}`);
      return r;
    };
    log.info(`Building with ${opts.plan.compilerIdentity} and ${jobs} parallel job${jobs === 1 ? '' : 's'}: ./configure ${args.filter((a) => !a.startsWith('--prefix=')).join(' ')}`);
    const compileStarted = Date.now();
    await stage('configure', './configure', args);
    const skipped = await skipOptimizedBytecode(src);
    if (skipped > 0) log.detail(`make install: its ${skipped} -O/-OO byte-compile passes are skipped (that bytecode is dropped afterwards)`);
    const make = await stage(`make -j${jobs}`, 'make', [`-j${jobs}`], 400);
    reportModules(log, make.tail);
    // Gone before the install, so it neither copies nor byte-compiles them.
    const suites = await removeAll(src, testSuitesInSource());
    await stage('make install', 'make', ['install']);
    const removed = [...suites, ...(await removeUnneeded(opts.prefix, version))];
    await checkModules(opts, log);
    log.info(`Compiled and installed Python ${version} in ${formatDuration(Date.now() - compileStarted)} (left out ${removed.length} test suite${removed.length === 1 ? '' : 's'} and the static libpython)`);
  } finally {
    await removePath(tmp);
  }
}

/** Imports the standard library's C modules with the new interpreter: what is missing is said, ssl loudly. */
async function checkModules(opts: CompileOptions, log: Log): Promise<void> {
  const version = opts.entry.version;
  const python = path.join(opts.prefix, 'bin', `python${minorOf(version)}`);
  // Python 2 and 3 alike; prints the modules that do not import.
  const script = 'import sys\nmissing = []\nfor m in sys.argv[1:]:\n    try:\n        __import__(m)\n    except Exception:\n        missing.append(m)\nsys.stdout.write(" ".join(missing))\n';
  const r = await run(python, ['-c', script, ...modulesToCheck(version)], { env: opts.env, keepLines: 20 });
  if (r.exitCode !== 0) throw stageFailed(version, `${path.basename(python)} (the installed interpreter)`, r, opts.plan.userFlags);
  const missing = r.tail.join(' ').trim().split(/\s+/).filter(Boolean);
  if (missing.length === 0) {
    log.detail(`${listing(modulesToCheck(version))}: all import`);
    return;
  }
  log.detail(`These modules do not import: ${listing(missing)}`);
  if (missing.includes('ssl')) {
    log.warning(`Python ${version} was built without the ssl module`, [
      opts.preflight.openssl3
        ? `The build image has OpenSSL 3 headers, which Python ${version} predates: its ssl module did not compile against them.`
        : 'Its ssl module did not compile against the build image\'s OpenSSL headers.',
      'Without ssl, pip cannot use https:// package indexes (an http:// index on a trusted host still works), and the app cannot make https requests.',
      'Upgrade to a supported Python, or build on an image with OpenSSL 1.1 headers (for example one based on Debian 11 or Ubuntu 20.04).',
    ]);
  }
}

/** CPython's own summary at the end of `make`: modules it could not build or found no headers for. */
export function modulesNotBuilt(lines: readonly string[]): { missing: string[]; failed: string[] } {
  const collect = (heading: RegExp): string[] => {
    const at = lines.findIndex((l) => heading.test(l));
    if (at < 0) return [];
    const names: string[] = [];
    for (const line of lines.slice(at + 1)) {
      if (!line.trim()) {
        if (names.length) break;
        continue;
      }
      if (/^[A-Za-z]/.test(line) && /[:.]$/.test(line.trim())) break; // the next heading
      names.push(...line.trim().split(/\s+/));
    }
    return names;
  };
  return { missing: collect(/necessary bits to build these (optional )?modules were not found/i), failed: collect(/^Failed to build these modules:/) };
}

function reportModules(log: Log, tail: readonly string[]): void {
  const { missing, failed } = modulesNotBuilt(tail);
  const skip = new Set(['_tkinter', 'bsddb185', 'dl', 'imageop', 'sunaudiodev', '_bsddb', 'nis', '_dbm', '_gdbm', 'dbm', 'gdbm', '_curses_panel', '_curses']);
  const notable = missing.filter((m) => !skip.has(m));
  if (notable.length) log.detail(`Not built (no headers for them on this image): ${listing(notable)}`);
  if (failed.length) log.detail(`Failed to build: ${listing(failed)}`);
}

function stageFailed(version: string, stage: string, r: RunResult, userFlags: readonly string[]): UserError {
  const lines = r.tail.slice(-40);
  return new UserError(`Python ${version} failed to compile`, [
    `\`${stage}\` exited with code ${r.exitCode}. Its last ${lines.length} lines:`,
    '',
    ...lines.map((l) => `    ${l}`),
    '',
    userFlags.length ? `BP_PYTHON_CONFIGURE_FLAGS is "${userFlags.join(' ')}": check those flags first.` : 'Check the build image: a C compiler, make, and the development headers (libssl-dev, zlib1g-dev, libffi-dev, ...).',
    'Or ask for a Python with a prebuilt archive (3.10 or newer), or have the operator prebuild this one (npm run build-runtime) and list it in BP_PYTHON_MANIFEST.',
  ]);
}

/** Turns off `make install`'s -O/-OO byte-compile passes (source-plan.ts) in the Makefile configure
 *  wrote, and in Makefile.pre first, from which make would regenerate it. Returns how many. */
async function skipOptimizedBytecode(src: string): Promise<number> {
  let skipped = 0;
  for (const name of ['Makefile.pre', 'Makefile']) {
    const file = path.join(src, name);
    if (!(await pathExists(file))) continue;
    const patched = withoutOptimizedBytecodePasses(await fsp.readFile(file, 'utf8'));
    if (patched.skipped === 0) continue;
    await fsp.writeFile(file, patched.text);
    if (name === 'Makefile') skipped = patched.skipped;
  }
  return skipped;
}

/** Removes each of `rels` under `root` that exists; returns those removed. */
async function removeAll(root: string, rels: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const rel of rels) {
    if (await pathExists(path.join(root, rel))) {
      await removePath(path.join(root, rel));
      removed.push(rel);
    }
  }
  return removed;
}

/** Removes any installed test suites and the static libraries; returns the suites removed (relative paths). */
async function removeUnneeded(prefix: string, version: string): Promise<string[]> {
  const removed = await removeAll(prefix, removableAfterInstall(version));
  const stdlib = path.join(prefix, 'lib', `python${minorOf(version)}`);
  for (const e of await listDir(stdlib)) {
    if (e.kind !== 'dir' || !e.name.startsWith('config-')) continue;
    for (const f of await listDir(path.join(stdlib, e.name))) if (/^libpython.*\.a$/.test(f.name)) await removePath(path.join(stdlib, e.name, f.name));
  }
  for (const f of await listDir(path.join(prefix, 'lib'))) if (/^libpython.*\.a$/.test(f.name)) await removePath(path.join(prefix, 'lib', f.name));
  return removed;
}
