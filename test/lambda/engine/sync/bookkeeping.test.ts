import type { DbEndpoint } from '../../../../lambda/engine/db';
import { createSync, installTombstones, runSync } from '../../../../lambda/engine/sync';
import { query } from '../../../support/pg';
import { copyAll, itemsSpec, rolePair, rowsOf } from './helpers';

/*
 * Bookkeeping (applied_xacts, tombstones) is pruned by position: an entry goes only once every
 * incoming change that could be weighed against it has been applied, however old it is by the
 * wall clock. "Old" is simulated by ageing applied_at / recorded_at, as a day-long backlog would.
 */

const id = 'bkeep';
const sync = (direction: 'forward' | 'reverse', oldDb: DbEndpoint, newDb: DbEndpoint, extra: object = {}) =>
  runSync({
    migrationId: id,
    direction,
    spec: itemsSpec,
    source: direction === 'forward' ? oldDb : newDb,
    target: direction === 'forward' ? newDb : oldDb,
    conflicts: true,
    ...extra,
  });
const lsnOf = async (db: DbEndpoint) =>
  (await query<{ l: string }>(db, `SELECT pg_current_wal_insert_lsn()::text AS l`))[0].l;
const namesOf = async (db: DbEndpoint, key: number) =>
  (await query<{ name: string }>(db, `SELECT name FROM items WHERE id = $1`, [key])).map((r) => r.name);

describe('bookkeeping pruned by position, never by wall time', () => {
  let oldDb: DbEndpoint;
  let newDb: DbEndpoint;

  beforeAll(async () => {
    ({ source: oldDb, target: newDb } = await rolePair('sybk'));
    await query(oldDb, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 20) g`);
    await createSync(oldDb, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, oldDb, newDb);
    await sync('forward', oldDb, newDb);
    await createSync(newDb, itemsSpec, id, 'reverse');
    await installTombstones(oldDb, itemsSpec, id, 'reverse');
    await installTombstones(newDb, itemsSpec, id, 'forward');
  });

  test('GIVEN a reverse backlog older than a day behind a row the sync wrote WHEN the drain reaches the edit THEN it is applied (the applied_xacts entry was kept)', async () => {
    await query(newDb, `UPDATE items SET name = 'first' WHERE id = 5`);
    const lsn = await lsnOf(newDb);
    await query(newDb, `UPDATE items SET name = 'second' WHERE id = 5`);
    await sync('reverse', oldDb, newDb, { untilLsn: lsn });
    expect(await namesOf(oldDb, 5)).toEqual(['first']);
    await query(oldDb, `UPDATE switchyard.applied_xacts SET applied_at = now() - interval '2 days'`);
    const r = await sync('reverse', oldDb, newDb);
    expect(r.conflicts).toBe(0);
    expect(await namesOf(oldDb, 5)).toEqual(['second']);
  });

  test('GIVEN a local delete older than a day and an older edit still in the backlog WHEN the drain applies the edit THEN the later delete still wins (the tombstone was kept)', async () => {
    await query(newDb, `UPDATE items SET name = 'older, on new' WHERE id = 6`);
    await query(oldDb, `DELETE FROM items WHERE id = 6`);
    await query(oldDb, `UPDATE switchyard.tombstones SET recorded_at = now() - interval '2 days'`);
    const r = await sync('reverse', oldDb, newDb);
    expect(r.conflicts).toBe(1);
    await sync('forward', oldDb, newDb);
    expect(await namesOf(oldDb, 6)).toEqual([]);
    expect(await rowsOf(oldDb, 'public.items')).toEqual(await rowsOf(newDb, 'public.items'));
  });

  test('GIVEN entries whose every possible opponent was applied WHEN the next apply commits THEN they are pruned', async () => {
    await query(oldDb, `DELETE FROM items WHERE id = 7`);
    const count = async (t: string) =>
      (await query<{ n: number }>(oldDb, `SELECT count(*)::int AS n FROM switchyard.${t}`))[0].n;
    expect(await count('tombstones')).toBeGreaterThan(0);
    expect(await count('applied_xacts')).toBeGreaterThan(0);
    // Position of the reverse direction moves past them (by more than the margin: pinned forward here).
    await query(
      oldDb,
      `UPDATE switchyard.sync_position SET commit_time = now() + interval '1 hour' WHERE direction = 'reverse'`,
    );
    await query(newDb, `UPDATE items SET name = 'later' WHERE id = 8`);
    await sync('reverse', oldDb, newDb);
    expect(await count('tombstones')).toBe(0);
    // Only the entry of the apply transaction that just committed is left.
    expect(await count('applied_xacts')).toBe(1);
  });
});
