import type { Client } from 'pg';
import { META_SCHEMA } from '../prepare';

/**
 * Sync bookkeeping in the destination database, schema `switchyard` (never the
 * login's search_path: every name is qualified).
 * - sync_position: last applied source LSN per slot, written in the same transaction as the batch.
 * - conflicts: one row per same-key conflict (table, key columns' text, commit times, winner). No other row values.
 * - applied_xacts: transaction ids of the sync's own apply transactions, so a row last written by
 *   the sync is never mistaken for a local write by the conflict rule. Pruned by position (pruneBookkeeping).
 * - tombstones: the key (text of the destination table's key columns, nothing else) of every
 *   LOCAL delete of a synced table while a tombstone trigger is installed (tombstones.ts), with
 *   the deleting transaction's id: its commit time is the delete's time for the conflict rule.
 *   `commit_time`, when set, is used instead of the lookup (nothing in the engine sets it; it lets
 *   an operator or a test pin a delete's time). Pruned by position (pruneBookkeeping); emptied and
 *   dropped by dropSync.
 */
const DDL = [
  `CREATE SCHEMA IF NOT EXISTS ${META_SCHEMA}`,
  `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.sync_position (
     slot_name text PRIMARY KEY, direction text NOT NULL, lsn pg_lsn NOT NULL,
     commit_time timestamptz, applied_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.conflicts (
     id bigserial PRIMARY KEY, slot_name text NOT NULL, direction text NOT NULL, table_name text NOT NULL,
     key_columns text[] NOT NULL, key text[] NOT NULL, kind text NOT NULL,
     incoming_commit_time timestamptz NOT NULL, local_commit_time timestamptz, winner text NOT NULL,
     recorded_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.applied_xacts (
     xid32 bigint PRIMARY KEY, direction text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.tombstones (
     table_oid oid NOT NULL, key text[] NOT NULL, deleted_xid xid8, commit_time timestamptz,
     recorded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (table_oid, key))`,
];

export async function ensureSyncBookkeeping(c: Client): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query(`SELECT pg_advisory_xact_lock(hashtext('switchyard:sync-bookkeeping'))`);
    for (const s of DDL) await c.query(s);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/**
 * Commit times of the two servers are compared across clocks; an entry is kept this much longer
 * than the position strictly needs, for clock skew and commit times that are not quite in commit order.
 */
export const PRUNE_MARGIN_SECONDS = 300;

/**
 * The commit time of a transaction id stored as 32 bits (or cast from xid8), or `fallback` (the
 * time it was recorded, which is earlier) when it cannot be asked for: more than ~2 billion
 * transactions old (it would read as "in the future" and fail) or no longer tracked.
 */
const commitTimeOf = (xid: string, fallback: string) =>
  `CASE WHEN age(${xid}) BETWEEN 0 AND 2000000000 THEN coalesce(pg_xact_commit_timestamp(${xid}), ${fallback}) ELSE ${fallback} END`;

/**
 * Prune the bookkeeping of the direction writing into this database BY POSITION, never by wall time
 * (a backlog may be days old). An `applied_xacts` entry matters while an incoming change committed
 * before the entry's transaction may still arrive (it would otherwise lose against the sync's own
 * write); a tombstone, while an incoming change committed before the delete may still arrive (it
 * would otherwise re-create a row deleted later). Changes arrive in commit order, so every change
 * still to come committed at or after the stored position's commit time: entries committed before
 * it (minus PRUNE_MARGIN_SECONDS) can no longer matter. Without a stored position, nothing is
 * pruned. The current transaction's own entry is kept. Call inside the apply transaction.
 */
export async function pruneBookkeeping(c: Client, slot: string, direction: string): Promise<void> {
  const horizon = `(SELECT p.commit_time - make_interval(secs => ${PRUNE_MARGIN_SECONDS}) FROM ${META_SCHEMA}.sync_position AS p WHERE p.slot_name = $1)`;
  await c.query(
    `DELETE FROM ${META_SCHEMA}.applied_xacts AS a
      WHERE a.direction = $2 AND a.xid32 <> pg_current_xact_id()::text::bigint % 4294967296
        AND ${commitTimeOf('a.xid32::text::xid', 'a.applied_at')} < ${horizon}`,
    [slot, direction],
  );
  await c.query(
    `DELETE FROM ${META_SCHEMA}.tombstones AS tb
      WHERE coalesce(tb.commit_time, ${commitTimeOf('tb.deleted_xid::xid', 'tb.recorded_at')}) < ${horizon}`,
    [slot],
  );
}

export interface StoredPosition {
  readonly lsn: string;
  readonly commitTime: Date | null;
}

export async function readPosition(c: Client, slot: string): Promise<StoredPosition | null> {
  const r = await c.query(
    `SELECT lsn::text AS lsn, commit_time FROM ${META_SCHEMA}.sync_position WHERE slot_name = $1`,
    [slot],
  );
  return r.rowCount ? { lsn: r.rows[0].lsn as string, commitTime: r.rows[0].commit_time as Date | null } : null;
}

/** Record the applied position; call inside the apply transaction. */
export async function writePosition(
  c: Client,
  slot: string,
  direction: string,
  lsn: string,
  commitTimeIso: string,
): Promise<void> {
  await c.query(
    `INSERT INTO ${META_SCHEMA}.sync_position (slot_name, direction, lsn, commit_time, applied_at) VALUES ($1, $2, $3::pg_lsn, $4::timestamptz, now())
     ON CONFLICT (slot_name) DO UPDATE SET lsn = EXCLUDED.lsn, commit_time = EXCLUDED.commit_time, applied_at = now()`,
    [slot, direction, lsn, commitTimeIso],
  );
}

/** Forget a slot's position (the slot was dropped: a new one starts from a new copy). */
export async function clearPosition(c: Client, slot: string): Promise<void> {
  await c
    .query(`DELETE FROM ${META_SCHEMA}.sync_position WHERE slot_name = $1`, [slot])
    .catch((e: { code?: string }) => {
      if (e.code !== '42P01' && e.code !== '3F000') throw e;
    });
}

/**
 * The capture of a direction was dropped: forget everything that relied on it, on the destination.
 * Its stored position goes (a new slot starts over). For the forward direction, the copy's
 * checkpoints of the run (`copy_chunks` of run id = migration id) are voided too: rows copied under
 * the dropped capture missed every write between the drop and the next capture, so a rerun with
 * the same id must copy every chunk again (deleting its range first), not skip it as done — else
 * those writes are lost and validation ends in IntegrityMismatchError. The plan (chunk boundaries)
 * stays. Idempotent; a missing bookkeeping schema is fine.
 */
export async function forgetCapture(c: Client, slot: string, migrationId: string, direction: string): Promise<void> {
  await clearPosition(c, slot);
  if (direction !== 'forward') return;
  await c
    .query(
      `UPDATE ${META_SCHEMA}.copy_chunks SET copied_rows = NULL, copied_at = NULL, fresh = false WHERE run_id = $1`,
      [migrationId],
    )
    .catch((e: { code?: string }) => {
      if (e.code !== '42P01' && e.code !== '3F000') throw e;
    });
}
