/**
 * The test files of `npm run test:long`, kept out of `npm test` (its five minutes): schemas of many
 * tables (each over a minute of one worker), and whole rehearsals whose paths `npm test` covers in
 * parts (the pause drills: test/workflow/pause.test.ts; `--source` of your own schema: the CLI's
 * introspected-schema suites).
 */
module.exports = [
  'test/workflow/many-tables.test.ts',
  'test/lambda/engine/validate-many-under-writes.test.ts',
  'test/rehearsal/pause-drill.test.ts',
  'test/rehearsal/rehearse-sources.test.ts',
];
