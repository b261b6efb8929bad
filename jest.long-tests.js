/** The test files of `npm run test:long` (each over a minute of one worker): kept out of `npm test`. */
module.exports = ['test/workflow/many-tables.test.ts', 'test/lambda/engine/validate-many-under-writes.test.ts'];
