/**
 * Jest globalTeardown of the integration project. Scenario workspaces are removed by the test
 * files themselves (test/helpers/lifecycle.ts registers afterAll(cleanupScenarios)); the
 * lifecycle, the run image and the users are kept on purpose: they are reused by the next run.
 */
export default async function globalTeardown(): Promise<void> {
  if (process.env.KEEP_SCENARIOS === '1') {
    process.stderr.write('globalTeardown: KEEP_SCENARIOS=1, scenario workspaces were kept under the temp dir\n');
  }
}
