// The last step of every runtime install (a python-build-standalone archive, or CPython built from
// source): make the runtime's bytecode valid in the exported image and the layer reproducible, and
// keep out of the launch layer what no app runs.
//
// Why: python-build-standalone's archives ship no .pyc at all (its build deletes every
// __pycache__), and CPython's `make install` writes timestamp-based .pyc at three optimisation
// levels. The exporter resets every mtime to 1980, so in the image a timestamp .pyc no longer
// matches its source, and a missing one is missing: Python compiles the stdlib it imports on every
// start (about 1.5 s) and cannot write the result (the layer is read-only for the run user); and
// whatever the build wrote makes the layer's digest differ from one fresh build to the next. A
// hash-based .pyc (PEP 552) records a hash of its source instead, which survives any mtime.
//
// checked-hash, not unchecked-hash: Python hashes the source of each stdlib module it imports
// (SipHash over the bytes it would read anyway; no difference we could measure in start time, see
// the README), and in exchange an edited stdlib file is still seen instead of silently ignored.
// pip compiles site-packages the same way (SOURCE_DATE_EPOCH makes py_compile default to
// checked-hash).
//
// Dropped: the -O/-OO bytecode (*.opt-1.pyc, *.opt-2.pyc; nothing runs Python with -O here, and
// such a start compiles in memory like any missing .pyc) and the runtime's own pip in
// site-packages (the pinned pip lives in the build-only pip layer; the venv is made without pip).
// ensurepip's bundled wheel stays: one file, and `python -m venv` and `ensurepip` keep working in
// the image. When this build installs a tool layer with it (uv, Poetry, Pipenv), the dropped pip
// is moved to a scratch directory for the rest of this build (bootstrapPipPath); otherwise an
// archive's is not even unpacked (runtimeLeaveOut). In a later build that reuses the python layer,
// ensurepip's wheel serves instead (slower: run from a zip, it is compiled as it runs).
import { promises as fsp, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runOrThrow } from '../io/exec';
import type { ExtractStats } from '../io/extract';
import { listDir, pathExists } from '../io/fs';
import { formatBytes, formatDuration, type Log } from '../log';

/** What the python layer's key records about this step: bump it when the step changes, so a
 *  layer finished the old way is not reused. */
export const RUNTIME_LAYOUT = 'checked-hash-pyc, no -O/-OO bytecode, no bundled pip';

export interface BytecodeReport {
  /** Timestamp .pyc (valid for their source) whose header was rewritten hash-based. */
  restamped: number;
  /** Already hash-based and valid. */
  kept: number;
  /** .py without a valid .pyc, compiled. */
  compiled: number;
  /** .py that do not compile (test data with deliberate syntax errors): left without a .pyc. */
  uncompilable: number;
  /** -O/-OO bytecode removed. */
  optimizedFiles: number;
  optimizedBytes: number;
}

/** `-O`/`-OO` bytecode (`__pycache__/x.cpython-311.opt-1.pyc`), which no app runs: an archive's
 *  are not unpacked at all (src/io/extract.ts, leaveOut), the rest are removed by the finish. */
export function isOptimizedBytecode(rel: string): boolean {
  return /(^|\/)__pycache__\/[^/]+\.opt-[12]\.pyc$/.test(rel);
}

/** The labels an archive's unpack counts what it left out under (ExtractStats.leftOut). */
const OPTIMIZED_BYTECODE = '-O/-OO bytecode';
const BUNDLED_PIP = 'bundled pip';
const BUNDLED_PIP_PACKAGE = /^lib\/python3\.\d+\/site-packages\/pip(-([^/]+)\.dist-info)?(\/|$)/;

/**
 * What the unpack of a runtime archive leaves out: the -O/-OO bytecode always; the runtime's own
 * pip (site-packages/pip/ and its dist-info; bin/pip* are links and scripts, removed by the finish)
 * unless this build installs a tool layer with it (uv, Poetry, Pipenv: bootstrapPipPath). pip
 * itself is installed from its own wheel, so a pip app never needs it: 1,003 files (14 MiB) of
 * python-build-standalone's 3.11 that were written, moved aside and deleted on every cold build.
 * The dist-info's files carry the pip version in their label, for the log.
 */
export function runtimeLeaveOut(keepBundledPip: boolean): (rel: string) => string | undefined {
  return (rel) => {
    if (isOptimizedBytecode(rel)) return OPTIMIZED_BYTECODE;
    if (keepBundledPip) return undefined;
    if (rel.startsWith('bin/') && PIP_SCRIPT.test(rel.slice(4))) return BUNDLED_PIP;
    const pip = BUNDLED_PIP_PACKAGE.exec(rel);
    if (!pip) return undefined;
    return pip[2] ? `${BUNDLED_PIP} ${pip[2]}` : BUNDLED_PIP;
  };
}

/** The bundled pip an unpack left out (from runtimeLeaveOut's labels), if it left one out. */
function leftOutPip(leftOut: ExtractStats['leftOut']): { version: string; files: number; bytes: number } | undefined {
  const labels = Object.keys(leftOut).filter((l) => l === BUNDLED_PIP || l.startsWith(`${BUNDLED_PIP} `));
  if (!labels.length) return undefined;
  const version = labels.find((l) => l !== BUNDLED_PIP)?.slice(BUNDLED_PIP.length + 1) ?? 'unknown';
  return { version, files: labels.reduce((n, l) => n + leftOut[l]!.files, 0), bytes: labels.reduce((n, l) => n + leftOut[l]!.bytes, 0) };
}

export interface FinishedRuntime {
  bytecode: BytecodeReport;
  /** The runtime's own pip, moved out of the layer (undefined when it had none). */
  bundledPip?: { version: string; files: number; bytes: number };
  /** A sys.path entry holding a pip that can install the tool layers (see bootstrapPipPath). */
  bootstrapPip?: string;
}

/**
 * Finishes a runtime installed at `prefix` (bin/python3, lib/python3.X/): run it after anything
 * that edits the stdlib (the relocation of the sysconfig data), so those files are hashed as they
 * will ship. Logs what it dropped and what it compiled.
 */
export async function finishRuntimeInstall(prefix: string, opts: { minor: string; log: Log; leftOut?: ExtractStats['leftOut'] }): Promise<FinishedRuntime> {
  const { log } = opts;
  const started = Date.now();
  const stdlib = path.join(prefix, 'lib', `python${opts.minor}`);
  const movedPip = await moveBundledPipAside(prefix, stdlib);
  const scripts = await removePipScripts(prefix);
  const bundledPip = movedPip ? { ...movedPip, files: movedPip.files + scripts } : leftOutPip(opts.leftOut ?? {});
  const legacy = !hasHashBasedPyc(opts.minor);
  const found = await compileStdlib(path.join(prefix, 'bin', legacy ? `python${opts.minor}` : 'python3'), stdlib, legacy);
  // The -O/-OO bytecode the unpack left out counts as dropped too.
  const unpackedNot = opts.leftOut?.[OPTIMIZED_BYTECODE] ?? { files: 0, bytes: 0 };
  const bytecode = { ...found, optimizedFiles: found.optimizedFiles + unpackedNot.files, optimizedBytes: found.optimizedBytes + unpackedNot.bytes };
  const dropped = [`${bytecode.optimizedFiles} -O/-OO bytecode files (*.opt-1.pyc, *.opt-2.pyc; ${formatBytes(bytecode.optimizedBytes)})`];
  if (bundledPip) dropped.push(`the runtime's bundled pip ${bundledPip.version} (${bundledPip.files} files, ${formatBytes(bundledPip.bytes)}; the pinned pip is in the pip layer)`);
  log.info(`Dropped what no app runs: ${dropped.join(' and ')}`);
  const compiled = bytecode.compiled ? `, compiled ${bytecode.compiled} .py that had none` : '';
  const skipped = bytecode.uncompilable ? ` (${bytecode.uncompilable} .py do not compile and were left as they are)` : '';
  if (legacy) {
    log.info(`Python ${opts.minor} has no hash-based bytecode (PEP 552 came in 3.7): set the standard library's .py mtimes to the one the exporter gives every file (1980-01-01 00:00:01 UTC) and compiled ${bytecode.compiled} .py against it (${bytecode.restamped} .pyc that were valid only had their recorded mtime rewritten)${skipped}, so the bytecode stays valid in the image, in ${formatDuration(Date.now() - started)}`);
  } else {
    log.info(`Made the standard library's bytecode hash-based (checked-hash, valid whatever the image's mtimes): re-stamped ${bytecode.restamped} .pyc, ${bytecode.kept} already hash-based${compiled}${skipped}, in ${formatDuration(Date.now() - started)}`);
  }
  return { bytecode, ...(bundledPip ? { bundledPip } : {}), ...(movedPip ? { bootstrapPip: movedPip.dir } : {}) };
}

/**
 * A sys.path entry with a pip that the build can run as `python -m pip` (PYTHONPATH) to install
 * the tool layers, now that the python layer holds none: the bundled pip moved aside by
 * finishRuntimeInstall in this build, else ensurepip's bundled wheel (pip runs from a wheel on
 * sys.path, as ensurepip itself runs it), else undefined.
 */
export async function bootstrapPipPath(prefix: string, minor: string, finished?: FinishedRuntime): Promise<string | undefined> {
  if (finished?.bootstrapPip) return finished.bootstrapPip;
  const bundled = path.join(prefix, 'lib', `python${minor}`, 'ensurepip', '_bundled');
  const wheel = (await listDir(bundled)).find((e) => e.kind === 'file' && /^pip-.*\.whl$/.test(e.name));
  return wheel ? path.join(bundled, wheel.name) : undefined;
}

/** The env that makes `python -m pip` find that pip (PYTHONPATH, which the build env never
 *  carries from the platform: src/unsafe-env.ts removes it). */
export function bootstrapPipEnv(bootstrapPip: string | undefined): Record<string, string> {
  return bootstrapPip ? { PYTHONPATH: bootstrapPip } : {};
}

/** Moves site-packages/pip and its dist-info (and bin/pip*, which run it) out of the layer into a
 *  scratch directory, removed when the build process exits. */
async function moveBundledPipAside(prefix: string, stdlib: string): Promise<(FinishedRuntime['bundledPip'] & { dir: string }) | undefined> {
  const sitePackages = path.join(stdlib, 'site-packages');
  const entries = (await listDir(sitePackages)).filter((e) => e.name === 'pip' || /^pip-.+\.dist-info$/.test(e.name));
  if (!entries.some((e) => e.name === 'pip')) return undefined;
  const version = /^pip-(.+)\.dist-info$/.exec(entries.find((e) => e.name !== 'pip')?.name ?? '')?.[1] ?? 'unknown';
  const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'python-cnb-bootstrap-pip-'));
  // Needed until the tool layers are installed, later in this build: gone when the build process is.
  process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
  let files = 0;
  let bytes = 0;
  for (const e of entries) {
    const size = await treeSize(path.join(sitePackages, e.name));
    files += size.files;
    bytes += size.bytes;
    await move(path.join(sitePackages, e.name), path.join(scratch, e.name));
  }
  return { version, files, bytes, dir: scratch };
}

const PIP_SCRIPT = /^pip(3(\.\d+)?)?$/;

/** Removes bin/pip, pip3, pip3.X (they run the bundled pip, which the layer no longer has). */
async function removePipScripts(prefix: string): Promise<number> {
  const scripts = (await listDir(path.join(prefix, 'bin'))).filter((e) => PIP_SCRIPT.test(e.name));
  await Promise.all(scripts.map((e) => fsp.rm(path.join(prefix, 'bin', e.name), { force: true })));
  return scripts.length;
}

/** rename, or copy and remove when the scratch directory is on another filesystem; mtimes are
 *  kept, so pip's own timestamp .pyc stay valid and it starts as fast as before. */
async function move(from: string, to: string): Promise<void> {
  try {
    await fsp.rename(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await fsp.cp(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    await fsp.rm(from, { recursive: true, force: true });
  }
}

async function treeSize(p: string): Promise<{ files: number; bytes: number }> {
  const st = await fsp.lstat(p);
  if (!st.isDirectory()) return { files: 1, bytes: st.size };
  let files = 0;
  let bytes = 0;
  for (const name of await fsp.readdir(p)) {
    const s = await treeSize(path.join(p, name));
    files += s.files;
    bytes += s.bytes;
  }
  return { files, bytes };
}

/**
 * Runs COMPILE_STDLIB with the runtime itself (its own importlib knows its magic number and source
 * hash). PYTHONHASHSEED=0: a compiled frozenset constant's order follows string hashes, so a
 * random seed would make two compiles of one file differ; -B: the script writes no .pyc of its own
 * beyond those it means to.
 */
async function compileStdlib(python: string, stdlib: string, legacy: boolean): Promise<BytecodeReport> {
  if (!(await pathExists(stdlib))) throw new Error(`${stdlib}: no standard library to compile`);
  return runBytecodeScript(python, stdlib, legacy ? COMPILE_LEGACY : COMPILE_STDLIB);
}

async function runBytecodeScript(python: string, dir: string, script: string): Promise<BytecodeReport> {
  let out = '';
  await runOrThrow(python, ['-B', '-s', '-c', script, dir], {
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1' },
    onOutput: (c) => (out += c),
  });
  const last = out.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as BytecodeReport;
}

/**
 * One walk of the stdlib (Python 3.8+). For each .py: a timestamp .pyc that is valid for it (the
 * same mtime and size check the import system makes) holds the compile of exactly that source, and
 * the marshalled code after the 16-byte header does not depend on the invalidation mode, so only
 * the header is rewritten (flags + the source hash): ~1 s where recompiling the stdlib takes 10-20 s.
 * Any other .py is compiled checked-hash, on every core when there are many (python-build-standalone
 * strips every __pycache__ from its archives, so there it is the whole stdlib). The -O/-OO .pyc are
 * removed. Prints the counts as JSON.
 */
const COMPILE_STDLIB = String.raw`
import importlib.util, json, multiprocessing, os, py_compile, sys
from concurrent.futures import ProcessPoolExecutor

CHECKED = (0b11).to_bytes(4, 'little')

def compile_one(full):
    try:
        py_compile.compile(full, importlib.util.cache_from_source(full), doraise=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
        return True
    except (py_compile.PyCompileError, SyntaxError, ValueError):
        return False

def main(root):
    counts = dict(restamped=0, kept=0, compiled=0, uncompilable=0, optimizedFiles=0, optimizedBytes=0)
    to_compile = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(d, name)
            if name.endswith(('.opt-1.pyc', '.opt-2.pyc')):
                counts['optimizedFiles'] += 1
                counts['optimizedBytes'] += os.lstat(full).st_size
                os.remove(full)
                continue
            if not name.endswith('.py') or os.path.islink(full):
                continue
            pyc = importlib.util.cache_from_source(full)
            with open(full, 'rb') as f:
                source = f.read()
            try:
                with open(pyc, 'rb') as f:
                    old = f.read()
            except OSError:
                old = b''
            if old[:4] == importlib.util.MAGIC_NUMBER and len(old) >= 16:
                flags = int.from_bytes(old[4:8], 'little')
                st = os.stat(full)
                if flags == 0 and int.from_bytes(old[8:12], 'little') == int(st.st_mtime) & 0xFFFFFFFF and int.from_bytes(old[12:16], 'little') == st.st_size & 0xFFFFFFFF:
                    with open(pyc, 'wb') as f:
                        f.write(old[:4] + CHECKED + importlib.util.source_hash(source) + old[16:])
                    counts['restamped'] += 1
                    continue
                if flags & 1 and old[8:16] == importlib.util.source_hash(source):
                    if old[4:8] != CHECKED:
                        with open(pyc, 'wb') as f:
                            f.write(old[:4] + CHECKED + old[8:])
                    counts['kept'] += 1
                    continue
            to_compile.append(full)
    # python-build-standalone's archives ship no .pyc at all: then this is the whole stdlib, on every core.
    if len(to_compile) > 50 and (os.cpu_count() or 1) > 1:
        with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=multiprocessing.get_context('fork')) as pool:
            results = list(pool.map(compile_one, to_compile, chunksize=16))
    else:
        results = [compile_one(f) for f in to_compile]
    counts['compiled'] = sum(results)
    counts['uncompilable'] = len(results) - counts['compiled']
    print(json.dumps(counts))

if __name__ == '__main__':
    main(sys.argv[1])
`;

/** PEP 552 (hash-based .pyc) is in Python 3.7 and later. */
function hasHashBasedPyc(minor: string): boolean {
  const [major, min] = minor.split('.').map(Number) as [number, number];
  return major > 3 || (major === 3 && min >= 7);
}

/**
 * The same walk for Pythons without hash-based .pyc (2.7, 3.6: source-built classic runtimes, and
 * the venvs pip fills for them). A timestamp .pyc is valid when it records its source's mtime (and,
 * from 3.3, its size); the lifecycle's exporter sets every file's mtime to 1980-01-01 00:00:01 UTC
 * (315532801), so each source gets that mtime now and its .pyc records it: the bytecode is then
 * valid in the image and the same on every build. A .pyc that is valid for its source as it was
 * (what `make install` or pip just wrote) holds the compile of exactly that source, and the
 * marshalled code does not depend on the mtime, so only its header's mtime is rewritten; any
 * other .py is compiled. Removes the optimized bytecode (.pyo, *.opt-N.pyc). Python 2 and 3
 * syntax alike. Prints the counts as JSON.
 */
const COMPILE_LEGACY = String.raw`
import json, os, py_compile, struct, sys
try:
    from importlib.util import MAGIC_NUMBER, cache_from_source
    CHECKS_SIZE = True
except ImportError:  # Python 2: <module>.pyc beside the source, no size in the header
    import imp
    MAGIC_NUMBER = imp.get_magic()
    cache_from_source = lambda path: path + 'c'
    CHECKS_SIZE = False

EXPORTED_MTIME = 315532801

def valid_for(pyc, st):
    try:
        with open(pyc, 'rb') as f:
            head = f.read(12)
    except (IOError, OSError):
        return False
    if len(head) < 12 or head[:4] != MAGIC_NUMBER:
        return False
    if struct.unpack('<I', head[4:8])[0] != int(st.st_mtime) & 0xFFFFFFFF:
        return False
    return not CHECKS_SIZE or struct.unpack('<I', head[8:12])[0] == st.st_size & 0xFFFFFFFF

def main(root):
    counts = dict(restamped=0, kept=0, compiled=0, uncompilable=0, optimizedFiles=0, optimizedBytes=0)
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(d, name)
            if name.endswith(('.pyo', '.opt-1.pyc', '.opt-2.pyc')):
                counts['optimizedFiles'] += 1
                counts['optimizedBytes'] += os.lstat(full).st_size
                os.remove(full)
                continue
            if not name.endswith('.py') or os.path.islink(full):
                continue
            st = os.stat(full)
            pyc = cache_from_source(full)
            fresh = valid_for(pyc, st)
            os.utime(full, (EXPORTED_MTIME, EXPORTED_MTIME))
            if fresh and int(st.st_mtime) == EXPORTED_MTIME:
                counts['kept'] += 1
            elif fresh:
                with open(pyc, 'r+b') as f:
                    f.seek(4)
                    f.write(struct.pack('<I', EXPORTED_MTIME))
                counts['restamped'] += 1
            else:
                try:
                    py_compile.compile(full, doraise=True)
                    counts['compiled'] += 1
                except Exception:
                    counts['uncompilable'] += 1
    print(json.dumps(counts))

if __name__ == '__main__':
    main(sys.argv[1])
`;

/**
 * The bytecode of a venv that pip filled for a Python without hash-based .pyc (2.7, 3.6), made
 * valid in the image as the standard library's is (COMPILE_LEGACY). pip wrote timestamp .pyc
 * against this build's mtimes, which the exporter resets: without this, every start in the image
 * would compile each imported package again and fail to write it (the layer is read-only there).
 */
export async function stampLegacyBytecode(python: string, dir: string): Promise<BytecodeReport> {
  return runBytecodeScript(python, dir, COMPILE_LEGACY);
}

/** Whether a Python writes timestamp .pyc only (no PEP 552): 2.7 and 3.6. */
export function timestampBytecodeOnly(minor: string): boolean {
  return !hasHashBasedPyc(minor);
}
