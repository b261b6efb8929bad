import { type CheckOutcome, fail, pass } from './pack';

/**
 * Transactions open longer than the limit hold back the replication slot's start (the change
 * capture waits for them) and the copy's snapshot. Pure: the check reads the figures.
 */
export function longTransactionsOutcome(
  open: { readonly count: number; readonly oldestSeconds: number },
  limitSeconds: number,
  spec: { readonly name: string; readonly tables: number },
): CheckOutcome {
  return open.count > 0
    ? fail(
        `${open.count} transaction(s) open longer than ${limitSeconds} s (oldest ${open.oldestSeconds} s): they hold back ` +
          "the replication slot's start (the change capture waits for them) and the copy's snapshot",
        'end or wait out the long transactions on the old database (pg_stat_activity), then run again',
      )
    : pass(`reachable; spec ${spec.name}: ${spec.tables} table(s) present; no long-running transactions`);
}
