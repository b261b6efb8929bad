/**
 * `npm run test:versions`: the version matrix (test/versions) on one server of every supported
 * major, 13–18, and cross-version pairs. `npm test` runs the same files on 13 and 18 only, but for
 * real-schemas.test.ts (the longest: here only).
 * @type {import('jest').Config}
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/versions'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/setup/pg-versions-setup.ts',
  testTimeout: 180000,
};
