/**
 * `npm run test:long`: runs too long for `npm test`'s five minutes (schemas of many tables copied,
 * synced and validated under writes; the list is jest.long-tests.js). CI runs them after `npm test`.
 * @type {import('jest').Config}
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/'],
  testMatch: require('./jest.long-tests').map((f) => `**/${f}`),
  testTimeout: 600000,
};
