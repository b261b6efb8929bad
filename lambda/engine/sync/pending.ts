/**
 * What a direction still holds for its destination: the slot's state and an upper bound of the
 * row changes (pgoutput Insert/Update/Delete/Truncate messages) not yet confirmed. Read-only
 * (a peek, nothing consumed). Used to say how many changes a failed drain did not return.
 */
import type { Client } from 'pg';
import { type DbEndpoint, withClient } from '../db';
import { syncNames, type Direction } from './names';
import { slotStatusWith } from './slot';

export interface PendingChanges {
  readonly slot: string;
  readonly exists: boolean;
  readonly invalidated: boolean;
  readonly lagBytes: number | null;
  /** Row changes after the slot's confirmed position (some may be applied, not yet confirmed); null when the slot cannot be read. */
  readonly changes: number | null;
}

export async function pendingChanges(
  source: DbEndpoint,
  migrationId: string,
  direction: Direction,
): Promise<PendingChanges> {
  const { slot, publication } = syncNames(migrationId, direction);
  return withClient(source, { applicationName: 'switchyard-sync' }, async (c) => {
    const s = await slotStatusWith(c, slot);
    const base = { slot, exists: s.exists, invalidated: s.invalidated, lagBytes: s.lagBytes };
    if (!s.exists || s.invalidated) return { ...base, changes: null };
    await flushWal(c).catch(() => undefined); // a read-only or recovering server: count what is flushed
    // I(73) U(85) D(68) T(84): the row-change messages of pgoutput.
    const r = await c
      .query(
        `SELECT count(*) FILTER (WHERE get_byte(data, 0) IN (73, 85, 68, 84))::bigint AS n
           FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2)`,
        [slot, publication],
      )
      .catch(() => undefined);
    return { ...base, changes: r ? Number(r.rows[0].n) : null };
  });
}

/**
 * A peek decodes only WAL already flushed; with asynchronous commit an acknowledged transaction may
 * not be yet, and would not be counted. A synchronous commit of a transaction that wrote WAL (here a
 * transactional logical message, which the sync ignores) flushes the WAL up to its commit record,
 * so past every commit acknowledged before it.
 */
async function flushWal(c: Client): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query(`SET LOCAL synchronous_commit = on`);
    await c.query(`SELECT pg_logical_emit_message(true, 'switchyard-flush', '')`);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
