import { Client } from 'pg';
import { createSync, runSync } from '../../lambda/engine/sync';
import { copyAll, ITEMS_DDL, itemsSpec, rowsOf } from '../lambda/engine/sync/helpers';
import { query } from '../support/pg';
import { label, matrixPairs, type Pair, roleDb } from './matrix';

/**
 * Streamed in-progress transactions (lambda/engine/sync/streamed.ts) on every major and pair: a
 * source of 14+ streams (pgoutput protocol 2) into a destination of 14+; with 13 on either side the
 * transaction arrives whole at its commit. Either way the target ends equal to the source, with
 * rolled-back subtransactions left out and a transaction that committed meanwhile applied first.
 */
describe.each(matrixPairs().map((p) => [label(p), p] as const))('streamed transactions, %s', (_l, pair: Pair) => {
  test('GIVEN a transaction past logical_decoding_work_mem with released and rolled-back subtransactions, and one committing meanwhile WHEN synced THEN the target equals the source', async () => {
    const source = await roleDb(pair.old, 'st_old', [ITEMS_DDL]);
    const target = await roleDb(pair.new, 'st_new');
    const id = `st${pair.old}x${pair.new}`;
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
    const rows = (from: number, to: number) =>
      `INSERT INTO items SELECT g, 'row ' || g, repeat('x', 40), g FROM generate_series(${from}, ${to}) g`;
    const tx = new Client({
      ...{ host: source.host, port: source.port, database: source.database },
      ...{ user: source.user, password: source.password },
    });
    await tx.connect();
    try {
      await tx.query('BEGIN');
      await tx.query(rows(1, 3000));
      await tx.query('SAVEPOINT a');
      await tx.query(rows(3001, 6000));
      await tx.query('ROLLBACK TO SAVEPOINT a');
      await tx.query('SAVEPOINT b');
      await tx.query(`UPDATE items SET n = -n WHERE id <= 500`);
      await tx.query('RELEASE SAVEPOINT b');
      await query(source, rows(900_001, 900_005));
      await tx.query(`DELETE FROM items WHERE id BETWEEN 2001 AND 2500`);
      await tx.query('COMMIT');
    } finally {
      await tx.end();
    }
    const r = await runSync({
      ...{ migrationId: id, direction: 'forward', spec: itemsSpec, source, target },
      decodingWorkMemKb: 64,
    });
    const streams = pair.old >= 14 && pair.new >= 14;
    expect(r).toMatchObject({ caughtUp: true, transactions: 2, streamed: streams ? 1 : 0 });
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
    expect(await query(target, `SELECT count(*)::int AS n FROM items`)).toEqual([{ n: 2505 }]);
  });
});
