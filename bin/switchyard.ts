#!/usr/bin/env node
/**
 * The one CLI: npm run switchyard -- <command> (or npx switchyard <command>); --help on every command.
 * Commands: plan, start, status, rollback, restore (AWS); sync [status|switchover|cleanup] (PostgreSQL, no AWS);
 * rehearse, drill, bench, bench:sync (this machine).
 */
import { main } from './cli/main';

main(process.argv.slice(2));
