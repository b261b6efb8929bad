import type { Client } from 'pg';
import { type DbEndpoint, withClient } from '../db';
import { readPosition } from './bookkeeping';
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
  // Before the applier's first batch the bookkeeping table may not exist yet (42P01): nothing stored.
  const stored = await readPosition(dst, slot).catch((e: { code?: string }) => {
    if (e.code === '42P01') return null;
    throw e;
  });
  const confirmed = (
    await src.query('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slot])
  ).rows[0]?.lsn as string | null | undefined;
  const a = stored ? parseLsn(stored.lsn) : 0n;
  const b = confirmed ? parseLsn(confirmed) : 0n;
  return a > b ? a : b;
}
