import type { Client } from 'pg';
import type { PreflightCheck } from '../../core/preflight/evaluate';
import { runPack } from '../../core/preflight/pack';
import { assertSupportedServer, capabilities, needsLoopMarkerTable, publicationOptions } from '../capabilities';
import { type DbEndpoint, withClient } from '../db';
import { describe } from '../errors';
import type { MigrationSpec } from '../spec';
import { qi, ql } from '../sql';
import { forgetCapture } from './bookkeeping';
import {
  ReplicaIdentityMissingError,
  ReplicationNotConfiguredError,
  ReplicationSlotInvalidatedError,
  ReplicationSlotMissingError,
} from './errors';
import { ensureLoopMarkTable, LOOP_MARK_RELATION } from './loop-marker';
import { type ApplierLockOptions, acquireApplierLock } from './applier-lock';
import { type Direction, slotLockName, syncNames } from './names';
import { SYNC_PRECONDITIONS, syncPreconditionContext } from './preconditions';
import { keylessTables, publishedTables } from './tables';
import { slotLostError } from './slot-lost';
import { dropTombstones } from './tombstones';

export interface SlotStatus {
  readonly slot: string;
  readonly exists: boolean;
  /** Last position the destination confirmed (slot's confirmed_flush_lsn). */
  readonly confirmedLsn: string | null;
  readonly currentLsn: string;
  /** pg_current_wal_lsn() − confirmed_flush_lsn. */
  readonly lagBytes: number | null;
  readonly walStatus: string | null;
  readonly active: boolean;
  readonly invalidated: boolean;
  readonly invalidationReason: string | null;
  /** The direction's publication exists (it is catalog data: a promoted standby has it, even without the slot). */
  readonly publicationExists: boolean;
  /** When the server last started (ISO): a failover shows as a recent start. */
  readonly serverStartedAt: string;
}

/** The slot's state; catalog columns a major lacks (conflicting 16+, invalidation_reason 17+) read as null. */
export async function slotStatusWith(c: Client, slot: string): Promise<SlotStatus> {
  const caps = await capabilities(c);
  const conflicting = caps.slotColumns.conflicting ? 'coalesce(s.conflicting, false)' : 'false';
  const reason = caps.slotColumns.invalidationReason ? 's.invalidation_reason' : 'NULL::text';
  const r = await c.query(
    `SELECT s.confirmed_flush_lsn::text AS confirmed, pg_current_wal_lsn()::text AS current,
            (pg_current_wal_lsn() - s.confirmed_flush_lsn)::bigint AS lag, s.wal_status, s.active,
            ${conflicting} AS conflicting, ${reason} AS invalidation_reason,
            EXISTS (SELECT 1 FROM pg_publication p WHERE p.pubname = $1) AS publication,
            pg_postmaster_start_time() AS started
       FROM (SELECT 1) x LEFT JOIN pg_replication_slots s ON s.slot_name = $1`,
    [slot],
  );
  const row = r.rows[0];
  const exists = row.confirmed !== null || row.wal_status !== null;
  const invalidated =
    exists && (row.wal_status === 'lost' || row.conflicting === true || row.invalidation_reason !== null);
  return {
    slot,
    exists,
    confirmedLsn: row.confirmed,
    currentLsn: row.current,
    lagBytes: row.lag === null ? null : Number(row.lag),
    walStatus: row.wal_status,
    active: row.active === true,
    invalidated,
    invalidationReason:
      row.invalidation_reason ?? (row.wal_status === 'lost' ? 'wal_removed' : row.conflicting ? 'conflicting' : null),
    publicationExists: row.publication === true,
    serverStartedAt: new Date(row.started).toISOString(),
  };
}

export async function slotStatus(source: DbEndpoint, migrationId: string, direction: Direction): Promise<SlotStatus> {
  return withClient(source, { applicationName: 'switchyard-sync' }, (c) =>
    slotStatusWith(c, syncNames(migrationId, direction).slot),
  );
}

/** Throw the named error for a slot the sync cannot read from. */
export function assertSlotUsable(s: SlotStatus, direction: Direction): void {
  const redo =
    direction === 'forward'
      ? 'drop the sync objects (`switchyard sync cleanup`, or the Decommission workflow), then re-run ' +
        'PrepareTarget and copy the data again from scratch (the slot must exist before the copy)'
      : "the new side's writes since the last applied position cannot be replayed into the old side: drop the " +
        'sync objects and, to go back, run RestoreData (or re-copy new -> old)';
  if (!s.exists && s.publicationExists) throw slotLostError(s, direction, redo);
  if (!s.exists) throw new ReplicationSlotMissingError(`replication slot ${s.slot} does not exist: ${redo}`);
  if (s.invalidated) {
    throw new ReplicationSlotInvalidatedError(
      `replication slot ${s.slot} is invalidated (${s.invalidationReason ?? s.walStatus}): the WAL it needed is gone; ${redo}`,
    );
  }
}

export async function replicaIdentityProblems(
  c: Client,
  tables: readonly string[],
  keyless: readonly string[] = [],
): Promise<string[]> {
  const problems: string[] = [];
  for (const t of tables) {
    const r = await c.query(
      `SELECT c.relreplident AS ri, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
         FROM pg_class c WHERE c.oid = to_regclass($1)`,
      [qi(t)],
    );
    if (!r.rowCount) problems.push(`${t} does not exist`);
    else if (r.rows[0].ri === 'n' || (r.rows[0].ri === 'd' && !r.rows[0].pk))
      problems.push(`${t} has no primary key and no REPLICA IDENTITY FULL/INDEX`);
    // A keyless table's rows are matched by every column: its changes must carry the whole old row.
    else if (keyless.includes(t) && r.rows[0].ri !== 'f')
      problems.push(`${t} is keyless in the spec and needs REPLICA IDENTITY FULL`);
  }
  return problems;
}

/** Create the loop marker table; false when the login may not (then two-way sync into this server is refused by name). */
async function loopMarkTableReady(c: Client): Promise<boolean> {
  try {
    await ensureLoopMarkTable(c);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === '42501') return false;
    throw e;
  }
}

export interface CreateSyncResult {
  readonly slot: string;
  readonly publication: string;
  readonly created: { publication: boolean; slot: boolean };
  /** LSN from which the slot delivers changes (null when the slot already existed). */
  readonly startLsn: string | null;
}

/**
 * Create the publication (on the direction's source tables) and THEN the logical slot.
 * Idempotent: existing objects are kept (the publication's table list is brought in line).
 * Refuses with ReplicaIdentityMissingError before creating anything if a table has no
 * primary key or replica identity: publishing it would make its UPDATE/DELETE fail on the source.
 */
export async function createSync(
  source: DbEndpoint,
  spec: MigrationSpec,
  migrationId: string,
  direction: Direction,
): Promise<CreateSyncResult> {
  const { slot, publication } = syncNames(migrationId, direction);
  const tables = publishedTables(spec, direction);
  return withClient(source, { applicationName: 'switchyard-sync' }, async (c) => {
    const problems = await replicaIdentityProblems(c, tables, keylessTables(spec, direction));
    if (problems.length) {
      throw new ReplicaIdentityMissingError(
        `cannot publish for ${direction} sync: ${problems.join('; ')}. Add a primary key, or ALTER TABLE ` +
          `<table> REPLICA IDENTITY FULL, then retry (nothing was created)`,
      );
    }
    const caps = await capabilities(c);
    assertSupportedServer(caps, `the ${direction} sync's source`);
    const pub = await c.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [publication]);
    const published = tables.map(qi);
    // A server whose pgoutput cannot carry the applier's logical message publishes the loop marker table instead.
    if (needsLoopMarkerTable(caps) && (await loopMarkTableReady(c))) published.push(LOOP_MARK_RELATION);
    const list = published.join(', ');
    const options = publicationOptions(caps);
    try {
      if (!pub.rowCount)
        await c.query(`CREATE PUBLICATION ${qi(publication)} FOR TABLE ${list}${options ? ` WITH (${options})` : ''}`);
      else {
        await c.query(`ALTER PUBLICATION ${qi(publication)} SET TABLE ${list}`);
        if (options) await c.query(`ALTER PUBLICATION ${qi(publication)} SET (${options})`);
      }
    } catch (e) {
      throw new ReplicationNotConfiguredError(
        `cannot create publication ${publication} on ${tables.join(', ')}: ${describe(e)}. The login must own ` +
          `these tables (CREATE PUBLICATION … FOR TABLE needs ownership)`,
        { cause: e },
      );
    }
    const existing = await c.query(
      `SELECT plugin, database = current_database() AS here FROM pg_replication_slots WHERE slot_name = $1`,
      [slot],
    );
    if (existing.rowCount) {
      if (existing.rows[0].plugin !== 'pgoutput' || !existing.rows[0].here) {
        throw new ReplicationNotConfiguredError(
          `replication slot ${slot} exists but is not a pgoutput slot of this database: drop it (SELECT pg_drop_replication_slot('${slot}')) and retry`,
        );
      }
      return { slot, publication, created: { publication: !pub.rowCount, slot: false }, startLsn: null };
    }
    try {
      // 17+: a failover slot (synchronized to standbys with sync_replication_slots on, so it survives a failover).
      const failover = (await capabilities(c)).failoverSlots ? ', false, false, true' : '';
      const r = await c.query(
        `SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput'${failover})`,
        [slot],
      );
      return {
        slot,
        publication,
        created: { publication: !pub.rowCount, slot: true },
        startLsn: r.rows[0].lsn as string,
      };
    } catch (e) {
      if ((e as { code?: string }).code === '42710')
        return { slot, publication, created: { publication: !pub.rowCount, slot: false }, startLsn: null };
      throw new ReplicationNotConfiguredError(
        `cannot create replication slot ${slot}: ${describe(e)}. Check wal_level = logical (RDS: ` +
          `rds.logical_replication = 1 in the parameter group, then reboot), the REPLICATION (RDS: ` +
          `rds_replication) role, and a free slot (max_replication_slots)`,
        { cause: e },
      );
    }
  });
}

/**
 * Drop the slot, the publication and the replication origin of a direction; forget the
 * destination position; drop the direction's tombstone triggers on the destination and its
 * tombstones (tombstones.ts). Idempotent. `target` is the database the direction writes into.
 */
export async function dropSync(
  source: DbEndpoint,
  migrationId: string,
  direction: Direction,
  target?: DbEndpoint,
  lock?: ApplierLockOptions,
): Promise<{ slotDropped: boolean; publicationDropped: boolean }> {
  const { slot, publication, origin } = syncNames(migrationId, direction);
  const out = await withClient(source, { applicationName: 'switchyard-sync' }, async (c) => {
    // A running sync's walsender holds the slot (a frozen one until wal_sender_timeout): refused, never waited for.
    const s = await c.query(`SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
    let slotDropped = false;
    if (s.rowCount) {
      if (s.rows[0].active_pid) {
        throw new ReplicationNotConfiguredError(
          `replication slot ${slot} is in use by another session: stop the running sync, then drop again`,
        );
      }
      await c.query(`SELECT pg_drop_replication_slot($1)`, [slot]).catch((e: { code?: string }) => {
        if (e.code !== '42704') throw e;
      });
      slotDropped = true;
    }
    const p = await c.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [publication]);
    if (p.rowCount) await c.query(`DROP PUBLICATION IF EXISTS ${qi(publication)}`);
    return { slotDropped, publicationDropped: (p.rowCount ?? 0) > 0 };
  });
  if (target) {
    await withClient(target, { applicationName: 'switchyard-sync' }, async (c) => {
      // An apply transaction still open (a frozen Lambda's) would block forgetting the position:
      // bounded wait for the applier lock, a stale holder ended (applier-lock.ts).
      await acquireApplierLock(c, slotLockName(slot), { ...lock, what: 'dropSync' });
      await forgetCapture(c, slot, migrationId, direction); // position, and the copy's checkpoints (forward)
      await dropTombstones(c, migrationId, direction);
      // Origins exist only where the login could create them (13: superuser only, whatever is granted).
      if ((await capabilities(c)).originPrivilege) {
        await c.query(
          `SELECT pg_replication_origin_drop(${ql(origin)}) WHERE pg_replication_origin_oid(${ql(origin)}) IS NOT NULL`,
        );
      }
    });
  }
  return out;
}

/**
 * What a run that failed after creating its slot tells the operator: the slot retains WAL on the
 * source until it is used again or removed, and how to remove it (and its publication).
 */
export function leftBehindHint(migrationId: string, direction: Direction): string {
  const { slot, publication } = syncNames(migrationId, direction);
  return (
    `replication slot ${slot} and publication ${publication} stay on the source and retain WAL until used or removed: ` +
    `run the same command again to resume, or remove them on the source with ` +
    `SELECT pg_drop_replication_slot('${slot}'); DROP PUBLICATION ${publication};`
  );
}

/** One sync precondition as reported: name, pass / fail / not-applicable, what was found, the fix. */
export type PreconditionCheck = PreflightCheck;

/**
 * Everything the sync of one direction needs from its source (and destination, for
 * the conflict rule): the pack in ./preconditions, as a list for Preflight. Read-only.
 */
export async function checkSyncPreconditions(
  source: DbEndpoint,
  spec: MigrationSpec,
  migrationId: string,
  direction: Direction,
  opts: { target?: DbEndpoint; conflicts?: boolean } = {},
): Promise<PreconditionCheck[]> {
  return withClient(source, { readOnly: true, applicationName: 'switchyard-preflight' }, async (c) => {
    const context = await syncPreconditionContext(c, spec, migrationId, direction, opts);
    return [...(await runPack(SYNC_PRECONDITIONS, context, { inOrder: true })).checks];
  });
}
