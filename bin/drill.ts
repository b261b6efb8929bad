#!/usr/bin/env node
/**
 * npm run drill [-- --rows N --stage dev]
 *
 * Alias of `switchyard drill` (bin/cli/drill.ts): the fault drills, the promotion condition of the
 * pipeline. Exits 1 when a drill lost an acknowledged write or ended anywhere but 100 % old.
 */
import { main } from './cli/main';

main(['drill', ...process.argv.slice(2)]);
