// Our build through the real lifecycle (analyzer, detector, restorer, builder, exporter): the log
// it prints, the launch.toml it writes, and a clean failure on bad input.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createScenario as createBareScenario, readAppImage, readLaunchToml, runBuild, type BuildResult, type Scenario } from '../helpers/lifecycle';
import { startMirror, writeRuntimeManifest, type Mirror } from '../helpers/mirror';
import { startPackageIndex, type PackageIndex } from '../helpers/package-index';

const HEADER = '## Python buildpack 0.1.0';
// The builder's exit code when a buildpack fails (Platform spec: 51 = buildpack build error).
const BUILDPACK_BUILD_FAILED = 51;

function context(r: BuildResult): string {
  return `failed phase: ${r.failedPhase ?? 'none'} (exit ${r.exitCode})\n${r.log}`;
}

/** The log names the requested version and where it came from on one line. The wording is the
 *  buildpack's ("Python version 3.11 requested by runtime.txt", "Found 3.11 in runtime.txt"). */
function versionLine(version: string, source: string): RegExp {
  const v = version.replace(/\./g, '\\.');
  const src = source.replace(/\./g, '\\.');
  return new RegExp(`^.*(\\b${v}\\b.*${src}|${src}.*\\b${v}\\b).*$`, 'm');
}

function expectNoStackTrace(log: string): void {
  expect(log.split('\n').filter((l) => l.startsWith('    at '))).toEqual([]);
}

// Nothing reaches the internet: CPython, pip and SQLite come from the loopback mirror through an
// operator manifest (BP_PYTHON_MANIFEST), packages from the loopback index (PIP_INDEX_URL).
let mirror: Mirror;
let index: PackageIndex;
beforeAll(async () => {
  mirror = await startMirror();
  index = await startPackageIndex();
});
afterAll(async () => {
  await mirror?.close();
  await index?.close();
});

async function createScenario(fixture: string): Promise<Scenario> {
  const scenario = createBareScenario(fixture);
  const manifest = await writeRuntimeManifest(mirror, path.join(scenario.root, 'runtimes.toml'));
  scenario.setEnv('BP_PYTHON_MANIFEST', manifest);
  scenario.setEnv('PIP_INDEX_URL', index.url);
  return scenario;
}

describe('build through the real lifecycle', () => {
  test('runtime-txt: the whole build, exported to an OCI image', async () => {
    const scenario = await createScenario('runtime-txt');
    const r = await runBuild(scenario);
    expect({ success: r.success, context: context(r) }).toEqual({ success: true, context: context(r) });
    expect(Object.keys(r.phases)).toEqual(['analyzer', 'detector', 'restorer', 'builder', 'exporter']);
    expect(r.phases.builder?.exitCode).toBe(0);
    expect(r.buildLog).toContain(HEADER);
    expect(r.buildLog).toMatch(versionLine('3.11', 'runtime.txt'));
    expectNoStackTrace(r.buildLog);
    expect(fs.existsSync(`${scenario.buildpackLayersDir}/launch.toml`)).toBe(true);
    expect(readLaunchToml(scenario)).toBeDefined();
    // The exporter wrote the app image into the layout, on top of the run image.
    expect(r.exportLog).toMatch(/Saving .*python-cnb-app\/latest/);
    const image = readAppImage(scenario);
    expect(image?.lifecycleMetadata?.buildpacks).toEqual([expect.objectContaining({ key: 'python-cnb/python', version: '0.1.0' })]);
  });

  test('runtime-txt, built twice: the second build is a rebuild on the previous image', async () => {
    const scenario = await createScenario('runtime-txt');
    const first = await runBuild(scenario);
    expect({ success: first.success, context: context(first) }).toEqual({ success: true, context: context(first) });
    expect(first.exportLog).toContain("Adding layer 'buildpacksio/lifecycle:launcher'");
    const firstImage = readAppImage(scenario);

    scenario.writeAppFile('runtime.txt', 'python-3.12\n');
    const second = await runBuild(scenario);
    expect({ success: second.success, context: context(second) }).toEqual({ success: true, context: context(second) });
    // The analyzer found the first image, so the exporter reuses its unchanged layers.
    expect(second.exportLog).toMatch(/Reusing layers from image/);
    expect(second.exportLog).toContain("Reusing layer 'buildpacksio/lifecycle:launcher'");
    // The edit reached the second build (each build starts from a fresh copy of the app source).
    expect(second.buildLog).toMatch(versionLine('3.12', 'runtime.txt'));
    expect(second.buildLog).not.toMatch(versionLine('3.11', 'runtime.txt'));
    expect(readAppImage(scenario)?.manifest).not.toEqual(firstImage?.manifest);
  });

  test('pip-requirements: builder succeeds and writes launch.toml', async () => {
    const scenario = await createScenario('pip-requirements');
    const r = await runBuild(scenario, { upTo: 'builder' });
    expect({ success: r.success, context: context(r) }).toEqual({ success: true, context: context(r) });
    expect(r.phases.exporter).toBeUndefined();
    expect(r.phases.builder?.exitCode).toBe(0);
    expect(r.buildLog).toContain(HEADER);
    expect(r.buildLog).not.toContain('runtime.txt');
    expectNoStackTrace(r.buildLog);
    expect(fs.existsSync(`${scenario.buildpackLayersDir}/launch.toml`)).toBe(true);
  });

  // A runtime.txt the build cannot use: our user-facing error (title, what was found, how to fix),
  // builder exit 51, no export, and no JavaScript stack trace.
  async function expectCleanFailure(fixture: string, edit: (s: Scenario) => void, title: string): Promise<void> {
    const scenario = await createScenario(fixture);
    edit(scenario);
    const r = await runBuild(scenario);
    expect(r.success).toBe(false);
    expect({ failedPhase: r.failedPhase, context: context(r) }).toEqual({ failedPhase: 'builder', context: context(r) });
    expect(r.exitCode).toBe(BUILDPACK_BUILD_FAILED);
    expect(r.phases.exporter).toBeUndefined();
    expect(r.buildLog).toContain(HEADER);
    expect(r.buildLog).toContain(`Error: ${title}`);
    expectNoStackTrace(r.buildLog);
    expect(r.buildLog).not.toMatch(/\b(TypeError|ReferenceError|SyntaxError|RangeError):/);
  }

  test('runtime.txt with a version that is not one: "Invalid Python version in runtime.txt"', async () => {
    await expectCleanFailure('runtime-txt', (s) => s.writeAppFile('runtime.txt', 'python-three-point-eleven\n'), 'Invalid Python version in runtime.txt');
  });

  test('runtime-txt-binary-garbage: the build fails with our error, not a stack trace', async () => {
    // The fixture holds NUL bytes (an ELF header), which the buildpack reports as not a text file.
    await expectCleanFailure('runtime-txt-binary-garbage', () => {}, 'runtime.txt is not a text file');
  });
});
