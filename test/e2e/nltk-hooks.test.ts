// End to end, the classic buildpack's hooks and nltk.txt (fixture nltk-hooks: nltk from the
// loopback index, nltk.txt listing one corpus served by the loopback NLTK index of
// test/helpers/nltk-index.ts, an executable bin/pre_compile and a non-executable bin/post_compile):
// the hooks run in order around the dependency install, what they write is in the exported app,
// the corpus is in the image and `nltk.data.find` finds it as the run user (uid 1002) through the
// launcher, and a warm rebuild downloads nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Scenario } from '../helpers/lifecycle';
import { startProcess, type PulledImage, type RegistryBuildResult } from '../helpers/image';
import { startNltkIndex, type NltkIndex } from '../helpers/nltk-index';
import { describeE2E, layerLines, startE2E, type E2E } from './support';

const REPO = 'python-cnb/nltk-hooks';

describeE2E('bin/pre_compile, bin/post_compile and nltk.txt, exported to a registry', () => {
  let e2e: E2E;
  let nltkIndex: NltkIndex;
  let s: Scenario;
  let build: RegistryBuildResult;
  let image: PulledImage;
  beforeAll(async () => {
    [e2e, nltkIndex] = await Promise.all([startE2E(), startNltkIndex([{ id: 'pythoncnb_words', subdir: 'corpora', files: { 'words.txt': 'alpha\nbeta\ngamma\n', README: 'a test corpus\n' } }])]);
    s = await e2e.scenario('nltk-hooks');
    for (const [k, v] of Object.entries(nltkIndex.env())) s.setEnv(k, v);
    build = await e2e.build(s, REPO);
    if (!build.success) throw new Error(`build failed in ${build.failedPhase}:\n${build.log}`);
    image = e2e.pull(s, REPO);
  });
  afterAll(async () => {
    await Promise.all([e2e?.close(), nltkIndex?.close()]);
  });

  it('runs pre_compile after the Python install, then the dependencies, nltk.txt, then post_compile (with bash, saying so)', () => {
    const log = build.buildLog;
    const at = (text: string) => {
      const i = log.indexOf(text);
      expect([text, i >= 0]).toEqual([text, true]);
      return i;
    };
    const order = [at('- Installing Python 3.11'), at('- Running bin/pre_compile'), at('- Installing dependencies'), at('- NLTK data (nltk.txt)'), at('- Running bin/post_compile'), at('- Process types')];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(log).toContain('bin/post_compile is not executable: running it with bash');
    expect(log).toMatch(/pre_compile ran in \S+\n[\s\S]*bin\/pre_compile finished in \d/);
    expect(log).toMatch(/post_compile ran\n[\s\S]*bin\/post_compile finished in \d/);
    expect(nltkIndex.requests()).toEqual(['GET /index.xml 200', 'GET /packages/corpora/pythoncnb_words.zip 200']);
  });

  it("the hooks' files are in the exported app: pre_compile saw Python but not yet nltk, post_compile saw nltk and the corpus", () => {
    const hooksLog = fs.readFileSync(path.join(image.rootfs, image.appDir, 'generated', 'hooks.log'), 'utf8');
    expect(hooksLog).toBe('pre_compile python=3.11.7\npre_compile nltk=absent\npost_compile nltk=3.10.4\npost_compile corpus=pythoncnb_words\n');
  });

  it('the corpus is in the image (its archive removed) and nltk.data.find finds it as the run user, through the launcher', async () => {
    const data = path.join(image.rootfs, image.layersDir, 'python-cnb_python', 'nltk-data', 'nltk_data', 'corpora');
    expect(fs.readFileSync(path.join(data, 'pythoncnb_words', 'words.txt'), 'utf8')).toBe('alpha\nbeta\ngamma\n');
    expect(fs.readdirSync(data)).toEqual(['pythoncnb_words']);
    // The layer belongs to the build user (1001); NLTK reads only data its own account or root
    // owns, so the exec.d program gives the app (1002) a private copy at container start.
    const check = startProcess(image.rootfs, 'check');
    const exit = await check.exited;
    expect([exit.code, check.output()]).toEqual([0, expect.stringContaining('uid=1002 NLTK_DATA=/tmp/python-cnb-nltk-data-1002 words=alpha,beta,gamma')]);
    expect(check.output()).not.toContain('RuntimeWarning');
  });

  it('a warm rebuild reuses the nltk-data layer and downloads nothing', async () => {
    nltkIndex.clearLog();
    const again = await e2e.build(s, REPO);
    expect(again.success).toBe(true);
    expect(again.buildLog).toContain('Using cached NLTK data (pythoncnb_words)');
    expect(nltkIndex.requests()).toEqual([]);
    expect(layerLines(again.exportLog).reused).toContain('nltk-data');
  });
});
