import { longTransactionsOutcome } from '../../core/preflight/source-activity';
import type { PackCheck } from '../../core/preflight/pack';
import { checkSources, withClient } from '../../engine';
import { longTransactions } from '../../engine/activity';
import type { PreflightContext } from './context';

export const sourceDatabase: PackCheck<PreflightContext> = {
  name: 'sourceDatabase',
  info: "The old database is reachable, holds the spec's tables, and has no long-running transaction.",
  check: async ({ deps, spec, input }) =>
    withClient(await deps.sourceDb(), { readOnly: true, applicationName: 'switchyard-preflight' }, async (c) => {
      await checkSources(c, spec.tables);
      const open = await longTransactions(c, input.maxTransactionSeconds);
      return longTransactionsOutcome(open, input.maxTransactionSeconds, {
        name: spec.name,
        tables: spec.tables.length,
      });
    }),
};
