import type { Client } from 'pg';
import { type DbEndpoint, withClient } from '../db';

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
