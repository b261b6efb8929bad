import type { Client } from 'pg';
import { META_SCHEMA } from '../prepare';

/**
 * Sync bookkeeping in the destination database, schema `switchyard` (never the
 * login's search_path: every name is qualified).
 * - sync_position: last applied source LSN per slot, written in the same transaction as the batch.
 * - conflicts: one row per same-key conflict (table, key columns' text, commit times, winner). No other row values.
 * - applied_xacts: transaction ids of the sync's own apply transactions, so a row last written by
 *   the sync is never mistaken for a local write by the conflict rule.
 * - tombstones: the key (text of the destination table's key columns, nothing else) of every
 *   LOCAL delete of a synced table while a tombstone trigger is installed (tombstones.ts), with
 *   the deleting transaction's id: its commit time is the delete's time for the conflict rule.
 *   `commit_time`, when set, is used instead of the lookup (nothing in the engine sets it; it lets
 *   an operator or a test pin a delete's time). Emptied and dropped by dropSync.
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
    // Entries only matter while an incoming change can be older than them; a day is far beyond any lag we accept.
    await c.query(`DELETE FROM ${META_SCHEMA}.applied_xacts WHERE applied_at < now() - interval '1 day'`);
    // Same horizon for tombstones: a delete matters only against an incoming change that committed around it.
    await c.query(`DELETE FROM ${META_SCHEMA}.tombstones WHERE recorded_at < now() - interval '1 day'`);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
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
