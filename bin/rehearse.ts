#!/usr/bin/env node
// Placeholder until the local rehearsal lands (issue: "Local rehearsal: npm run rehearse").
// It must not pretend to work: it says what is missing and exits non-zero.
console.error(
  [
    'switchyard rehearse: NOT BUILT YET.',
    'The local rehearsal (embedded PostgreSQL + the synthesized Migrate state machine run locally) is not implemented in this version.',
    'What works today: `npm test` (infrastructure tests, cdk-nag) and `npx cdk synth` (all stages, no AWS credentials).',
  ].join('\n'),
);
process.exit(2);
