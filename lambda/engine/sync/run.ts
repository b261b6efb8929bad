import type { Client } from 'pg';
// What each server can do is read from ../capabilities (PostgreSQL 13–18).
import {
  assertSupportedServer,
  capabilities,
  type LoopGuard,
  loopGuardFor,
  namedServerError,
  type ServerCapabilities,
} from '../capabilities';
import { connect, type DbEndpoint } from '../db';
import { describe } from '../errors';
import type { MigrationSpec } from '../spec';
import { Applier, type ApplierOptions } from './apply';
import type { ApplierLockOptions } from './applier-lock';
import { ensureSyncBookkeeping, readPosition } from './bookkeeping';
import { Dispatch, type DispatchContext } from './dispatch';
import {
  CommitTimestampsOffError,
  ReplicationSlotInvalidatedError,
  ReplicationSlotMissingError,
  syncFailure,
} from './errors';
import { assertLoopMarksPublished } from './loop-marker';
import { type Direction, syncNames } from './names';
import { parseLsn } from './pgoutput';
import { assertSlotUsable, slotStatusWith } from './slot';
import { type StreamFeatures, streamFeatures } from './stream-features';
import { type SyncTable, syncTables } from './tables';
import { StreamRun } from './stream-run';
import { StreamedTransactions } from './streamed';
import { ensureTombstoneTriggers, tombstoneTables } from './tombstones';

export interface SyncRunOptions {
  readonly migrationId: string;
  readonly direction: Direction;
  readonly spec: MigrationSpec;
  /** Where changes are read (old for forward, new for reverse). */
  readonly source: DbEndpoint;
  /** Where changes are applied. */
  readonly target: DbEndpoint;
  /** Stop after this long (at the first transaction boundary after it, once that is committed). */
  readonly maxMs?: number;
  /**
   * Hard limit (ms from the start; a Lambda invocation's end minus a margin): reached inside a source
   * transaction, the run keeps every transaction committed before it and fails with
   * TransactionTooLargeError instead of being killed mid-transaction (a retry would start that
   * transaction over, for ever). @default - none (the run finishes the transaction it is in)
   */
  readonly deadlineMs?: number;
  /** Stop once everything up to this source LSN is applied. */
  readonly untilLsn?: string;
  /** Stop once the source is less than this many bytes ahead (checked when everything received is applied). */
  readonly untilLagBytes?: number;
  /** Continuous mode: stop (after the current transaction, committed) when aborted. */
  readonly signal?: AbortSignal;
  /** A destination transaction commits at the first source commit after it holds this many changes. @default 20000 */
  readonly batchChanges?: number;
  /** Coalesced rows written per flush (a huge transaction is applied in several flushes of one destination transaction). @default 20000 */
  readonly flushRows?: number;
  /**
   * Near the head of the stream (few messages queued), a destination transaction holding several
   * source transactions commits at the latest after this long; in a backlog after 5× as long
   * (bigger batches, more throughput). @default 200
   */
  readonly batchMs?: number;
  /** Later-commit-wins conflict detection. @default true for reverse, false for forward (see conflicts.ts) */
  readonly conflicts?: boolean;
  /** With nothing received for this long, commit what is open and check the bounds. @default 100 */
  readonly pollMs?: number;
  /** Wait this long for a slot another applier streams (it applies those changes meanwhile). @default 30000 */
  readonly slotWaitMs?: number;
  /**
   * Receive a transaction larger than the source's logical_decoding_work_mem while the walsender still
   * decodes it, and apply it meanwhile in its own destination session, committed at its commit
   * (streamed.ts; PostgreSQL 14+ sources, 14+ destinations). Only where nothing else writes the
   * destination's rows and the run has no time bound (a bounded run rolls it back at its end).
   * @default true without conflicts, maxMs and deadlineMs, and with no keyless table; else false
   */
  readonly streaming?: boolean;
  /**
   * The walsender's logical_decoding_work_mem for this run, in kB: with streaming, how much of a
   * transaction it decodes before it sends a block (smaller: applied sooner, more blocks).
   * @default STREAMED_DECODING_WORK_MEM_KB (streamed.ts) when streaming, else the source's setting
   */
  readonly decodingWorkMemKb?: number;
  /**
   * While a streamed transaction's session is open, the main session's lock waits end after this
   * long, and the run starts again without streaming (streamed.ts). @default STREAMED_LOCK_TIMEOUT_MS
   */
  readonly streamedLockTimeoutMs?: number;
  /** Decoded messages buffered before the socket is paused. @default RECEIVE_BUFFER (receive.ts) */
  readonly receiveBuffer?: number;
  readonly onProgress?: (p: SyncProgress) => void;
  /** Bounded wait for the destination-side applier lock and stale-holder takeover (applier-lock.ts). @default 120 s wait, 60 s stale */
  readonly lock?: ApplierLockOptions;
  /** Run inside every apply transaction before it commits (fencing, lambda/engine/sync/fence.ts). @default - none */
  readonly fence?: (c: Client) => Promise<void>;
  /** Test hooks. `afterApplyCommit` runs after a destination commit, before the slot is told. */
  readonly faults?: { readonly afterApplyCommit?: (lsn: string) => void | Promise<void> };
}

export interface SyncProgress {
  readonly appliedLsn: string;
  readonly sourceLsn: string;
  readonly lagBytes: number;
  readonly lagSeconds: number;
  readonly transactions: number;
  readonly changes: number;
}

export interface SyncRunResult {
  readonly slot: string;
  readonly direction: Direction;
  /** Source transactions applied by this run. */
  readonly transactions: number;
  /** Of them, received while still in progress (streamed, streamed.ts) and applied as they arrived. */
  readonly streamed: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  /** Changes of transactions at or below the stored position (applied by an earlier run): skipped. */
  readonly alreadyApplied: number;
  /** Changes written by the sync itself (the other direction): skipped, so nothing loops. */
  readonly loopSkipped: number;
  readonly conflicts: number;
  readonly appliedLsn: string;
  readonly sourceLsn: string;
  readonly lagBytes: number;
  /** now − commit time of the last applied transaction when behind; 0 when caught up. */
  readonly lagSeconds: number;
  readonly caughtUp: boolean;
  readonly loopGuard: LoopGuard;
  /** Destination transactions committed. */
  readonly batches: number;
}

function mapStreamError(e: unknown, slot: string): unknown {
  const code = (e as { code?: string }).code;
  const msg = describe(e);
  if (code === '42704')
    return new ReplicationSlotMissingError(
      `replication slot ${slot} does not exist (${msg}): drop the sync objects, re-run PrepareTarget and copy from scratch`,
      { cause: e },
    );
  if (code === '55000' && /invalidat|no longer|lost/i.test(msg)) {
    return new ReplicationSlotInvalidatedError(
      `replication slot ${slot} is invalidated (${msg}): re-run PrepareTarget and copy from scratch, or RestoreData`,
      { cause: e },
    );
  }
  return syncFailure(e, slot);
}

/** Everything a run needs before it streams: connections, checks, loop guard, tables, applier, positions. */
export interface RunSetup {
  readonly src: Client;
  readonly dst: Client;
  readonly applier: Applier;
  readonly dispatch: Dispatch;
  /** The streamed transactions' sessions, when the run asked for streaming (null: it did not). */
  readonly streamed: StreamedTransactions | null;
  readonly features: StreamFeatures;
  readonly loopGuard: LoopGuard;
  /** What the source and the destination can do (named errors for statements one cannot run). */
  readonly servers: readonly [ServerCapabilities, ServerCapabilities];
  /** The slot's confirmed_flush_lsn when the run started (where the walsender starts). */
  readonly slotConfirmed: bigint;
  readonly storedLsn: bigint;
  readonly walSenderTimeoutMs: number;
}

async function prepareRun(opts: SyncRunOptions, src: Client, dst: Client, conflicts: boolean): Promise<RunSetup> {
  const { slot, publication, origin } = syncNames(opts.migrationId, opts.direction);
  await ensureSyncBookkeeping(dst);
  if (conflicts) {
    const ts = await dst.query(`SELECT current_setting('track_commit_timestamp') AS v`);
    if (ts.rows[0].v !== 'on') {
      throw new CommitTimestampsOffError(
        `the ${opts.direction} sync resolves conflicts by commit time but track_commit_timestamp is off on the ` +
          `destination: set it on (RDS: DB parameter group, reboot), or run with conflicts off while only one side ` +
          `takes writes`,
      );
    }
  }
  const status = await slotStatusWith(src, slot);
  assertSlotUsable(status, opts.direction);
  // Later commit wins against local deletes too: the destination records them as tombstones (tombstones.ts).
  if (conflicts)
    await ensureTombstoneTriggers(dst, tombstoneTables(opts.spec, opts.direction), opts.migrationId, opts.direction);
  const [srcCaps, dstCaps] = [await capabilities(src), await capabilities(dst)];
  assertSupportedServer(srcCaps, `the ${opts.direction} sync's source`);
  assertSupportedServer(dstCaps, `the ${opts.direction} sync's destination`);
  // Loop guard: a replication origin when the login may use one, else a logical message per
  // transaction (pgoutput 14+), else a marker row the other direction's dispatch skips (loop-marker.ts).
  const loopGuard = loopGuardFor(dstCaps);
  if (loopGuard === 'origin') {
    await dst.query(`SELECT pg_replication_origin_create($1) WHERE pg_replication_origin_oid($1) IS NULL`, [origin]);
    await dst.query(`SELECT pg_replication_origin_session_setup($1)`, [origin]);
  }
  if (loopGuard === 'marker') await assertLoopMarksPublished(dst, dstCaps, opts.migrationId, opts.direction);
  const tables = await syncTables(opts.spec, opts.direction, src, dst);
  const features = streamFeatures(srcCaps, dstCaps, wantsStreaming(opts, conflicts, tables));
  const applierOpts: ApplierOptions = {
    direction: opts.direction,
    slot,
    conflicts,
    loopGuard,
    replicaRole: dstCaps.replicaRole,
    migrationId: opts.migrationId,
    lock: opts.lock,
    fence: opts.fence,
  };
  const applier = new Applier(dst, src, applierOpts);
  const stored = await readPosition(dst, slot);
  const storedLsn = stored ? parseLsn(stored.lsn) : 0n;
  const ctx: DispatchContext = {
    slot,
    publication,
    bySource: new Map<string, SyncTable>(tables.map((t) => [t.sourceTable, t])),
    storedLsn,
    flushRows: opts.flushRows ?? 20_000,
  };
  const dispatch = new Dispatch(applier, ctx);
  // A streamed transaction's session marks its writes with the message (the origin is this session's).
  const lane = async () => {
    const conn = await connect(opts.target, { applicationName: 'switchyard-sync-apply' });
    const laneApplier = new Applier(conn, src, { ...applierOpts, loopGuard: 'message', lockAtCommit: true });
    return { conn, applier: laneApplier, dispatch: new Dispatch(laneApplier, { ...ctx, storedLsn: 0n }) };
  };
  const streamed = features.streaming ? new StreamedTransactions({ open: lane }, storedLsn, slot) : null;
  dispatch.lastCommitMs = stored?.commitTime ? stored.commitTime.getTime() : null;
  const wst = await src.query(`SELECT setting::int AS ms FROM pg_settings WHERE name = 'wal_sender_timeout'`);
  return {
    src,
    dst,
    applier,
    dispatch,
    streamed,
    features,
    loopGuard,
    servers: [srcCaps, dstCaps],
    slotConfirmed: status.confirmedLsn ? parseLsn(status.confirmedLsn) : 0n,
    storedLsn,
    walSenderTimeoutMs: (wst.rows[0]?.ms as number | undefined) ?? 60_000,
  };
}

/** Streaming in-progress transactions: asked for, or by default where nothing bounds the run and nothing needs a commit time up front. */
function wantsStreaming(opts: SyncRunOptions, conflicts: boolean, tables: readonly SyncTable[]): boolean {
  // Conflicts compare commit times, known only at the commit; a keyless table's copy point needs the commit LSN.
  if (conflicts || tables.some((t) => t.spec.keyless)) return false;
  return opts.streaming ?? (opts.maxMs === undefined && opts.deadlineMs === undefined);
}

/**
 * Apply the changes of one direction, in commit order, exactly once, until a bound is
 * reached: `maxMs`, `untilLsn`, `untilLagBytes` or `signal` (whichever first); with none of
 * them, until the source position at the start of the run is applied. The changes come over
 * the streaming replication protocol (receive.ts → dispatch.ts → apply.ts; acknowledge.ts);
 * see docs/data-engine.md#sync.
 */
export async function runSync(opts: SyncRunOptions): Promise<SyncRunResult> {
  const { slot } = syncNames(opts.migrationId, opts.direction);
  const conflicts = opts.conflicts ?? opts.direction === 'reverse';
  const started = Date.now();
  const src = await connect(opts.source, { applicationName: 'switchyard-sync' });
  let dst: Client | undefined;
  try {
    dst = await connect(opts.target, { applicationName: 'switchyard-sync-apply' });
    const setup = await prepareRun(opts, src, dst, conflicts);
    const run = new StreamRun(opts, setup, slot, started);
    try {
      await run.stream();
    } catch (e) {
      await setup.applier.rollback(setup.dispatch.bound.values()).catch(() => undefined);
      // A statement one server cannot run (e.g. IS JSON before 16) is named before the generic mapping
      // (syncFailure would make it a SyncApplyError).
      throw mapStreamError(namedServerError(e, `the ${opts.direction} sync`, setup.servers), slot);
    }
    return await run.result();
  } finally {
    await src.end().catch(() => undefined);
    await dst?.end().catch(() => undefined);
  }
}
