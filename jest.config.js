/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Long runs (many tables under writes) run in `npm run test:long` (jest.long.config.js), in CI too;
  // the real-schema matrix runs in `npm run test:versions` only (every pair; its 18 -> 18 case is the
  // CLI suite test/cli/sync-real-schemas.test.ts, in npm test).
  testPathIgnorePatterns: [
    '/node_modules/',
    ...[...require('./jest.long-tests'), 'test/versions/real-schemas.test.ts'].map(
      (f) => `/${f.replace(/\./g, '\\.')}$`,
    ),
  ],
  transform: {
    // Type checking runs once in `npm test` (tsc --noEmit); jest only transpiles.
    '^.+\\.tsx?$': [
      'ts-jest',
      {
        tsconfig: { isolatedModules: true, esModuleInterop: true, target: 'ES2022', module: 'commonjs' },
        diagnostics: false,
      },
    ],
  },
  globalSetup: '<rootDir>/test/setup/pg-global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/pg-global-teardown.ts',
  setupFiles: ['<rootDir>/test/setup/polyfills.ts'],
  testTimeout: 60000,
  // Two workers on two cores: most suites wait on PostgreSQL, so jest's default (cores - 1 = one worker) leaves a core idle.
  maxWorkers: 2,
};
