/** Four projects: fast unit tests (pure logic, no network, no Python), integration tests that
 *  drive the real CNB lifecycle (see test/helpers/lifecycle.ts), end-to-end tests that export
 *  an image to a loopback registry and start it (see test/helpers/image.ts), and the pack tier:
 *  real `pack build` through podman with the builders scripts/setup-pack.sh made (test/pack/). */
// Type checking is `npm run typecheck`'s job (tsconfig has isolatedModules); tests only transpile.
const tsJest = ['ts-jest', { diagnostics: false }];
module.exports = {
  // Integration builds run the real lifecycle and pip: minutes, not seconds.
  testTimeout: 600000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
      maxWorkers: 2,
    },
    {
      // End to end (test/e2e/): export to a loopback registry, unpack, start through the launcher.
      // Needs root (unshare, chroot). maxWorkers here is a hint only (jest takes it from the top
      // level); `npx jest --selectProjects e2e -w 1` runs one file at a time on a small machine.
      displayName: 'e2e',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
      maxWorkers: 1,
    },
    {
      // The pack tier (test/pack/): `pack build` with real builders through podman, images run
      // with `podman run --network host`. Needs root and `bash scripts/setup-pack.sh` (after
      // `npm run package`); globalSetup starts the registry and podman's API socket, teardown
      // stops them. Not part of a plain `jest` run: `npx jest --selectProjects pack -w 1`.
      displayName: 'pack',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/pack/**/*.test.ts'],
      globalSetup: '<rootDir>/test/pack/global-setup.ts',
      globalTeardown: '<rootDir>/test/pack/global-teardown.ts',
      maxWorkers: 1,
    },
  ],
};
