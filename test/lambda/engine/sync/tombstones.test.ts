import { connect, type DbEndpoint } from '../../../../lambda/engine/db';
import {
  createSync,
  dropSync,
  installTombstones,
  ReplicationNotConfiguredError,
  runSync,
} from '../../../../lambda/engine/sync';
import { asMigrationRole, freshDatabase, query, testServer } from '../../../support/pg';
import { copyAll, itemsSpec, ITEMS_DDL, rolePair, rowsOf } from './helpers';

/*
 * Later commit wins between a delete on one side and an update on the other, while both sides
 * take writes: the local delete's commit time comes from its tombstone. Real embedded PostgreSQL
 * (wal_level logical, track_commit_timestamp on), as the non-superuser migration login.
 */

const id = 'tombs';
const big = `(SELECT string_agg(md5(random()::text || g), '') FROM generate_series(1, 320) g)`; // ~10 KB, barely compressible: stored out of line
const fwd = (oldDb: DbEndpoint, newDb: DbEndpoint, extra: object = {}) =>
  runSync({
    migrationId: id,
    direction: 'forward',
    spec: itemsSpec,
    source: oldDb,
    target: newDb,
    conflicts: true,
    ...extra,
  });
const rev = (oldDb: DbEndpoint, newDb: DbEndpoint, extra: object = {}) =>
  runSync({
    migrationId: id,
    direction: 'reverse',
    spec: itemsSpec,
    source: newDb,
    target: oldDb,
    conflicts: true,
    ...extra,
  });

interface Recorded {
  key: string[];
  kind: string;
  winner: string;
  direction: string;
  incoming: string;
  local: string | null;
}

describe('later commit wins between deletes and updates (tombstones), both directions', () => {
  let oldDb: DbEndpoint;
  let newDb: DbEndpoint;

  const conflictsOn = async (db: DbEndpoint, key: number) =>
    query<Recorded>(
      db,
      `SELECT key, kind, winner, direction, incoming_commit_time::text AS incoming, local_commit_time::text AS local FROM switchyard.conflicts WHERE key = ARRAY[$1::text] ORDER BY id`,
      [String(key)],
    );
  /** Commit time of the transaction that last wrote the row (what the other side's stream carries). */
  const rowTime = async (db: DbEndpoint, key: number) =>
    (
      await query<{ t: string }>(db, `SELECT pg_xact_commit_timestamp(xmin)::text AS t FROM items WHERE id = $1`, [key])
    )[0].t;
  const tombstoneTime = async (db: DbEndpoint, key: number) =>
    (
      await query<{ t: string | null }>(
        db,
        `SELECT coalesce(commit_time, pg_xact_commit_timestamp(deleted_xid::xid))::text AS t FROM switchyard.tombstones WHERE key = ARRAY[$1::text]`,
        [String(key)],
      )
    )[0]?.t ?? null;
  const namesOf = async (db: DbEndpoint, keys: number[]) =>
    (await query<{ name: string }>(db, `SELECT name FROM items WHERE id = ANY($1::bigint[]) ORDER BY id`, [keys])).map(
      (r) => r.name,
    );
  const expectSame = async () =>
    expect(await rowsOf(oldDb, 'public.items')).toEqual(await rowsOf(newDb, 'public.items'));

  beforeAll(async () => {
    ({ source: oldDb, target: newDb } = await rolePair('sytb'));
    await query(oldDb, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 100) g`);
    await query(oldDb, `INSERT INTO items SELECT g, 'toast ' || g, ${big}, 0 FROM generate_series(200, 202) g`);
    await createSync(oldDb, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, oldDb, newDb);
    await runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source: oldDb, target: newDb });
    // The reverse capture of the sync phase: the reverse slot, then both sides' tombstone triggers.
    await createSync(newDb, itemsSpec, id, 'reverse');
    expect(await installTombstones(oldDb, itemsSpec, id, 'reverse')).toBe(1);
    expect(await installTombstones(newDb, itemsSpec, id, 'forward')).toBe(1);
    expect(await installTombstones(newDb, itemsSpec, id, 'forward')).toBe(0); // idempotent
  });

  test('GIVEN an update on new committed after a delete of the same row on old WHEN both directions run THEN the update wins: the row is re-inserted on old and present on both sides', async () => {
    await query(oldDb, `DELETE FROM items WHERE id = 10`);
    await query(newDb, `UPDATE items SET name = 'edited on new after the delete' WHERE id = 10`);
    const f = await fwd(oldDb, newDb);
    const r = await rev(oldDb, newDb);
    expect([f.conflicts, r.conflicts]).toEqual([1, 0]);
    expect(await namesOf(oldDb, [10])).toEqual(['edited on new after the delete']);
    await expectSame();
    // Recorded once, where the losing change (the older delete) arrived; the local time is the update's.
    const [c] = await conflictsOn(newDb, 10);
    expect(c).toMatchObject({ kind: 'update-delete', winner: 'local', direction: 'forward' });
    expect(c.local! > c.incoming).toBe(true);
    expect(await conflictsOn(oldDb, 10)).toEqual([]);
  });

  test('GIVEN the same update-after-delete WHEN the reverse direction runs first THEN the result is the same (order of the two directions does not matter)', async () => {
    await query(oldDb, `DELETE FROM items WHERE id = 11`);
    await query(newDb, `UPDATE items SET name = 'edited on new after the delete' WHERE id = 11`);
    const r = await rev(oldDb, newDb);
    const f = await fwd(oldDb, newDb);
    expect([f.conflicts, r.conflicts]).toEqual([1, 0]);
    expect(await namesOf(oldDb, [11])).toEqual(['edited on new after the delete']);
    await expectSame();
  });

  test('GIVEN a delete on old committed after an update of the same row on new WHEN both directions run THEN the delete wins on both sides, recorded on old with the delete as local time', async () => {
    await query(newDb, `UPDATE items SET name = 'edited on new before the delete' WHERE id = 12`);
    const updatedAt = await rowTime(newDb, 12);
    await query(oldDb, `DELETE FROM items WHERE id = 12`);
    const deletedAt = await tombstoneTime(oldDb, 12);
    expect(deletedAt! > updatedAt).toBe(true);
    const f = await fwd(oldDb, newDb);
    const r = await rev(oldDb, newDb);
    expect([f.conflicts, r.conflicts]).toEqual([0, 1]);
    expect(await namesOf(oldDb, [12])).toEqual([]);
    await expectSame();
    expect(await conflictsOn(oldDb, 12)).toEqual([
      {
        key: ['12'],
        kind: 'update-delete',
        winner: 'local-delete',
        direction: 'reverse',
        incoming: updatedAt,
        local: deletedAt,
      },
    ]);
  });

  test('GIVEN an update on old committed after a delete of the same row on new (the mirror) WHEN both directions run THEN the update wins: re-inserted on new', async () => {
    await query(newDb, `DELETE FROM items WHERE id = 13`);
    await query(oldDb, `UPDATE items SET name = 'edited on old after the delete' WHERE id = 13`);
    const f = await fwd(oldDb, newDb);
    const r = await rev(oldDb, newDb);
    expect([f.conflicts, r.conflicts]).toEqual([0, 1]);
    expect(await namesOf(newDb, [13])).toEqual(['edited on old after the delete']);
    await expectSame();
    expect(await conflictsOn(oldDb, 13)).toMatchObject([
      { kind: 'update-delete', winner: 'local', direction: 'reverse' },
    ]);
  });

  test('GIVEN a delete on new committed after an update of the same row on old (the mirror) WHEN both directions run THEN the delete wins on both sides, recorded on new', async () => {
    await query(oldDb, `UPDATE items SET name = 'edited on old before the delete' WHERE id = 14`);
    await query(newDb, `DELETE FROM items WHERE id = 14`);
    const r = await rev(oldDb, newDb);
    const f = await fwd(oldDb, newDb);
    expect([f.conflicts, r.conflicts]).toEqual([1, 0]);
    expect(await namesOf(newDb, [14])).toEqual([]);
    await expectSame();
    expect(await conflictsOn(newDb, 14)).toMatchObject([
      { kind: 'update-delete', winner: 'local-delete', direction: 'forward' },
    ]);
  });

  test('GIVEN a delete applied by the sync WHEN recorded THEN it leaves no tombstone (only local deletes do), and a later re-insert on the same side is applied', async () => {
    await query(newDb, `DELETE FROM items WHERE id = 15`);
    await rev(oldDb, newDb);
    expect(await tombstoneTime(oldDb, 15)).toBeNull();
    expect(await tombstoneTime(newDb, 15)).not.toBeNull();
    await query(newDb, `INSERT INTO items VALUES (15, 're-inserted on new', NULL, 0)`);
    const r = await rev(oldDb, newDb);
    const f = await fwd(oldDb, newDb);
    expect([f.conflicts, r.conflicts]).toEqual([0, 0]);
    expect(await namesOf(oldDb, [15])).toEqual(['re-inserted on new']);
    await expectSame();
  });

  test('GIVEN a delete on new and an update on old with exactly the same commit time WHEN synced THEN the old side wins the tie: the row is re-inserted on new', async () => {
    await query(newDb, `DELETE FROM items WHERE id = 16`);
    await query(oldDb, `UPDATE items SET name = 'old side wins the tie' WHERE id = 16`);
    // Two servers' commits never tie on demand: pin the tombstone's time to the incoming update's.
    await query(newDb, `UPDATE switchyard.tombstones SET commit_time = $1::timestamptz WHERE key = ARRAY['16']`, [
      await rowTime(oldDb, 16),
    ]);
    const f = await fwd(oldDb, newDb);
    const r = await rev(oldDb, newDb);
    expect([f.conflicts, r.conflicts]).toEqual([0, 1]); // forward: tie -> incoming (old) applied; reverse: the older delete loses to old's row
    expect(await namesOf(newDb, [16])).toEqual(['old side wins the tie']);
    await expectSame();
  });

  test('GIVEN an update on new and a delete on old with exactly the same commit time WHEN synced THEN the old side wins the tie: the row stays deleted on both sides', async () => {
    await query(newDb, `UPDATE items SET name = 'new side loses the tie' WHERE id = 17`);
    await query(oldDb, `DELETE FROM items WHERE id = 17`);
    await query(oldDb, `UPDATE switchyard.tombstones SET commit_time = $1::timestamptz WHERE key = ARRAY['17']`, [
      await rowTime(newDb, 17),
    ]);
    const f = await fwd(oldDb, newDb);
    const r = await rev(oldDb, newDb);
    expect([f.conflicts, r.conflicts]).toEqual([0, 1]);
    expect(await conflictsOn(oldDb, 17)).toMatchObject([{ winner: 'local-delete', direction: 'reverse' }]);
    expect((await conflictsOn(oldDb, 17))[0].incoming).toBe((await conflictsOn(oldDb, 17))[0].local);
    expect(await namesOf(oldDb, [17])).toEqual([]);
    await expectSame();
  });

  test('GIVEN an update on new that left a 10 KB TOASTed value unchanged, after a delete on old WHEN synced THEN the row is rebuilt from the new side (value intact) and re-inserted on old', async () => {
    await query(oldDb, `DELETE FROM items WHERE id = 200`);
    await query(newDb, `UPDATE items SET n = 42 WHERE id = 200`);
    const r = await rev(oldDb, newDb);
    const f = await fwd(oldDb, newDb);
    expect([f.conflicts, r.conflicts]).toEqual([1, 0]);
    const [row] = await query<{ len: number; n: number }>(
      oldDb,
      `SELECT length(big) AS len, n FROM items WHERE id = 200`,
    );
    expect(row).toEqual({ len: 10240, n: 42 });
    await expectSame();
  });

  test('GIVEN an update with an unchanged TOAST value after a delete on old, and the row deleted on new afterwards WHEN the update is applied alone THEN it cannot be rebuilt: the delete stands, recorded as local-delete-toast', async () => {
    await query(oldDb, `DELETE FROM items WHERE id = 201`);
    await query(newDb, `UPDATE items SET n = 43 WHERE id = 201`);
    const [{ lsn }] = await query<{ lsn: string }>(newDb, `SELECT pg_current_wal_insert_lsn()::text AS lsn`);
    await query(newDb, `DELETE FROM items WHERE id = 201`);
    const r1 = await rev(oldDb, newDb, { untilLsn: lsn });
    expect(r1).toMatchObject({ updated: 1, deleted: 0, conflicts: 1 });
    const [c] = await conflictsOn(oldDb, 201);
    expect(c).toMatchObject({ kind: 'update-delete', winner: 'local-delete-toast', direction: 'reverse' });
    expect(c.local! < c.incoming).toBe(true); // the update was the later write; its row was gone
    const f = await fwd(oldDb, newDb);
    const r2 = await rev(oldDb, newDb);
    expect([f.conflicts, r2.conflicts]).toEqual([0, 0]);
    expect(await namesOf(oldDb, [201])).toEqual([]);
    await expectSame();
  });

  test('GIVEN a local update still in progress on old WHEN the reverse sync applies an older update of the same row THEN it waits for the local commit and the later local update wins on both sides', async () => {
    await query(newDb, `UPDATE items SET name = 'older, on new' WHERE id = 20`);
    const c = await connect(oldDb);
    try {
      await c.query('BEGIN');
      await c.query(`UPDATE items SET name = 'later, on old' WHERE id = 20`);
      const pending = rev(oldDb, newDb);
      await new Promise((res) => setTimeout(res, 500));
      await c.query('COMMIT');
      const r = await pending;
      expect(r.conflicts).toBe(1);
    } finally {
      await c.end();
    }
    const f = await fwd(oldDb, newDb);
    expect(f.conflicts).toBe(0);
    expect(await namesOf(newDb, [20])).toEqual(['later, on old']);
    await expectSame();
  });

  test('GIVEN the conflicts and tombstones WHEN read THEN they hold key text only, never another column', async () => {
    const dump = JSON.stringify([
      ...(await query(oldDb, `SELECT * FROM switchyard.conflicts`)),
      ...(await query(newDb, `SELECT * FROM switchyard.conflicts`)),
      ...(await query(oldDb, `SELECT * FROM switchyard.tombstones`)),
      ...(await query(newDb, `SELECT * FROM switchyard.tombstones`)),
    ]);
    expect(dump).not.toMatch(/edited|tie|on old|on new|item /);
  });

  test('GIVEN both directions dropped WHEN cleaned up THEN the triggers, their functions and the tombstones are gone, and deletes still work', async () => {
    await dropSync(oldDb, id, 'forward', newDb);
    await dropSync(newDb, id, 'reverse', oldDb);
    for (const db of [oldDb, newDb]) {
      const [x] = await query<{ triggers: number; functions: number; table: boolean }>(
        db,
        `SELECT (SELECT count(*)::int FROM pg_trigger WHERE tgname LIKE 'sy\\_%\\_tomb') AS triggers,
                (SELECT count(*)::int FROM pg_proc WHERE proname LIKE 'sy\\_%\\_tomb\\_%') AS functions,
                to_regclass('switchyard.tombstones') IS NOT NULL AS table`,
      );
      expect(x).toEqual({ triggers: 0, functions: 0, table: false });
      await query(db, `DELETE FROM items WHERE id = 99`);
    }
    await dropSync(oldDb, id, 'forward', newDb); // idempotent
  });

  test('GIVEN a long app transaction writing the table WHEN the tombstone trigger is installed THEN the DDL waits in short attempts (lock_timeout 2 s) and succeeds once it ends', async () => {
    const { source: db } = await rolePair('sytl');
    await query(db, `INSERT INTO items VALUES (1, 'a', NULL, 0)`);
    const app = await connect(db);
    try {
      await app.query('BEGIN');
      await app.query(`UPDATE items SET n = n + 1 WHERE id = 1`);
      const t0 = Date.now();
      const installing = installTombstones(db, itemsSpec, 'lt', 'reverse');
      setTimeout(() => void app.query('COMMIT'), 2_500);
      expect(await installing).toBe(1);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2_400);
    } finally {
      await app.end();
    }
    await query(db, `DELETE FROM items WHERE id = 1`);
    expect(await query(db, `SELECT key FROM switchyard.tombstones`)).toEqual([{ key: ['1'] }]);
  });

  test('fails when the login neither owns the table nor holds TRIGGER on it: ReplicationNotConfiguredError names the table, nothing installed', async () => {
    const db = await freshDatabase('sytbx');
    const admin = await connect(db);
    try {
      await admin.query(ITEMS_DDL);
      await admin.query(`CREATE SCHEMA switchyard`);
    } finally {
      await admin.end();
    }
    const login = await asMigrationRole(db);
    const c = await connect({ ...testServer(), database: db.database });
    try {
      await c.query(`ALTER SCHEMA switchyard OWNER TO ${login.user}`);
    } finally {
      await c.end();
    }
    const err = await installTombstones(login, itemsSpec, 'x', 'forward').catch((e) => e);
    expect(err).toBeInstanceOf(ReplicationNotConfiguredError);
    expect(err.message).toMatch(/on public\.items: permission denied.*must own the table \(or hold TRIGGER on it\)/);
    expect(await query(db, `SELECT 1 FROM pg_trigger WHERE tgname LIKE 'sy\\_%'`)).toEqual([]);
  });
});
