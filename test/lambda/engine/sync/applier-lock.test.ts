import { connect, type DbEndpoint } from '../../../../lambda/engine/db';
import { ApplierLockTimeoutError, createSync, dropSync, runSync, syncNames } from '../../../../lambda/engine/sync';
import { query } from '../../../support/pg';
import { copyAll, itemsSpec, rolePair, rowsOf } from './helpers';

/*
 * The applier lock (on the destination) is bounded: a frozen apply transaction (a Lambda paused
 * mid-batch, its connections open, idle in transaction, holding the lock) is ended by the next
 * applier or by dropSync once stale; a live holder
 * makes the next one fail with a named error after the bounded wait, never block for ever.
 */

const id = 'alock';
const lockName = `switchyard-sync:${syncNames(id, 'forward').slot}`;

/** A session holding the applier lock and then doing nothing, as a frozen Lambda does. */
async function frozenHolder(db: DbEndpoint, applicationName: string, xact: boolean) {
  const c = await connect(db, { applicationName });
  let ended = false;
  c.on('end', () => (ended = true));
  await c.query('BEGIN');
  await c.query(`SELECT ${xact ? 'pg_advisory_xact_lock' : 'pg_advisory_lock'}(hashtextextended($1, 0))`, [lockName]);
  return { c, ended: () => ended };
}

describe('applier lock: bounded wait, stale holder taken over', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const fwd = (lock: object) =>
    runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source, target, lock });

  beforeAll(async () => {
    ({ source, target } = await rolePair('syal'));
    await query(source, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 20) g`);
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
  });

  test('GIVEN a frozen apply transaction on the destination (lock and a row lock held) WHEN the next sync runs THEN it ends it and applies', async () => {
    const frozen = await frozenHolder(target, 'switchyard-sync-apply', true);
    await frozen.c.query(`UPDATE items SET n = -99 WHERE id = 2`); // uncommitted: must never land
    await query(source, `UPDATE items SET name = 'after dst freeze' WHERE id = 2`);
    const r = await fwd({ staleMs: 1500, waitMs: 60_000 });
    expect(r.transactions).toBe(1);
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
    await frozen.c.end().catch(() => undefined);
  });

  test('fails when a live session of another application holds the lock: ApplierLockTimeoutError after the bounded wait names the slot and the holder, which is left alone', async () => {
    const holder = await frozenHolder(target, 'psql', false);
    await query(source, `UPDATE items SET name = 'waits' WHERE id = 3`);
    const err = await fwd({ staleMs: 500, waitMs: 2_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(ApplierLockTimeoutError);
    expect(err.message).toContain(lockName);
    expect(err.message).toMatch(/psql/);
    expect(holder.ended()).toBe(false);
    expect((await holder.c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await holder.c.end();
    const r = await fwd({});
    expect(r.transactions).toBe(1);
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  });

  test('GIVEN a frozen apply transaction on the destination WHEN the sync is dropped THEN dropSync ends the stale holder instead of hanging', async () => {
    const frozen = await frozenHolder(target, 'switchyard-sync-apply', true);
    await frozen.c.query(`UPDATE switchyard.sync_position SET lsn = lsn`); // the row lock forgetting the position needs
    const out = await dropSync(source, id, 'forward', target, { staleMs: 1500, waitMs: 60_000 });
    expect(out.slotDropped).toBe(true);
    expect(
      await query(target, `SELECT 1 FROM switchyard.sync_position WHERE slot_name = $1`, [
        syncNames(id, 'forward').slot,
      ]),
    ).toEqual([]);
    const gone = await query(target, `SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [
      (frozen.c as unknown as { processID: number }).processID,
    ]);
    expect(gone).toEqual([]);
    await frozen.c.end().catch(() => undefined);
  });
});
