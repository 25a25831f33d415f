// The `sqlite` layer (build, launch, cache): SQLite3 as the classic buildpack installs it on every
// build ("-----> Installing SQLite3"), so packages that compile against SQLite find sqlite3.h and
// libsqlite3, and apps find the library and the `sqlite3` command:
//   lib/libsqlite3.so.<version> + libsqlite3.so.0 + libsqlite3.so, include/sqlite3.h + sqlite3ext.h,
//   lib/pkgconfig/sqlite3.pc (prefix = this layer), bin/sqlite3 (RUNPATH $ORIGIN/../lib).
// From a prebuilt archive when the manifest has one for this arch and distro; otherwise compiled from
// the verified amalgamation source with the build image's C compiler (CC, CFLAGS, LDFLAGS honoured):
// two cc invocations in parallel (library; CLI object), then the CLI link. That is ~1.5x faster than
// the tarball's configure + make -j2, which compiles sqlite3.c twice (shared library, static CLI).
// Key: sqlite version, artifact sha256, arch, distro name + version, and how it was built.
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Target } from '../../cnb/context';
import { LayerEnv, writeLayerEnv } from '../../cnb/env';
import { defineLayer, dropLayer, openLayer, stringKey } from '../../cnb/layer';
import { UserError } from '../../errors';
import { checkExit, run, which, type RunResult } from '../../io/exec';
import { whenCommandFails } from '../../explain';
import { listDir, makeDir, pathExists, removePath, writeFileAtomic } from '../../io/fs';
import { formatDuration, Log } from '../../log';
import type { BuildEnv } from '../../cnb/build-env';
import { sha256Of, type Dependency } from '../../python/manifest';
import type { MirrorConfig } from '../../python/mirrors';
import {
  archivePrefix,
  buildOptionsKey,
  compileSteps,
  compilerFrom,
  isPrebuilt,
  libraryNames,
  pkgConfigFile,
  relocatePkgConfig,
  SQLITE_FEATURES,
  type Compiler,
} from './plan';
import { fetchIntoLayer, logCacheHit, logCacheMiss, targetKey } from '../kit';


export const sqliteLayer = defineLayer({
  name: 'sqlite',
  types: { build: true, launch: true, cache: true },
  key: stringKey(['sqlite_version', 'artifact_sha256', 'arch', 'distro_name', 'distro_version', 'build'] as const),
  reasons: {
    sqlite_version: (a, b) => `the SQLite version changed from ${a} to ${b}`,
    artifact_sha256: () => 'the SQLite archive in the manifest changed (new checksum)',
    arch: (a, b) => `the architecture changed from ${a} to ${b}`,
    distro_name: (a, b) => `the build image's distro changed from ${a} to ${b}`,
    distro_version: (a, b) => `the build image's distro version changed from ${a} to ${b}`,
    build: (a, b) =>
      a === 'prebuilt' || b === 'prebuilt'
        ? `it was ${a === 'prebuilt' ? 'a prebuilt archive' : 'compiled from source'} and is now ${b === 'prebuilt' ? 'a prebuilt archive' : 'compiled from source'}`
        : 'the compiler settings changed (CC, CFLAGS, LDFLAGS or the buildpack\'s SQLite options)',
  },
});

export interface SqliteResult {
  status: 'installed' | 'reused' | 'skipped';
  /** The layer directory (installed or reused). */
  dir?: string;
  /** The layer's env (PKG_CONFIG_PATH, build): already written to the layer. */
  env?: LayerEnv;
  version?: string;
}

export interface InstallSqliteOptions {
  layersDir: string;
  /** chooseSqliteEntry(forTarget(manifest, 'sqlite', target)); undefined when the manifest has none. */
  entry: Dependency | undefined;
  target: Target;
  mirrors: ReadonlyArray<MirrorConfig | undefined>;
  /** The build env: PATH to find the compiler, CC / CFLAGS / LDFLAGS from the platform env. */
  env: Record<string, string>;
  log: Log;
  /** BP_PYTHON_SQLITE=true: failing to install is an error rather than a warning. */
  explicitlyRequested: boolean;
}

/** The layer's env: the lifecycle adds bin/ (PATH), lib/ (LD_LIBRARY_PATH, LIBRARY_PATH) and include/
 *  (CPATH) itself for later buildpacks and at launch, but not lib/pkgconfig. */
export function sqliteEnv(dir: string): LayerEnv {
  return LayerEnv.empty().prepend('PKG_CONFIG_PATH', path.join(dir, 'lib', 'pkgconfig'), ':', 'build');
}

/** BP_PYTHON_SQLITE=false: removes a cached layer (metadata first). */
export async function removeSqliteLayer(layersDir: string, log: Log): Promise<void> {
  const existed = await dropLayer(layersDir, sqliteLayer.name);
  log.info(`Skipping SQLite (BP_PYTHON_SQLITE=false)${existed ? '; removed the cached SQLite layer' : ''}`);
}

export async function installSqlite(opts: InstallSqliteOptions): Promise<SqliteResult> {
  const { entry, log } = opts;
  if (!entry) {
    const where = `${opts.target.os}/${opts.target.arch}${opts.target.distroName ? ` (${opts.target.distroName} ${opts.target.distroVersion ?? ''})`.replace(' )', ')') : ''}`;
    const body = [`The dependency manifest has no "sqlite" entry for ${where}.`, 'Add one (buildpack.toml or BP_PYTHON_MANIFEST), or set BP_PYTHON_SQLITE=false.'];
    if (opts.explicitlyRequested) throw new UserError('SQLite is not available', body);
    await dropLayer(opts.layersDir, sqliteLayer.name);
    log.warning('SQLite is not available: skipping it', body);
    return { status: 'skipped' };
  }

  const prebuilt = isPrebuilt(entry);
  const compiler = compilerFrom(opts.env);
  const key = {
    sqlite_version: entry.version,
    artifact_sha256: sha256Of(entry),
    ...targetKey(opts.target),
    build: prebuilt ? 'prebuilt' : buildOptionsKey(compiler),
  };
  const layer = await openLayer(opts.layersDir, sqliteLayer, key);
  const env = sqliteEnv(layer.dir);
  const d = layer.decision;
  if (d.action === 'reuse') {
    logCacheHit(log, `SQLite ${entry.version}`);
    await writeLayerEnv(layer.dir, env);
    return { status: 'reused', dir: layer.dir, env, version: entry.version };
  }
  logCacheMiss(log, 'SQLite', d, (k) => k.sqlite_version);

  // From here the layer directory is empty and has no metadata: any failure removes the directory.
  try {
    if (prebuilt) {
      await installPrebuilt(opts, entry, layer.dir);
    } else {
      const found = await which(compiler.command, opts.env);
      if (!found) {
        await removePath(layer.dir);
        return noCompiler(opts, compiler);
      }
      log.info(`No prebuilt SQLite for ${describeTarget(opts.target)} in the manifest; compiling it from source (once: the layer is cached)`);
      await compileFromSource(opts, entry, compiler, layer.dir);
    }
    await smokeTest(layer.dir, entry.version, opts.env);
    await writeLayerEnv(layer.dir, env);
  } catch (e) {
    await removePath(layer.dir);
    throw e;
  }
  await layer.commit();
  return { status: 'installed', dir: layer.dir, env, version: entry.version };
}

function noCompiler(opts: InstallSqliteOptions, compiler: Compiler): SqliteResult {
  const named = compiler.shown === 'cc' ? 'the C compiler `cc`' : `the C compiler ${compiler.shown}`;
  if (opts.explicitlyRequested) {
    throw new UserError('No C compiler to build SQLite', [
      `BP_PYTHON_SQLITE=true asks for SQLite, which is compiled from source for this build image, but ${named} is not on PATH.`,
      'Use a build image with a C compiler (for example gcc or build-essential), point CC at one, or set BP_PYTHON_SQLITE=false.',
    ]);
  }
  opts.log.warning('No C compiler: SQLite was not installed', [
    `SQLite is compiled from source for this build image, but ${named} is not on PATH.`,
    'Packages that compile against SQLite (sqlite3.h) will not find it, and there is no `sqlite3` command. Python\'s own sqlite3 module is not affected.',
    'Use a build image with a C compiler (for example gcc or build-essential) or point CC at one; set BP_PYTHON_SQLITE=false to skip SQLite without this warning.',
  ]);
  return { status: 'skipped' };
}

/** "debian 12 amd64": the target as the manifest's prebuilt entries name it. */
function describeTarget(target: Target): string {
  return [target.distroName, target.distroVersion, target.arch].filter(Boolean).join(' ');
}

/**
 * The release path (scripts/build-sqlite.ts): the same fetch, verification, compile and smoke test
 * as a build without a prebuilt archive, into `dir` (lib/, include/, bin/), for packing as one.
 */
export async function compileSqliteInto(dir: string, opts: CompileOptions & { entry: Dependency }): Promise<void> {
  const compiler = compilerFrom(opts.env);
  if (!(await which(compiler.command, opts.env))) throw new UserError('No C compiler to build SQLite', [`${compiler.shown} is not on PATH.`, 'Run the release script where a C compiler is installed (build-essential), or point CC at one.']);
  await compileFromSource(opts, opts.entry, compiler, dir);
  await smokeTest(dir, opts.entry.version, opts.env);
}

/** What fetching and compiling need from the install options. */
type CompileOptions = Pick<InstallSqliteOptions, 'env' | 'log' | 'mirrors'>;

/** Downloads and verifies `entry`, streaming its archive (entries under `prefix`) into `dest`. */
async function fetchInto(opts: CompileOptions, entry: Dependency, dest: string, what: string): Promise<void> {
  await fetchIntoLayer(entry, dest, { prefix: archivePrefix(entry), what, mirrors: opts.mirrors, log: opts.log });
}

async function installPrebuilt(opts: InstallSqliteOptions, entry: Dependency, dir: string): Promise<void> {
  const started = Date.now();
  await fetchInto(opts, entry, dir, `SQLite ${entry.version} (prebuilt for ${(entry.distros ?? []).map((x) => `${x.name}${x.version ? ` ${x.version}` : ''}`).join(', ')})`);
  const missing = [];
  if (!(await pathExists(path.join(dir, 'include', 'sqlite3.h')))) missing.push('include/sqlite3.h');
  const libs = (await listDir(path.join(dir, 'lib'))).filter((e) => e.name.startsWith('libsqlite3.so'));
  if (libs.length === 0) missing.push('lib/libsqlite3.so*');
  if (missing.length) {
    throw new UserError('Not a prebuilt SQLite archive', [`The archive of SQLite ${entry.version} (${entry.uri}) has no ${missing.join(' and ')} under "${archivePrefix(entry)}".`, 'A prebuilt sqlite entry (one with `distros`) must hold lib/, include/ and bin/ under its `prefix`.']);
  }
  const { real, soname, dev } = libraryNames(entry.version);
  const names = new Set(libs.map((e) => e.name));
  const target = names.has(real) ? real : names.has(soname) ? soname : [...names].sort().reverse()[0]!;
  if (!names.has(soname)) await fsp.symlink(target, path.join(dir, 'lib', soname));
  if (!names.has(dev)) await fsp.symlink(soname, path.join(dir, 'lib', dev));
  const pc = path.join(dir, 'lib', 'pkgconfig', 'sqlite3.pc');
  const text = (await pathExists(pc)) ? relocatePkgConfig(await fsp.readFile(pc, 'utf8'), dir) : pkgConfigFile(dir, entry.version);
  await writeFileAtomic(pc, text);
  opts.log.info(`Installed prebuilt SQLite ${entry.version} in ${formatDuration(Date.now() - started)}`);
}

async function compileFromSource(opts: CompileOptions, entry: Dependency, compiler: Compiler, dir: string): Promise<void> {
  const { log } = opts;
  // The source and objects stay outside the layers: only the finished files are copied in.
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'python-cnb-sqlite-'));
  try {
    const src = path.join(tmp, 'src');
    const out = path.join(tmp, 'out');
    await makeDir(src);
    await fetchInto(opts, entry, src, `SQLite ${entry.version} source`);
    const expected = ['sqlite3.c', 'sqlite3.h', 'sqlite3ext.h', 'shell.c'];
    const absent = [];
    for (const f of expected) if (!(await pathExists(path.join(src, f)))) absent.push(f);
    if (absent.length) {
      throw new UserError('Not a SQLite amalgamation source archive', [`The archive of SQLite ${entry.version} (${entry.uri}) has no ${absent.join(', ')} under "${archivePrefix(entry)}".`, 'The sqlite manifest entry must name the sqlite-autoconf-*.tar.gz release (and its top directory as `prefix`), or a prebuilt archive with `arch` and `distros`.']);
    }
    await makeDir(path.join(out, 'lib'));
    await makeDir(path.join(out, 'bin'));

    const steps = compileSteps(compiler, entry.version, out);
    const extra = [compiler.cflags.length ? `CFLAGS=${compiler.cflags.join(' ')}` : '', compiler.ldflags.length ? `LDFLAGS=${compiler.ldflags.join(' ')}` : ''].filter(Boolean);
    log.info(`Compiling SQLite ${entry.version} with ${compiler.shown} (-O2${extra.length ? `, ${extra.join(', ')}` : ''}; library and CLI in parallel)`);
    const started = Date.now();
    const cc = (args: string[]) => run(compiler.command, args, { cwd: src, env: opts.env, keepLines: 80 });
    // Both cores: the library (the long one, ~30s at -O2) and the CLI object at once.
    const [library, shellObject] = await Promise.all([cc(steps.library), cc(steps.shellObject)]);
    showOutput(log, 'sqlite3.c', library);
    showOutput(log, 'shell.c', shellObject);
    check(compiler, 'the library (sqlite3.c)', steps.library, library);
    check(compiler, 'the sqlite3 command (shell.c)', steps.shellObject, shellObject);
    const { real, soname, dev } = libraryNames(entry.version);
    await fsp.symlink(real, path.join(out, 'lib', soname));
    await fsp.symlink(soname, path.join(out, 'lib', dev));
    const link = await cc(steps.shellLink);
    showOutput(log, 'sqlite3 (link)', link);
    check(compiler, 'the sqlite3 command (linking)', steps.shellLink, link);

    // Into the layer: lib/ (the library and its links), bin/sqlite3, the headers, the .pc file.
    await makeDir(path.join(dir, 'lib', 'pkgconfig'));
    await makeDir(path.join(dir, 'bin'));
    await makeDir(path.join(dir, 'include'));
    await fsp.copyFile(path.join(out, 'lib', real), path.join(dir, 'lib', real));
    await fsp.chmod(path.join(dir, 'lib', real), 0o755);
    await fsp.symlink(real, path.join(dir, 'lib', soname));
    await fsp.symlink(soname, path.join(dir, 'lib', dev));
    await fsp.copyFile(path.join(out, 'bin', 'sqlite3'), path.join(dir, 'bin', 'sqlite3'));
    await fsp.chmod(path.join(dir, 'bin', 'sqlite3'), 0o755);
    for (const h of ['sqlite3.h', 'sqlite3ext.h']) await fsp.copyFile(path.join(src, h), path.join(dir, 'include', h));
    await writeFileAtomic(path.join(dir, 'lib', 'pkgconfig', 'sqlite3.pc'), pkgConfigFile(dir, entry.version));
    log.info(`Compiled SQLite ${entry.version} in ${formatDuration(Date.now() - started)} (${SQLITE_FEATURES.join(', ')})`);
  } finally {
    await removePath(tmp);
  }
}

/** What the compiler said on success (warnings), once the step is over, so parallel output never interleaves. */
function showOutput(log: Log, what: string, r: RunResult): void {
  const text = r.tail.join('\n').trim();
  if (r.exitCode !== 0 || !text) return;
  log.detail(`${what}: the compiler said:`);
  log.commandOutput(`${text}\n`);
}

function check(compiler: Compiler, what: string, args: string[], r: RunResult): void {
  try {
    checkExit(compiler.command, args, r);
  } catch (e) {
    whenCommandFails((f) => ({
      title: 'SQLite failed to compile',
      lead: `${compiler.shown} exited with code ${f.exitCode} while compiling ${what}. Its output${f.tail.length >= 80 ? ' (last 80 lines)' : ''}:`,
      lines: (f.tail.length ? f.tail : ['(no output)']).map((l) => `    ${l}`),
      fix: [`Check the compiler settings in the build environment (${compiler.shown}${compiler.cflags.length ? `, CFLAGS=${compiler.cflags.join(' ')}` : ''}${compiler.ldflags.length ? `, LDFLAGS=${compiler.ldflags.join(' ')}` : ''}), or set BP_PYTHON_SQLITE=false to skip SQLite.`],
    }))(e);
  }
}

/** The installed CLI must run against the installed library and report the expected version. */
async function smokeTest(dir: string, version: string, env: Record<string, string>): Promise<void> {
  const cli = path.join(dir, 'bin', 'sqlite3');
  if (!(await pathExists(cli))) return; // a prebuilt archive without the CLI: the library is what matters
  const libDir = path.join(dir, 'lib');
  const r = await run(cli, ['-version'], { env: { ...env, LD_LIBRARY_PATH: env.LD_LIBRARY_PATH ? `${libDir}:${env.LD_LIBRARY_PATH}` : libDir }, keepLines: 20 });
  const said = r.tail.join('\n').trim();
  if (r.exitCode !== 0 || !said.startsWith(`${version} `)) {
    throw new UserError('The installed SQLite does not work', [`\`sqlite3 -version\` ${r.exitCode !== 0 ? `exited with code ${r.exitCode}` : `printed a different version than ${version}`}:`, '', ...(said ? said.split('\n').map((l) => `    ${l}`) : ['    (no output)']), '', 'Check CC, CFLAGS and LDFLAGS, or the prebuilt archive in the manifest.']);
  }
}

/**
 * SQLite needs neither Python nor the dependencies, so it is built beside the Python install (its
 * log is kept and shown after). `join` waits for it and adds the layer to the build env: the
 * dependency install needs it, because packages with C extensions compile against sqlite3.h.
 */
export function startSqlite(opts: { layersDir: string; wanted: boolean; explicit: boolean; entry?: Dependency; target: Target; mirrors: ReadonlyArray<MirrorConfig | undefined>; env: BuildEnv }): { join(env: BuildEnv, log: Log): Promise<BuildEnv> } {
  if (!opts.wanted) {
    return {
      async join(env, log) {
        log.step('Installing SQLite3');
        await removeSqliteLayer(opts.layersDir, log);
        return env;
      },
    };
  }
  const buffered = Log.buffered();
  const task = installSqlite({ layersDir: opts.layersDir, entry: opts.entry, target: opts.target, mirrors: opts.mirrors, env: opts.env.toRecord(), log: buffered.log, explicitlyRequested: opts.explicit });
  task.catch(() => undefined); // awaited in join; do not let it go unhandled meanwhile
  return {
    async join(env, log) {
      const started = Date.now();
      let result: SqliteResult;
      try {
        result = await task;
      } finally {
        log.step(`Installing SQLite3 (built beside the Python install${Date.now() - started > 50 ? `; waited ${formatDuration(Date.now() - started)} for it` : ''})`);
        buffered.flushTo(log);
      }
      return result.dir && result.env ? env.withLayer(result.dir, result.env) : env;
    },
  };
}
