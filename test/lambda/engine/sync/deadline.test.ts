import type { DbEndpoint } from '../../../../lambda/engine';
import { createSync, runSync, TransactionTooLargeError } from '../../../../lambda/engine/sync';
import { query } from '../../../support/pg';
import { copyAll, itemsSpec, rolePair, rowsOf } from './helpers';

/**
 * A bounded run (one Lambda invocation) that reaches its hard deadline inside one source
 * transaction must not be killed there: a retry would start the same transaction over, for ever.
 * It keeps what is whole before it and fails by name; a run with time passes it, nothing lost.
 */
describe('a bounded run past its hard deadline inside one source transaction', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'deadline';

  beforeAll(async () => {
    ({ source, target } = await rolePair('sydl'));
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
  });

  test('GIVEN a small transaction, then one of 200,000 rows WHEN a run with a 0.5 s deadline reaches it THEN TransactionTooLargeError, the small one applied, and a later run applies the big one', async () => {
    await query(source, `INSERT INTO items VALUES (1, 'before the big one', NULL, 0)`);
    await query(source, `INSERT INTO items SELECT g, 'big', NULL, 0 FROM generate_series(10, 200009) g`);
    const base = { migrationId: id, direction: 'forward' as const, spec: itemsSpec, source, target };
    const err = await runSync({ ...base, deadlineMs: 500, flushRows: 1_000_000, batchChanges: 1_000_000 }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(TransactionTooLargeError);
    expect(err.message).toMatch(/every transaction before it is applied, none of it.*switchyard sync/);
    expect(await rowsOf(target, 'public.items')).toEqual(['(1,"before the big one",,0)']);
    const r = await runSync(base);
    expect(r.caughtUp).toBe(true);
    const [n] = await query<{ n: number }>(target, `SELECT count(*)::int AS n FROM items`);
    expect(n.n).toBe(200_001);
  });

  test('GIVEN a run stopped by its signal while it receives one big source transaction WHEN stopped THEN it ends at once with the transaction before applied and none of the big one', async () => {
    const base = { migrationId: id, direction: 'forward' as const, spec: itemsSpec, source, target };
    await runSync(base); // the slot is past the first test's rows
    await query(target, `DELETE FROM items`);
    await query(source, `INSERT INTO items VALUES (300000, 'small', NULL, 0)`);
    await query(source, `INSERT INTO items SELECT g, 'big 2', NULL, 0 FROM generate_series(300010, 330009) g`);
    const stop = new AbortController();
    // Stop once the big transaction is partly written into the open destination transaction.
    const stopMidway = async () => {
      for (let k = 0; k < 5000 && !stop.signal.aborted; k++) {
        const writing = await query(
          target,
          `SELECT 1 FROM pg_stat_activity WHERE application_name = 'switchyard-sync-apply' AND backend_xid IS NOT NULL`,
        );
        if (writing.length) stop.abort();
        else await new Promise((res) => setTimeout(res, 2));
      }
    };
    let watching: Promise<void> = Promise.resolve();
    const t0 = Date.now();
    const r = await runSync({
      ...base,
      signal: stop.signal,
      flushRows: 1000,
      receiveBuffer: 4, // the socket paused and resumed all along: reads of one transaction come one by one
      batchMs: 1, // the small transaction commits on its own
      faults: {
        afterApplyCommit: () => {
          watching = stopMidway();
        },
      },
    });
    await watching;
    expect(Date.now() - t0).toBeLessThan(30_000); // before: it spun for ever, starving its own socket
    const [n] = await query<{ n: number }>(target, `SELECT count(*)::int AS n FROM items WHERE id >= 300000`);
    // All of it (it arrived whole before the loop saw the stop) or none of it: never a part.
    expect([1, 30_001]).toContain(n.n);
    expect(r.inserted).toBe(n.n); // what it reports is what it applied
    await runSync(base);
    const [m] = await query<{ n: number }>(target, `SELECT count(*)::int AS n FROM items WHERE id >= 300000`);
    expect(m.n).toBe(30_001);
  });
});
