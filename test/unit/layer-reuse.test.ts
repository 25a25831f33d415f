import { buildNeeds, launchLayerTypes } from '../../src/layers/reuse';
import { envForFingerprint } from '../../src/layers/collected-static';
import { collectstaticReuseOff } from '../../src/django';
import type { ClassicPlan } from '../../src/classic';

const classic = (over: Partial<ClassicPlan> = {}): ClassicPlan => ({
  hooks: { pre_compile: { run: false }, post_compile: { run: false } },
  collectstaticOptOut: false,
  nestedManagePy: [],
  committedVenvs: [],
  ...over,
});
const hook = { run: true as const, command: 'sh', args: [] };
const plan = (entries: Array<{ name: string; build?: boolean }>) => ({ entries: entries.map((e) => ({ name: e.name, metadata: { build: e.build ?? false } })) });
const ours = plan([{ name: 'python', build: true }, { name: 'site-packages', build: true }]);
const base = { django: false, classic: classic(), env: {}, plan: ours, hasDependencies: true };

describe('buildNeeds (which launch layers a build needs as files)', () => {
  it('a Flask app with no hooks needs neither: both launch-only', () => {
    expect(buildNeeds(base)).toEqual({ venv: [], python: [] });
    expect(launchLayerTypes([])).toEqual({ build: false, launch: true, cache: false });
  });
  it('collectstatic needs the venv and Python, unless it is turned off', () => {
    expect(buildNeeds({ ...base, django: true })).toEqual({ venv: ["Django's collectstatic (manage.py)"], python: ["Django's collectstatic (manage.py)"] });
    expect(buildNeeds({ ...base, django: true, env: { DISABLE_COLLECTSTATIC: '1' } })).toEqual({ venv: [], python: [] });
    expect(buildNeeds({ ...base, django: true, classic: classic({ collectstaticOptOut: true }) })).toEqual({ venv: [], python: [] });
  });
  it('hooks and nltk.txt: post_compile and nltk need the venv, pre_compile only Python', () => {
    expect(buildNeeds({ ...base, classic: classic({ hooks: { pre_compile: hook, post_compile: { run: false } } }) })).toEqual({ venv: [], python: ['bin/pre_compile'] });
    expect(buildNeeds({ ...base, classic: classic({ hooks: { pre_compile: { run: false }, post_compile: hook } }) }).venv).toEqual(['bin/post_compile']);
    expect(buildNeeds({ ...base, classic: classic({ nltk: { ids: ['punkt'], sha256: 'x' } }) }).venv).toEqual(['nltk.txt']);
    expect(launchLayerTypes(['nltk.txt'])).toEqual({ build: true, launch: true, cache: true });
  });
  it('a later buildpack that requires a layer at build (a second build = true entry)', () => {
    expect(buildNeeds({ ...base, plan: plan([{ name: 'python', build: true }, { name: 'site-packages', build: true }, { name: 'site-packages', build: true }]) }).venv).toEqual(['a later buildpack requires site-packages at build']);
    expect(buildNeeds({ ...base, plan: plan([{ name: 'python', build: true }, { name: 'python', build: true }]) }).python).toEqual(['a later buildpack requires python at build']);
    // Without dependencies we do not require site-packages ourselves: any build = true entry is another's.
    expect(buildNeeds({ ...base, hasDependencies: false, plan: plan([{ name: 'python', build: true }, { name: 'site-packages', build: true }]) }).venv).toHaveLength(1);
    expect(buildNeeds({ ...base, plan: plan([{ name: 'python', build: true }, { name: 'python', build: false }]) }).python).toEqual([]);
  });
});

describe("collectstatic's reuse (src/layers/collected-static.ts)", () => {
  it('the env part of its fingerprint leaves out what changes on every build, and nothing else', () => {
    expect(envForFingerprint({ B: '2', A: '1', TMPDIR: '/tmp/python-cnb-build-1', HOSTNAME: 'c1', CNB_BP_PLAN_PATH: '/tmp/p1/plan.toml', CNB_TARGET_ARCH: 'amd64', DATABASE_URL: 'x' })).toEqual(['A=1', 'B=2', 'DATABASE_URL=x']);
  });
  it('is off with BP_PYTHON_COLLECTSTATIC_REUSE=false or when a build hook runs', () => {
    const none = { pre_compile: false, post_compile: false };
    expect(collectstaticReuseOff({}, none)).toBeUndefined();
    expect(collectstaticReuseOff({ BP_PYTHON_COLLECTSTATIC_REUSE: 'true' }, none)).toBeUndefined();
    expect(collectstaticReuseOff({ BP_PYTHON_COLLECTSTATIC_REUSE: 'false' }, none)).toBe('BP_PYTHON_COLLECTSTATIC_REUSE=false');
    expect(collectstaticReuseOff({}, { pre_compile: true, post_compile: false })).toMatch(/^bin\/pre_compile runs/);
    expect(collectstaticReuseOff({}, { pre_compile: false, post_compile: true })).toMatch(/^bin\/post_compile runs/);
  });
});
