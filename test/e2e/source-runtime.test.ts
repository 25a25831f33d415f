// CPython compiled from genuine python.org sources, end to end. The tarballs come from Debian's
// package archive, where they are byte-identical to python.org's (test/setup/cpython-sources.sh
// checks python.org's sha256), and a loopback mirror serves them at the python.org URLs of the
// manifest's `kind = "source"` entries (BP_DEPENDENCY_MIRROR_WWW_PYTHON_ORG): nothing is fetched
// from python.org. Each runtime is compiled ONCE in this file: the first build compiles, exports and
// the image's web process answers HTTP; the rebuild on the same layers and cache reuses the
// compiled layer (no compile, no download in the mirror's log). CI time: one configure + make per
// version (no PGO/LTO), measured and printed. Last, the operator path (`npm run build-runtime`):
// a tree compiled here (3.9.2's), packed as an install_only archive with its manifest entry, installs
// through the normal archive path in a fresh build (nothing compiled again).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as TOML from '@iarna/toml';
import type { Dependency } from '../../src/python/manifest';
import { packRuntimeArchive, relocatableScripts, runtimeArchiveEntry, runtimeArchiveName } from '../../src/python/runtime-archive';
import { REPO_ROOT, runBuild, type Scenario } from '../helpers/lifecycle';
import { startMirror, type ManifestEntry, type Mirror } from '../helpers/mirror';
import { freePort } from '../helpers/registry';
import { sourceRuntimeEntry, useLoopbackSources } from '../helpers/sources';
import { loadedFromBytecode, missingLibraries, notFromBytecode, startWebProcess, verboseImports, type PulledImage } from '../helpers/image';
import { describeE2E, layerLines, startE2E, type E2E } from './support';

const SOURCES_ROOT = path.join(REPO_ROOT, '.cache', 'fixtures', 'cpython-source');
/** A compile on a busy 2-core machine: configure + make take minutes, not seconds. */
const COMPILE_TIMEOUT = 45 * 60 * 1000;

function sizeOf(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

describeE2E('CPython compiled from python.org sources (served from Debian\'s copies), exported and run', () => {
  let e2e: E2E;
  let sources: Mirror;
  beforeAll(async () => {
    if (!fs.existsSync(SOURCES_ROOT)) throw new Error(`no ${SOURCES_ROOT}: run test/setup/cpython-sources.sh (scripts/setup.sh does)`);
    [e2e, sources] = await Promise.all([startE2E(), startMirror({ root: SOURCES_ROOT })]);
  });
  afterAll(async () => {
    await Promise.all([e2e?.close(), sources?.close()]);
  });

  const cases = [
    { version: '3.9.2', tarball: 'ftp/python/3.9.2/Python-3.9.2.tar.xz', ssl: /OpenSSL \d/ },
    // 2.7.18 predates OpenSSL 3 (Debian 12's headers), yet its ssl module builds against it.
    { version: '2.7.18', tarball: 'ftp/python/2.7.18/Python-2.7.18.tgz', ssl: /OpenSSL \d/ },
  ];

  /** The scenario that compiled each version (its layers are reused by the operator-path test). */
  const compiledIn = new Map<string, Scenario>();

  describe.each(cases)('Python $version', ({ version, tarball, ssl }) => {
    const minor = version.split('.').slice(0, 2).join('.');
    const repo = `python-cnb/source-python-${version.replace(/\./g, '-')}`;
    let s: Scenario;
    let image: PulledImage | undefined;

    afterAll(() => image?.cleanup());

    it(
      'compiles from the verified source once, and the exported image answers HTTP',
      async () => {
        s = await e2e.scenario(`source-python-${version}`);
        compiledIn.set(version, s);
        await useLoopbackSources(s, { mirror: e2e.mirror, index: e2e.index }, { extraEntries: [sourceRuntimeEntry(version)] });
        s.setEnv('BP_DEPENDENCY_MIRROR_WWW_PYTHON_ORG', sources.url);
        sources.clearLog();
        const r = await e2e.build(s, repo, COMPILE_TIMEOUT);
        if (!r.success) throw new Error(`build failed in ${r.failedPhase}:\n${r.log}`);

        // Compiled, each stage timed, the once-only note; the source came from the mirror, verified.
        expect(r.buildLog).toContain(`Compiling Python ${version} from source`);
        expect(r.buildLog).toMatch(/This happens once: the python layer is cached/);
        expect(r.buildLog).toMatch(/- configure: \d/);
        expect(r.buildLog).toMatch(/- make -j\d+: \d/);
        expect(r.buildLog).toMatch(/- make install: \d/);
        expect(r.buildLog).toContain(`source from ${sources.url}/${tarball} (mirror from BP_DEPENDENCY_MIRROR*)`);
        expect(r.buildLog).toMatch(/sha256 verified/);
        expect(sources.requests().map((q) => `${q.method} ${q.path} ${q.status}`)).toEqual([`GET /${tarball} 200`]);
        const compiled = /Compiled and installed Python \S+ in ((?:\d+m )?[\d.]+m?s)/.exec(r.buildLog)?.[1];
        expect(compiled).toBeDefined();

        // The layer: key names how it was built; no test suites, no static libpython.
        const layer = path.join(s.buildpackLayersDir, 'python');
        const toml = fs.readFileSync(path.join(s.buildpackLayersDir, 'python.toml'), 'utf8');
        expect(toml).toMatch(/build = "source; (gcc|cc|clang)[^"]*; flags: \(none\)"/);
        expect(fs.existsSync(path.join(layer, 'lib', `python${minor}`, 'os.py'))).toBe(true);
        expect(fs.existsSync(path.join(layer, 'lib', `python${minor}`, 'test'))).toBe(false);
        expect(fs.readdirSync(path.join(layer, 'lib')).filter((f) => f.endsWith('.a'))).toEqual([]);
        const readelf = execFileSync('readelf', ['-d', path.join(layer, 'bin', `python${minor}`)], { encoding: 'utf8' });
        expect(readelf).toMatch(/(RUNPATH|RPATH).*\[\$ORIGIN\/\.\.\/lib\]/);
        process.stderr.write(`source runtime ${version}: compile ${compiled}, build ${r.durationMs} ms, python layer ${(sizeOf(layer) / 1024 ** 2).toFixed(1)} MiB\n`);

        image = e2e.pull(s, repo);
        const pythonInImage = path.join(image.layersDir, 'python-cnb_python', 'python');
        expect(missingLibraries(image.rootfs, [path.join(pythonInImage, 'bin', `python${minor}`)])).toEqual([]);
        const port = await freePort();
        const web = await startWebProcess(image.rootfs, { port });
        try {
          expect(web.response.body).toMatch(new RegExp(`^Hello from Python ${version.replace(/\./g, '\\.')} \\(six 1\\.17\\.0, `));
          expect(web.response.body).toMatch(ssl);
        } finally {
          await web.stop();
        }
        // As the run user: the stdlib and the venv load from valid bytecode (2.7: timestamp .pyc
        // stamped with the exporter's mtime; 3.9: checked-hash), nothing compiled again.
        const { code, output, lines } = await verboseImports(image, ['six', 'waitress', 'json']);
        expect({ code, tail: code === 0 ? '' : output.slice(-2000) }).toEqual({ code: 0, tail: '' });
        const fromPyc = loadedFromBytecode(lines);
        expect(fromPyc.some((f) => /\/waitress\/(__pycache__\/)?__init__\./.test(f))).toBe(true);
        expect(fromPyc.some((f) => new RegExp(`python${minor.replace('.', '\\.')}/json/(__pycache__/)?__init__\\.`).test(f))).toBe(true);
        expect(notFromBytecode(lines)).toEqual([]);
      },
      COMPILE_TIMEOUT,
    );

    it('a rebuild reuses the compiled layer: no compile, no download', async () => {
      if (!s) throw new Error('the first build did not run');
      sources.clearLog();
      e2e.mirror.clearLog();
      const r = await e2e.build(s, repo);
      if (!r.success) throw new Error(`rebuild failed in ${r.failedPhase}:\n${r.log}`);
      expect(r.buildLog).toContain(`Using cached Python ${version}`);
      expect(r.buildLog).not.toContain('Compiling Python');
      expect(sources.requests()).toEqual([]);
      expect(e2e.mirror.requests()).toEqual([]);
      expect(layerLines(r.exportLog).reused).toEqual(expect.arrayContaining(['python', 'site-packages']));
      process.stderr.write(`source runtime ${version}: warm rebuild ${r.durationMs} ms\n`);
    });
  });

  it('the operator path: the compiled tree packed as an install_only archive installs through the normal archive path', async () => {
    // What `npm run build-runtime` does after compiling (same functions), applied to a tree a build
    // above compiled (3.9.2's, or 2.7.18's when only that one ran), so that nothing is compiled again.
    const version = compiledIn.has('3.9.2') ? '3.9.2' : '2.7.18';
    const compiled = compiledIn.get(version);
    if (!compiled) throw new Error('no source build ran');
    const minor = version.split('.').slice(0, 2).join('.');
    const pydoc = version.startsWith('2.') ? 'pydoc' : `pydoc${minor}`;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-runtime-archive-'));
    let archives: Mirror | undefined;
    try {
      const prefix = path.join(work, 'python');
      execFileSync('cp', ['-a', path.join(compiled.buildpackLayersDir, 'python'), prefix]);
      const scripts = await relocatableScripts(prefix, version);
      expect(scripts).toContain(pydoc);
      expect(fs.readFileSync(path.join(prefix, 'bin', pydoc), 'utf8')).toMatch(/^#!\/bin\/sh\n'''exec' /);
      const out = path.join(work, 'out');
      fs.mkdirSync(out, { mode: 0o755 });
      const target = { os: 'linux', arch: process.arch === 'arm64' ? 'arm64' : 'amd64', distroName: 'debian', distroVersion: '12' };
      const name = runtimeArchiveName(version, target);
      const { sha256 } = await packRuntimeArchive(prefix, path.join(out, name));
      archives = await startMirror({ root: out });
      const source = sourceRuntimeEntry(version);
      const toml = runtimeArchiveEntry({ source: source as unknown as Dependency, target, uri: archives.urlFor(name), sha256 });
      const entry = (TOML.parse(toml) as { dependencies: ManifestEntry[] }).dependencies[0]!;
      expect(entry).toMatchObject({ id: 'python', version, prefix: 'python/', checksum: `sha256:${sha256}`, source: source.uri, distros: [{ name: 'debian', version: '12' }] });

      // A fresh app whose manifest lists that archive (and no source): unpacked, relocated, no compile.
      const s = await e2e.scenario(`source-python-${version}`);
      await useLoopbackSources(s, { mirror: e2e.mirror, index: e2e.index }, { extraEntries: [entry] });
      const r = await runBuild(s, { upTo: 'builder' });
      if (!r.success) throw new Error(`build failed in ${r.failedPhase}:\n${r.log}`);
      expect(r.buildLog).toContain(`Downloading Python ${version} from ${archives.urlFor(name)}`);
      expect(r.buildLog).not.toContain('Compiling Python');
      expect(r.buildLog).toMatch(/Pointed \d+ build configuration files at the layer/);
      const layer = path.join(s.buildpackLayersDir, 'python');
      const said = execFileSync(path.join(layer, 'bin', `python${minor}`), ['-c', 'import sys, sysconfig, ssl, six; print(sys.prefix); print(sysconfig.get_config_var("prefix"))'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', PYTHONPATH: path.join(s.buildpackLayersDir, 'site-packages', 'lib', `python${minor}`, 'site-packages') } });
      expect(said.trim().split('\n')).toEqual([layer, layer]);
      // A console script with the trampoline runs from the new place.
      expect(execFileSync(path.join(layer, 'bin', pydoc), ['len'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', PAGER: 'cat' } })).toMatch(/len\(obj/);
    } finally {
      await archives?.close();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
