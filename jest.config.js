/** Two projects: fast unit tests (pure logic, no network, no Python) and integration
 *  tests that drive the real CNB lifecycle (see test/helpers/lifecycle.ts). */
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
  ],
};
