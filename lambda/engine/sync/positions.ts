import type { Client } from 'pg';
import { type DbEndpoint, withClient } from '../db';
import { META_SCHEMA } from '../prepare';
import { parseLsn } from './pgoutput';

/**
 * The source's WAL insert position. With asynchronous commit a committed transaction may lie
 * beyond the write (flush) position: a drain that must include every acknowledged commit reads
 * this one.
 */
export const INSERT_POSITION_SQL = 'SELECT pg_current_wal_insert_lsn()::text AS lsn';

/** The insert position on an open connection. */
export async function insertPosition(c: Client): Promise<string> {
  return (await c.query(INSERT_POSITION_SQL)).rows[0].lsn as string;
}

/** The insert position of a source, on a connection of its own. */
export function sourceInsertPosition(source: DbEndpoint): Promise<string> {
  return withClient(source, { applicationName: 'switchyard-sync' }, insertPosition);
}

/**
 * How far a direction is applied, seen from outside the applier (another process streams the
 * slot): the position stored in the destination with each batch, or the slot's confirmed position
 * when later (the applier confirms WAL with nothing of ours in it while idle). 0 before the first batch.
 */
export async function appliedPositionWith(src: Client, dst: Client, slot: string): Promise<bigint> {
  // Before the applier's first batch the bookkeeping table may not exist yet.
  const table = await dst.query(`SELECT to_regclass('${META_SCHEMA}.sync_position') IS NOT NULL AS ok`);
  const stored = table.rows[0].ok
    ? ((await dst.query(`SELECT lsn::text AS lsn FROM ${META_SCHEMA}.sync_position WHERE slot_name = $1`, [slot]))
        .rows[0]?.lsn as string | undefined)
    : undefined;
  const confirmed = (
    await src.query('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slot])
  ).rows[0]?.lsn as string | null | undefined;
  const a = stored ? parseLsn(stored) : 0n;
  const b = confirmed ? parseLsn(confirmed) : 0n;
  return a > b ? a : b;
}
