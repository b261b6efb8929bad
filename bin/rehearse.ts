#!/usr/bin/env node
/**
 * npm run rehearse [-- --rows N --fail-at <State> --unhealthy-at <weight> --source <postgres url> --spec <file> --json --keep]
 *
 * Alias of `switchyard rehearse` (bin/cli/rehearse.ts): the whole migration on this machine, no AWS
 * account: embedded PostgreSQL, the Migrate state machine as CDK synthesizes it, the same handler
 * code with local adapters, real HTTP traffic.
 */
import { main } from './cli/main';

main(['rehearse', ...process.argv.slice(2)]);
