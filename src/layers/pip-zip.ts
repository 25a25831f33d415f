// The pip layer's package in one zip. The layer is cached, and the lifecycle pays for a cached
// layer by its files on every build: the restorer unpacks each one and the exporter packs it again
// to find it unchanged. pip 26.3 with its bytecode is ~960 files: measured here, `tar -x` of the
// layer takes 0.18-0.20 s and `tar | sha256sum` 0.11 s, a third of a warm Flask rebuild's whole
// lifecycle. Zipped, it is the zip (one 11 MiB stream), a .pth, bin/pip* and the dist-info: 34
// files for pip 26.3, most of them the license texts in its dist-info.
//
// How pip runs from it: `<site-packages>/pip.pth` names `pip.zip`, so `site` puts the zip on
// sys.path wherever the layer's user site is (PYTHONUSERBASE), and `python -m pip`, `bin/pip` and
// pip's own subprocesses (it runs `python <zip>/pip` for build isolation: pip supports running
// from a zip since 22.3, https://pip.pypa.io/en/stable/installation/#standalone-zip-application)
// import it there. The sources stay in the zip beside their bytecode: pyproject_hooks hands
// `_in_process.py` to a subprocess as a file, and tracebacks show source lines. The bytecode is
// compiled `unchecked-hash` in the legacy place (`module.pyc` beside `module.py`, the only place
// zipimport looks): a timestamp .pyc would be "stale" against the zip's 1980 entry times, and
// Python 3.7's C zipimport ignores checked-hash ones; so zipimport never compiles pip's sources.
//
// Python 3.7+ and pip 22.3+ only: the pips for 3.6 and 2.7 (21.3.1, 20.3.4) read certifi's
// cacert.pem by file path, which a zip has not, their Pythons have no hash-based bytecode, and a
// pip older than 22.3 runs from the venv through PYTHONPATH (src/managers/pip-runner.ts). pip 24.0
// (for 3.7) run from a zip extracts that file into TMPDIR and leaves it there: the build's
// scratch TMPDIR takes it away (src/io/fs.ts, useBuildScratchAsTmpdir).
import * as pep440 from '@renovatebot/pep440';
import { formatBytes } from '../log';
import { whenCommandFails } from '../explain';
import { runOrThrow } from '../io/exec';
import type { BuildEnv } from '../cnb/build-env';

export function pipRunsZipped(pythonVersion: string, pipVersion: string): boolean {
  const [major, minor] = pythonVersion.split('.').map(Number);
  return major === 3 && (minor ?? 0) >= 7 && pep440.valid(pipVersion) !== null && pep440.gte(pipVersion, '22.3');
}

export interface ZipReport {
  files: number;
  bytes: number;
}

/**
 * Replaces <user site>/pip (installed with --no-compile) by <user site>/pip.zip and pip.pth, with
 * the runtime that will run it (its magic number in the bytecode). Entries sorted, dated 1980, and
 * PYTHONHASHSEED=0: the same bytes on every build. Written to a .part file and renamed, so a crash
 * leaves no half zip for the layer to be committed with (the layer is removed on any error anyway).
 */
export async function zipPipPackage(python: string, layerDir: string, env: BuildEnv): Promise<ZipReport> {
  let out = '';
  await runOrThrow(python, ['-B', '-c', ZIP_PIP], {
    env: env.with({ PYTHONUSERBASE: layerDir, PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1' }).toRecord(),
    onOutput: (c) => (out += c),
  }).catch(
    whenCommandFails(() => ({
      title: 'Could not pack pip into its zip',
      lead: "The runtime's python failed to compile pip's modules or to write pip.zip in the pip layer (nothing was cached):",
      fix: ['The output above says why (a full disk, or a runtime without a working multiprocessing: compileall compiles on every core). Retry the build; if it fails again, report it with this log.'],
    })),
  );
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as ZipReport;
}

export function describeZip(z: ZipReport): string {
  return `packed into one zip (${z.files} files, ${formatBytes(z.bytes)}), which the cache restores in one piece`;
}

const ZIP_PIP = String.raw`
import compileall, json, os, py_compile, shutil, site, sys, zipfile

def main():
    sp = site.getusersitepackages()
    pkg = os.path.join(sp, 'pip')
    ok = compileall.compile_dir(pkg, quiet=1, legacy=True, workers=os.cpu_count() or 1,
                                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    if not ok:
        sys.exit('pip did not compile')
    target = os.path.join(sp, 'pip.zip')
    files = 0
    with zipfile.ZipFile(target + '.part', 'w', zipfile.ZIP_STORED) as out:
        for root, dirs, names in os.walk(pkg):
            dirs.sort()
            dirs[:] = [d for d in dirs if d != '__pycache__']
            for name in sorted(names):
                full = os.path.join(root, name)
                info = zipfile.ZipInfo(os.path.relpath(full, sp), (1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                with open(full, 'rb') as f:
                    out.writestr(info, f.read())
                files += 1
    os.replace(target + '.part', target)
    shutil.rmtree(pkg)
    with open(os.path.join(sp, 'pip.pth'), 'w') as f:
        f.write('pip.zip\n')
    print(json.dumps({'files': files, 'bytes': os.path.getsize(target)}))

if __name__ == '__main__':
    main()
`;
