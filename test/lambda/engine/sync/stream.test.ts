import type { DbEndpoint } from '../../../../lambda/engine';
import { connect } from '../../../../lambda/engine/db';
import { createSync, parseLsn, ReplicationSlotActiveError, runSync, slotStatus } from '../../../../lambda/engine/sync';
import { asMigrationRole, freshDatabase, query, testServer } from '../../../support/pg';
import { copyAll, ITEMS_DDL, itemsSpec, rolePair, rowsOf } from './helpers';

/**
 * The streaming path against a real walsender: what the slot is told, a transaction larger than
 * the receive buffer, one applier per slot, and wal_sender_timeout while an apply is blocked.
 */
describe('streaming the slot over the replication protocol', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'stream';
  const sync = (extra: object = {}) =>
    runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source, target, ...extra });
  const confirmed = async () => (await slotStatus(source, id, 'forward')).confirmedLsn as string;

  beforeAll(async () => {
    ({ source, target } = await rolePair('syst'));
    await query(source, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 100) g`);
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
  });

  test('GIVEN changes WHEN a batch commits in the destination THEN the slot is behind it until told, and equals the applied position after the run', async () => {
    await query(source, `UPDATE items SET n = n + 1 WHERE id <= 10`);
    await query(source, `INSERT INTO items VALUES (1000, 'x', NULL, 0)`);
    const seen: [string, string][] = [];
    const r = await sync({
      faults: { afterApplyCommit: async (lsn: string) => void seen.push([lsn, await confirmed()]) },
    });
    expect(r).toMatchObject({ transactions: 2, updated: 10, inserted: 1, caughtUp: true });
    expect(seen.length).toBeGreaterThan(0);
    for (const [stored, slot] of seen) expect(parseLsn(slot) < parseLsn(stored)).toBe(true);
    expect(await confirmed()).toBe(r.appliedLsn);
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  });

  test('GIVEN a 30,000-row transaction WHEN streamed through a 500-message receive buffer THEN it is applied whole, in one destination transaction', async () => {
    await query(source, `INSERT INTO items SELECT g, 'bulk', NULL, g FROM generate_series(10000, 39999) g`);
    const r = await sync({ receiveBuffer: 500, flushRows: 5000 });
    expect(r).toMatchObject({ transactions: 1, inserted: 30_000, batches: 1, caughtUp: true });
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  });

  test('GIVEN one transaction updating, re-keying and deleting rows across many flushes (unchanged TOAST included) WHEN its flushes are written while the next rows are decoded THEN the target equals the source', async () => {
    await query(
      source,
      `INSERT INTO items SELECT g, 'toast', repeat('t' || g, 3000), g FROM generate_series(50000, 50099) g`,
    );
    await sync();
    const tx = [
      'BEGIN',
      `INSERT INTO items SELECT g, 'ahead', NULL, g FROM generate_series(60000, 62999) g`,
      `UPDATE items SET n = -n WHERE id BETWEEN 60000 AND 60999`,
      `UPDATE items SET id = id + 10000 WHERE id BETWEEN 61000 AND 61499`,
      `DELETE FROM items WHERE id BETWEEN 62000 AND 62499`,
      `UPDATE items SET name = 'unchanged big' WHERE id BETWEEN 50000 AND 50099`,
      `UPDATE items SET n = n + 1 WHERE id BETWEEN 60000 AND 62999`,
      'COMMIT',
    ];
    await query(source, tx.join(';\n'));
    const r = await sync({ receiveBuffer: 100, flushRows: 300 });
    expect(r).toMatchObject({ transactions: 1, caughtUp: true });
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  });

  test('GIVEN a transaction whose late flush fails in the destination WHEN it is written in the background THEN the run fails by that error, nothing of the transaction is applied, and after the fix the next run applies it whole (and the one before it)', async () => {
    await query(target, `ALTER TABLE items ADD CONSTRAINT not_minus_777 CHECK (n <> -777)`);
    await query(source, `INSERT INTO items VALUES (80000, 'before', NULL, 1)`);
    await query(
      source,
      `INSERT INTO items SELECT g, 'late failure', NULL, CASE WHEN g = 82500 THEN -777 ELSE g END FROM generate_series(81000, 83999) g`,
    );
    const err = await sync({ receiveBuffer: 100, flushRows: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err.message)).toMatch(/not_minus_777/);
    expect(await query(target, `SELECT count(*)::int AS n FROM items WHERE id BETWEEN 81000 AND 83999`)).toEqual([
      { n: 0 },
    ]);
    await query(target, `ALTER TABLE items DROP CONSTRAINT not_minus_777`);
    expect(await sync()).toMatchObject({ caughtUp: true });
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  });

  test('GIVEN an applier streaming the slot WHEN a second one starts THEN it waits, then fails with ReplicationSlotActiveError; aborted while waiting it returns having applied nothing', async () => {
    const ac = new AbortController();
    const first = sync({ signal: ac.signal, pollMs: 20 });
    while (!(await slotStatus(source, id, 'forward')).active) await new Promise((r) => setTimeout(r, 50));
    const err = await sync({ maxMs: 1000, slotWaitMs: 500 }).catch((e) => e);
    expect(err).toBeInstanceOf(ReplicationSlotActiveError);
    expect(err.message).toMatch(/another applier streams this slot .* waited 1 s: retry after it ends, or stop it/);
    const waiting = new AbortController();
    const second = sync({ signal: waiting.signal, slotWaitMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    waiting.abort();
    expect(await second).toMatchObject({ transactions: 0, inserted: 0 });
    await query(source, `INSERT INTO items VALUES (1001, 'while streaming', NULL, 0)`);
    while ((await rowsOf(target, 'public.items')).length < (await rowsOf(source, 'public.items')).length)
      await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    expect(await first).toMatchObject({ inserted: 1 });
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  });
});

describe('wal_sender_timeout while an apply is blocked', () => {
  test('GIVEN wal_sender_timeout 1 s and a destination row locked for 4 s WHEN the sync applies into it THEN status updates keep the walsender alive and the stream goes on', async () => {
    const role = 'sy_stream_ws';
    const source = await asMigrationRole(await freshDatabase('syws'), role);
    const target = await asMigrationRole(await freshDatabase('sywt'), role);
    const admin = await connect(testServer());
    await admin.query(`ALTER ROLE ${role} SET wal_sender_timeout = '1s'`);
    await admin.end();
    await query(source, ITEMS_DDL);
    await query(source, `INSERT INTO items VALUES (1, 'a', NULL, 0)`);
    await createSync(source, itemsSpec, 'ws', 'forward');
    await copyAll(itemsSpec, source, target);
    await query(source, `UPDATE items SET name = 'b' WHERE id = 1`);
    const locker = await connect(target);
    await locker.query(`BEGIN; SELECT * FROM items WHERE id = 1 FOR UPDATE`);
    const ac = new AbortController();
    const run = runSync({
      migrationId: 'ws',
      direction: 'forward',
      spec: itemsSpec,
      source,
      target,
      signal: ac.signal,
    });
    await new Promise((r) => setTimeout(r, 4000));
    await locker.query('COMMIT');
    await locker.end();
    // The same stream goes on: a walsender that timed out would have ended it.
    await query(source, `INSERT INTO items VALUES (2, 'after the wait', NULL, 0)`);
    const t0 = Date.now();
    while ((await rowsOf(target, 'public.items')).length < 2 && Date.now() - t0 < 30_000)
      await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    expect(await run).toMatchObject({ transactions: 2, updated: 1, inserted: 1 });
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  }, 60_000);
});
