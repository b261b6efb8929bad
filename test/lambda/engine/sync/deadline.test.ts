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
});
