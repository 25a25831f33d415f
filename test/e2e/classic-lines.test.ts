// The classic lines 3.6 and 3.7 (Heroku's classic buildpack documents python-3.6.13 and
// python-3.7.10), end to end. python-build-standalone never built them, and their python.org
// tarballs are not reachable from this machine, so the compile itself is proved on 2.7.18 and 3.9.2
// (source-runtime.test.ts). Here a 3.6 and a 3.7 arrive as an operator serves them after
// `npm run build-runtime`: an install_only archive listed in BP_PYTHON_MANIFEST (pyenv's 3.6.15 and
// 3.7.16 of this machine, packed by test/setup/prepare-runtimes.sh in the same layout, with the "m"
// ABI of their file names: python3.6m, libpython3.6m.so, config-3.6m-*). Everything after the
// install is what a compiled 3.6.13 or 3.7.10 goes through: the pip of its line (21.3.1, 24.0), the
// venv, the end-of-life warning, bytecode that stays valid in the image (3.6 has no hash-based .pyc:
// the timestamp path), and the exported image's web process answering HTTP.
import * as path from 'node:path';
import { readFixtureIndex } from '../helpers/mirror';
import { useLoopbackSources } from '../helpers/sources';
import { findPyc, loadedFromBytecode, notFromBytecode, startWebProcess, verboseImports, type PulledImage } from '../helpers/image';
import { freePort } from '../helpers/registry';
import { describeE2E, startE2E, type E2E } from './support';

/** The archive of a classic line among the fixtures (pyenv has one patch release of each). */
function classicRuntime(minor: string): string {
  const found = (readFixtureIndex().classic_runtimes ?? []).find((r) => r.version.startsWith(`${minor}.`));
  if (!found) throw new Error(`no Python ${minor} archive in .cache/fixtures/runtimes (test/setup/prepare-runtimes.sh packs pyenv's ${minor}.x)`);
  return found.version;
}

describeE2E('the classic lines 3.6 and 3.7 from an operator archive: pip of the line, valid bytecode, HTTP', () => {
  let e2e: E2E;
  beforeAll(async () => {
    e2e = await startE2E();
  });
  afterAll(async () => {
    await e2e?.close();
  });

  describe.each([
    { minor: '3.6', pip: '21.3.1', requires: '>=3.6', passedOver: '24.0 needs >=3.7', eol: '2021-12-23', bytecode: /Python 3\.6 writes timestamp bytecode only: .*\(\d+ re-stamped, \d+ compiled/ },
    { minor: '3.7', pip: '24.0', requires: '>=3.7', passedOver: '25.0.1 needs >=3.8', eol: '2023-06-27', bytecode: /Compiled the packages' bytecode \(checked-hash\)/ },
  ])('Python $minor', ({ minor, pip, requires, passedOver, eol, bytecode }) => {
    let image: PulledImage | undefined;
    afterAll(() => image?.cleanup());

    it('builds with the pip of its line, and the exported image answers HTTP and imports from valid bytecode', async () => {
      const version = classicRuntime(minor);
      const s = await e2e.scenario('source-python-3.9.2');
      s.writeAppFile('runtime.txt', `python-${version}\n`);
      await useLoopbackSources(s, { mirror: e2e.mirror, index: e2e.index }, { versions: ['3.11', version] });
      const repo = `python-cnb/classic-${minor.replace('.', '-')}`;
      const r = await e2e.build(s, repo);
      if (!r.success) throw new Error(`build failed in ${r.failedPhase}:\n${r.log}`);
      expect(r.buildLog).toContain(`Using pip ${pip}, the newest pinned pip whose Requires-Python ${requires} admits Python ${version}; pip ${passedOver}`);
      expect(r.buildLog).toMatch(new RegExp(`Python ${minor.replace('.', '\\.')} has reached end-of-life[\\s\\S]*stopped receiving security fixes on ${eol}`));
      expect(r.buildLog).toMatch(bytecode);
      expect(r.buildLog).not.toContain('Compiling Python');

      image = e2e.pull(s, repo);
      const port = await freePort();
      const web = await startWebProcess(image.rootfs, { port });
      try {
        expect(web.response.body).toMatch(new RegExp(`^Hello from Python ${version.replace(/\./g, '\\.')} \\(six 1\\.17\\.0, OpenSSL \\d`));
      } finally {
        await web.stop();
      }

      // As the run user, through the launcher: the stdlib and the venv's packages load from their
      // .pyc (none stale, none compiled in memory), and nothing is written.
      const layers = image.layersDir;
      const before = findPyc(image.rootfs, layers);
      const { code, output, lines } = await verboseImports(image, ['six', 'waitress', 'json', 'email.message']);
      expect({ code, tail: code === 0 ? '' : output.slice(-2000) }).toEqual({ code: 0, tail: '' });
      const fromPyc = loadedFromBytecode(lines);
      expect(fromPyc.some((f) => f.includes(`${path.sep}waitress${path.sep}__pycache__${path.sep}__init__.`))).toBe(true);
      expect(fromPyc.some((f) => f.includes(`${path.sep}six.`))).toBe(true);
      expect(fromPyc.some((f) => new RegExp(`python${minor.replace('.', '\\.')}/json/__pycache__/__init__\\.`).test(f))).toBe(true);
      expect(notFromBytecode(lines)).toEqual([]);
      expect(findPyc(image.rootfs, layers)).toEqual(before);
    });
  });
});
