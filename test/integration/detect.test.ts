// The real lifecycle `detector` on every fixture app: the verdict, group.toml and plan.toml must be
// what test/fixtures/detect-expectations.ts says. Plus bad input that must never make detect error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DETECT_EXPECTATIONS } from '../fixtures/detect-expectations';
import { createScenario, fixtureDir, planRequires, runDetector, type DetectResult } from '../helpers/lifecycle';

// Platform spec, detector exit codes: 20 = all groups failed, 21 = all groups failed and at least one errored.
const ALL_GROUPS_FAILED = 20;
const BUILDPACK_ID = 'python-cnb/python';

const fixtures = fs
  .readdirSync(path.dirname(fixtureDir('x')), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

/** What the detector's debug log says our buildpack answered ("pass:"/"fail:" lines, or "err:"). */
function verdictLines(r: DetectResult): string[] {
  return r.output.split('\n').filter((l) => /^(pass|fail|err|skip):/.test(l.trim()));
}

function expectNoBuildpackError(r: DetectResult): void {
  // The lifecycle reports a buildpack that exits with an error code as `err: <id>@<version> (<code>)`.
  expect(r.output).not.toMatch(new RegExp(`err:\\s*${BUILDPACK_ID}`));
  expect(r.output).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m); // no JavaScript stack trace
}

test('there are fixture apps to check', () => {
  expect(fixtures.length).toBeGreaterThanOrEqual(20);
});

describe.each(fixtures)('detector on fixture %s', (fixture) => {
  const expected = DETECT_EXPECTATIONS[fixture];

  test('has an expectation in detect-expectations.ts', () => {
    expect({ fixture, hasExpectation: expected !== undefined }).toEqual({ fixture, hasExpectation: true });
  });

  const t = expected ? test : test.skip;
  t(expected?.pass ? 'passes with the expected plan' : 'fails (detector exit 20)', async () => {
    const scenario = createScenario(fixture, { env: expected!.env });
    const r = await runDetector(scenario);
    const context = `${fixture}: detector exit ${r.exitCode}\n${r.output}`;
    expectNoBuildpackError(r);
    // Our detect output is in the detector's debug log.
    expect(r.output).toContain(`======== Output: ${BUILDPACK_ID}@`);

    if (!expected!.pass) {
      expect({ context, exitCode: r.exitCode }).toEqual({ context, exitCode: ALL_GROUPS_FAILED });
      expect(verdictLines(r)).toEqual([expect.stringMatching(new RegExp(`^fail: ${BUILDPACK_ID}@`))]);
      expect(r.output).toContain('No Python app found');
      expect(r.group).toBeUndefined();
      return;
    }

    expect({ context, exitCode: r.exitCode }).toEqual({ context, exitCode: 0 });
    expect(verdictLines(r)).toEqual([expect.stringMatching(new RegExp(`^pass: ${BUILDPACK_ID}@`))]);
    expect(r.group?.group?.map((g) => g.id)).toEqual([BUILDPACK_ID]);

    const python = planRequires(r.plan, 'python');
    expect(python).toHaveLength(1);
    const metadata = python[0]?.metadata ?? {};
    expect(metadata.build).toBe(true);
    expect(metadata.launch).toBe(true);
    expect(metadata.version).toBe(expected!.version);
    expect(metadata['version-source']).toBe(expected!.versionSource);

    const sitePackages = planRequires(r.plan, 'site-packages');
    expect(sitePackages).toHaveLength(expected!.sitePackages ? 1 : 0);
    // Every entry is provided by our buildpack (the only one in the group).
    for (const entry of r.plan?.entries ?? []) {
      expect(entry.providers?.map((p) => p.id)).toEqual([BUILDPACK_ID]);
    }
  });
});

describe('detector on bad input selects or rejects cleanly', () => {
  test('an unreadable runtime.txt (chmod 000, the build user cannot read it)', async () => {
    const scenario = createScenario('runtime-txt');
    scenario.chmodAppFile('runtime.txt', 0o000);
    const r = await runDetector(scenario);
    // The file really is unreadable for the phase user: prove the premise, or the test proves nothing.
    expect(fs.statSync(path.join(scenario.appDir, 'runtime.txt')).mode & 0o777).toBe(0);
    expect(fs.statSync(path.join(scenario.appDir, 'runtime.txt')).uid).not.toBe(0);
    expectNoBuildpackError(r);
    expect([0, ALL_GROUPS_FAILED]).toContain(r.exitCode);
    expect(r.output).toContain(`======== Output: ${BUILDPACK_ID}@`);
    // requirements.txt and app.py are still Python signals: it passes, without version metadata.
    expect(r.exitCode).toBe(0);
    const python = planRequires(r.plan, 'python');
    expect(python).toHaveLength(1);
    expect(python[0]?.metadata?.version).toBeUndefined();
  });

  test.each(['requirements-is-a-directory', 'runtime-txt-binary-garbage'])('%s', async (fixture) => {
    const scenario = createScenario(fixture);
    const r = await runDetector(scenario);
    expectNoBuildpackError(r);
    expect([0, ALL_GROUPS_FAILED]).toContain(r.exitCode);
    expect(r.output).toContain(`======== Output: ${BUILDPACK_ID}@`);
    expect(verdictLines(r)).toEqual([expect.stringMatching(new RegExp(`^(pass|fail): ${BUILDPACK_ID}@`))]);
    if (r.exitCode === 0) expect(r.group?.group?.map((g) => g.id)).toEqual([BUILDPACK_ID]);
  });
});
