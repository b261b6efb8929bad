import type { DbEndpoint } from '../../../../lambda/engine';
import { connect } from '../../../../lambda/engine/db';
import { createSync, runSync } from '../../../../lambda/engine/sync';
import { query } from '../../../support/pg';
import { copyAll, expectDirectRun, itemsSpec, rolePair, rowsOf } from './helpers';

/**
 * Direct writes (direct.ts): the new rows of a source transaction larger than a flush are COPYed
 * straight into a table the spec copies unchanged, but only when none of their keys is there yet.
 * The keys that are there (a key deleted and inserted again, rows the copy already holds) go through
 * the upsert; a key committed on the destination between the probe and the COPY fails the run by
 * name, with nothing of the transaction applied.
 */
describe('direct writes of a large transaction', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'direct';
  const sync = (extra: object = {}) =>
    runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source, target, ...extra });
  const count = async (db: DbEndpoint, where: string) =>
    (await query<{ n: number }>(db, `SELECT count(*)::int AS n FROM items WHERE ${where}`))[0].n;

  beforeAll(async () => {
    ({ source, target } = await rolePair('sydw'));
    await query(source, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 100) g`);
    await createSync(source, itemsSpec, id, 'forward');
    // Written after the slot, before the copy: the catch-up replays rows the target already holds.
    await query(source, `INSERT INTO items SELECT g, 'before the copy', NULL, g FROM generate_series(1000, 2999) g`);
    await copyAll(itemsSpec, source, target);
  });

  test('GIVEN a large transaction the copy already holds WHEN the catch-up replays it THEN its rows go through the upsert and the target equals the source', async () => {
    expect(await count(target, 'id BETWEEN 1000 AND 2999')).toBe(2000);
    const r = await sync({ receiveBuffer: 100, flushRows: 300 });
    expect(r).toMatchObject({ inserted: 2000, caughtUp: true });
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  });

  test('GIVEN a large transaction that deletes keys and inserts them again WHEN a flush holds only inserts of keys the target has THEN they are upserted, not copied (no duplicate key)', async () => {
    await query(
      source,
      `INSERT INTO items SELECT g, 'new', NULL, g FROM generate_series(5000, 6999) g;
       DO $$ BEGIN
         FOR i IN 1..100 LOOP
           DELETE FROM items WHERE id = i;
           INSERT INTO items VALUES (i, 'again', NULL, -i);
         END LOOP;
       END $$`,
    );
    const r = await sync({ receiveBuffer: 100, flushRows: 300 });
    expect(r).toMatchObject({ caughtUp: true });
    expect(await count(target, `name = 'again'`)).toBe(100);
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  });

  test('GIVEN a destination row of the same key committed while a large transaction is copied WHEN the COPY meets it THEN the run fails by name, nothing of the transaction is applied, and the next run applies it whole', async () => {
    const local = await connect(target);
    try {
      await local.query(`BEGIN; INSERT INTO items VALUES (9500, 'local', NULL, 0)`);
      await query(source, `INSERT INTO items SELECT g, 'bulk', NULL, g FROM generate_series(9000, 9999) g`);
      const run = sync({ receiveBuffer: 100, flushRows: 300 }).catch((e) => e);
      // The COPY waits for the uncommitted row of the same key; once it commits, the COPY fails.
      const until = Date.now() + 30_000;
      while (!(await copyWaitsForLock(target)) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(await copyWaitsForLock(target)).toBe(true);
      await local.query('COMMIT');
      const err = await run;
      expect(err).toMatchObject({ name: 'SyncApplyError' });
      expect(err.message).toMatch(/table items: a row with the key of a row the source transaction inserted/);
      expect(err.message).toMatch(/run the sync again/);
      expect(err.message).not.toMatch(/9500/);
    } finally {
      await local.end();
    }
    expect(await count(target, 'id BETWEEN 9000 AND 9999')).toBe(1);
    expect(await sync()).toMatchObject({ inserted: 1000, caughtUp: true });
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  });
  test('GIVEN row-level security forced on the destination table WHEN a large transaction inserts new rows THEN they go through the upsert (COPY does not take row-level security) and the target equals the source', async () => {
    await query(
      target,
      `ALTER TABLE items ENABLE ROW LEVEL SECURITY; ALTER TABLE items FORCE ROW LEVEL SECURITY;
       CREATE POLICY every_row ON items USING (true) WITH CHECK (true)`,
    );
    try {
      await query(source, `INSERT INTO items SELECT g, 'rls', NULL, g FROM generate_series(20000, 20999) g`);
      expect(await sync({ receiveBuffer: 100, flushRows: 300 })).toMatchObject({ inserted: 1000, caughtUp: true });
      expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
    } finally {
      await query(target, `DROP POLICY every_row ON items; ALTER TABLE items DISABLE ROW LEVEL SECURITY`);
    }
  });
  test('GIVEN a transaction of 12,000 new rows, under flushRows WHEN its one flush is written at the commit THEN it goes directly and the target equals the source', async () => {
    await query(source, `INSERT INTO items SELECT g, 'one flush', NULL, g FROM generate_series(30000, 41999) g`);
    await expectDirectRun(sync, 12_000);
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  });
});

/** A COPY into items on the target is waiting for a lock (the uncommitted row of the same key). */
async function copyWaitsForLock(target: DbEndpoint): Promise<boolean> {
  const r = await query<{ n: number }>(
    target,
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'COPY %items%'`,
  );
  return r[0].n > 0;
}
