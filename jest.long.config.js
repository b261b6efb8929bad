/**
 * `npm run test:long`: workflow runs too long for `npm test`'s five minutes (a schema of many
 * tables copied, synced and validated under writes). CI runs them after `npm test`.
 * @type {import('jest').Config}
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/'],
  testMatch: ['**/test/workflow/many-tables.test.ts'],
  testTimeout: 600000,
};
