import type { Client } from 'pg';
import { connect, type DbEndpoint } from '../db';
import { describe } from '../errors';
import type { MigrationSpec } from '../spec';
import { Acknowledge, statusIntervalMs } from './acknowledge';
import { Applier } from './apply';
import { ensureSyncBookkeeping, readPosition } from './bookkeeping';
import { Dispatch } from './dispatch';
import { CommitTimestampsOffError, ReplicationSlotInvalidatedError, ReplicationSlotMissingError } from './errors';
import { type Direction, syncNames } from './names';
import { formatLsn, parseLsn } from './pgoutput';
import { ReceiveStream } from './receive';
import { startReplicationCommand } from './replication-protocol';
import { assertSlotUsable, slotStatusWith } from './slot';
import { readStreamFeatures, type StreamFeatures } from './stream-features';
import { type SyncTable, syncTables } from './tables';
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
  /** Decoded messages buffered before the socket is paused. @default 20000 */
  readonly receiveBuffer?: number;
  readonly onProgress?: (p: SyncProgress) => void;
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
  readonly loopGuard: 'origin' | 'message';
  /** Destination transactions committed. */
  readonly batches: number;
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
/** Received messages waiting past this many: the run is in a backlog (throughput over latency). */
const BACKLOG_QUEUED = 1000;

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
  return e;
}

/** Everything a run needs before it streams: connections, checks, loop guard, tables, applier, positions. */
interface RunSetup {
  readonly src: Client;
  readonly dst: Client;
  readonly applier: Applier;
  readonly dispatch: Dispatch;
  readonly features: StreamFeatures;
  readonly loopGuard: 'origin' | 'message';
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
        `the ${opts.direction} sync resolves conflicts by commit time but track_commit_timestamp is off on the destination: set it on (RDS: DB parameter group, reboot), or run with conflicts off while only one side takes writes`,
      );
    }
  }
  const status = await slotStatusWith(src, slot);
  assertSlotUsable(status, opts.direction);
  // Later commit wins against local deletes too: the destination records them as tombstones (tombstones.ts).
  if (conflicts)
    await ensureTombstoneTriggers(dst, tombstoneTables(opts.spec, opts.direction), opts.migrationId, opts.direction);
  const features = await readStreamFeatures(src, dst);
  // Loop guard: a replication origin when the login may use one, else a logical message per transaction.
  if (features.origin) {
    await dst.query(`SELECT pg_replication_origin_create($1) WHERE pg_replication_origin_oid($1) IS NULL`, [origin]);
    await dst.query(`SELECT pg_replication_origin_session_setup($1)`, [origin]);
  }
  const loopGuard = features.origin ? 'origin' : 'message';
  const tables = await syncTables(opts.spec, opts.direction, src, dst);
  const applier = new Applier(dst, src, {
    direction: opts.direction,
    slot,
    conflicts,
    loopGuard,
    migrationId: opts.migrationId,
  });
  const stored = await readPosition(dst, slot);
  const storedLsn = stored ? parseLsn(stored.lsn) : 0n;
  const dispatch = new Dispatch(applier, {
    slot,
    publication,
    bySource: new Map<string, SyncTable>(tables.map((t) => [t.sourceTable, t])),
    storedLsn,
    flushRows: opts.flushRows ?? 20_000,
  });
  dispatch.lastCommitMs = stored?.commitTime ? stored.commitTime.getTime() : null;
  const wst = await src.query(`SELECT setting::int AS ms FROM pg_settings WHERE name = 'wal_sender_timeout'`);
  return {
    src,
    dst,
    applier,
    dispatch,
    features,
    loopGuard,
    slotConfirmed: status.confirmedLsn ? parseLsn(status.confirmedLsn) : 0n,
    storedLsn,
    walSenderTimeoutMs: (wst.rows[0]?.ms as number | undefined) ?? 60_000,
  };
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
      await setup.applier.rollback(setup.dispatch.bound.values());
      throw mapStreamError(e, slot);
    }
    return await run.result();
  } finally {
    await src.end().catch(() => undefined);
    await dst?.end().catch(() => undefined);
  }
}

/** One streaming run: receive → dispatch → commit (in batches) → acknowledge, until a bound. */
class StreamRun {
  private position: bigint;
  private batches = 0;
  private caughtUp = false;
  private lastCommitAt = Date.now();
  private drainTo: bigint | null;
  private fenceLsn: bigint | null = null;
  private sourceLsn = 0n;
  private lastProgressAt = 0;
  private ack: Acknowledge | null = null;
  private receiver: ReceiveStream | null = null;
  private changesAtCommit = 0;
  /** The source's flushed WAL position at the previous look: read past it, the walsender had caught up. */
  private flushMark = 0n;
  private flushMarkPending = false;
  private readonly bounded: boolean;

  constructor(
    private readonly opts: SyncRunOptions,
    private readonly s: RunSetup,
    private readonly slot: string,
    private readonly started: number,
  ) {
    this.position = s.storedLsn;
    this.drainTo = opts.untilLsn ? parseLsn(opts.untilLsn) : null;
    this.bounded =
      opts.maxMs !== undefined || opts.untilLsn !== undefined || opts.untilLagBytes !== undefined || !!opts.signal;
  }

  async stream(): Promise<void> {
    // Without a bound: everything the source had written when the run started. The insert
    // position: with asynchronous commit, a committed transaction may not be written yet.
    if (!this.bounded) this.drainTo = await this.insertLsn();
    this.flushMark = await this.flushLsn();
    const { publication } = syncNames(this.opts.migrationId, this.opts.direction);
    const command = startReplicationCommand(this.slot, this.s.slotConfirmed, {
      protoVersion: this.s.features.protoVersion,
      publication,
      messages: this.s.features.messages,
    });
    const stream = await ReceiveStream.open(this.opts.source, command, {
      signal: this.opts.signal,
      slotWaitMs: this.opts.slotWaitMs,
      highWater: this.opts.receiveBuffer,
    });
    if (!stream) return; // aborted while another applier held the slot
    this.receiver = stream;
    const interval = statusIntervalMs(this.s.walSenderTimeoutMs);
    const ack = new Acknowledge(
      (w, f) => stream.sendStatus(w, f),
      interval,
      max(this.s.storedLsn, this.s.slotConfirmed),
    );
    this.ack = ack;
    // Also while an apply blocks the loop (a lock, a slow flush): the walsender must hear from us.
    const timer = setInterval(() => ack.tick(), Math.max(50, interval / 2));
    timer.unref?.();
    let ok = false;
    try {
      ack.tick(true);
      await this.loop(stream, ack);
      ok = true;
    } finally {
      clearInterval(timer);
      if (ok) ack.tick(true); // the final position, processed before the walsender ends the command
      await stream.stop();
    }
  }

  private async loop(stream: ReceiveStream, ack: Acknowledge): Promise<void> {
    const idleMs = this.opts.pollMs ?? 100;
    for (;;) {
      const ev = await stream.next(idleMs, this.opts.signal);
      if (ev === null) {
        // Nothing arrived for a while: commit what is open.
        if (!this.s.dispatch.inTransaction && (await this.onQuiet(ack, null))) return;
        continue;
      }
      if (ev.kind === 'keepalive') {
        if (ev.replyRequested) ack.tick(true);
        if (!this.s.dispatch.inTransaction && (await this.onQuiet(ack, ev.walEnd, stream.queued === 0))) return;
        continue;
      }
      this.caughtUp = false;
      const m = ev.msg;
      if (m.tag === 'begin' && this.drainTo !== null && m.finalLsn >= this.drainTo) {
        // The drain's target is reached: this transaction committed after it (a later run applies it).
        await this.commit(ack);
        this.caughtUp = true;
        return;
      }
      if (!(await this.s.dispatch.handle(m))) continue;
      if (this.s.applier.open && !this.batchDue()) continue;
      await this.commit(ack);
      if (await this.checkpoint()) return;
    }
  }

  /**
   * Between transactions, nothing received for a while (`walEnd` null) or a keepalive: the open
   * batch commits and everything up to `walEnd` is confirmed (all transactions committed before it
   * were sent before it). A keepalive also comes while the walsender reads a backlog: it caught up
   * only when it has read all WAL that was flushed at the previous look (`flushMark`).
   */
  private async onQuiet(ack: Acknowledge, walEnd: bigint | null, drained = true): Promise<boolean> {
    if (walEnd !== null) {
      const idle = drained && walEnd >= this.flushMark;
      // Nothing queued behind the keepalive: the walsender is waiting for WAL (or re-reading the
      // flush position) right now, so this batch is all there is: commit it.
      if (!drained && this.s.applier.open && !this.batchDue()) return false;
      await this.commit(ack);
      ack.confirm(walEnd);
      if (idle) {
        this.caughtUp = this.drainTo === null;
        this.refreshFlushMark();
      }
    } else await this.commit(ack);
    ack.tick();
    return this.checkpoint(true);
  }

  /** A destination transaction holding source transactions commits early when it is big, old, or the run must stop. */
  private batchDue(): boolean {
    const c = this.s.applier.counts;
    const age = Date.now() - this.lastCommitAt;
    const batchMs = this.opts.batchMs ?? 200;
    return (
      this.s.applier.pending >= (this.opts.flushRows ?? 20_000) ||
      c.inserted + c.updated + c.deleted - this.changesAtCommit >= (this.opts.batchChanges ?? 20_000) ||
      (age >= batchMs && (this.receiver?.queued ?? 0) < BACKLOG_QUEUED) ||
      age >= 5 * batchMs ||
      this.stopDue()
    );
  }

  private stopDue(): boolean {
    return (
      !!this.opts.signal?.aborted || (this.opts.maxMs !== undefined && Date.now() - this.started >= this.opts.maxMs)
    );
  }

  /** Commit the open destination transaction with its position, then tell the walsender. */
  private async commit(ack: Acknowledge): Promise<void> {
    const d = this.s.dispatch;
    if (!this.s.applier.open) {
      ack.confirm(d.processedEnd);
      return;
    }
    await this.s.applier.commit(d.bound.values(), formatLsn(d.pendingEnd), d.pendingTs);
    this.position = max(this.position, d.pendingEnd);
    this.batches++;
    this.lastCommitAt = Date.now();
    const c = this.s.applier.counts;
    this.changesAtCommit = c.inserted + c.updated + c.deleted;
    if (this.opts.faults?.afterApplyCommit) await this.opts.faults.afterApplyCommit(formatLsn(d.pendingEnd));
    ack.confirm(d.processedEnd);
    ack.tick();
  }

  /** Nothing uncommitted is open here: check the bounds. `quiet`: between transactions with nothing queued or sent. */
  private async checkpoint(quiet = false): Promise<boolean> {
    const reached = max(this.position, this.ack?.confirmed ?? 0n);
    if (this.drainTo !== null && reached >= this.drainTo) {
      this.caughtUp = true;
      return true;
    }
    if (this.stopDue()) return true;
    if (this.opts.untilLagBytes !== undefined && quiet) {
      this.sourceLsn = await this.insertLsn();
      if (this.sourceLsn - reached < BigInt(this.opts.untilLagBytes)) return true;
    }
    if (this.opts.onProgress && Date.now() - this.lastProgressAt >= 250) {
      this.lastProgressAt = Date.now();
      this.sourceLsn = await this.insertLsn();
      this.opts.onProgress(this.progress(reached));
    }
    if (quiet && this.drainTo !== null) await this.fence(reached);
    return false;
  }

  /**
   * The drain's target lies past everything the walsender sent (WAL not flushed yet with
   * asynchronous commit, or a page header): write a tiny non-transactional message after it, so the
   * stream reaches the target (flushed at once on 17+, else by the WAL writer).
   */
  private async fence(reached: bigint): Promise<void> {
    if (this.fenceLsn !== null && reached < this.fenceLsn) return;
    const flush = this.s.features.flushMessage ? ', true' : '';
    const r = await this.s.src
      .query(`SELECT pg_logical_emit_message(false, 'switchyard-fence', ''${flush})::text AS l`)
      .catch(() => null);
    this.fenceLsn = r ? parseLsn(r.rows[0].l) : (this.drainTo ?? 0n);
  }

  /** Off the commit path: the next keepalive compares with whatever arrived by then. */
  private refreshFlushMark(): void {
    if (this.flushMarkPending) return;
    this.flushMarkPending = true;
    this.flushLsn()
      .then((l) => {
        if (l > this.flushMark) this.flushMark = l;
      })
      .catch(() => undefined) // the next query on the connection reports a broken one
      .finally(() => {
        this.flushMarkPending = false;
      });
  }

  private async flushLsn(): Promise<bigint> {
    return parseLsn((await this.s.src.query(`SELECT pg_current_wal_flush_lsn()::text AS l`)).rows[0].l);
  }

  private async insertLsn(): Promise<bigint> {
    return parseLsn((await this.s.src.query(`SELECT pg_current_wal_insert_lsn()::text AS l`)).rows[0].l);
  }

  private progress(applied: bigint): SyncProgress {
    const d = this.s.dispatch;
    const c = this.s.applier.counts;
    return {
      appliedLsn: formatLsn(applied),
      sourceLsn: formatLsn(this.sourceLsn),
      lagBytes: Number(this.sourceLsn > applied ? this.sourceLsn - applied : 0n),
      lagSeconds: this.caughtUp || d.lastCommitMs === null ? 0 : Math.max(0, (Date.now() - d.lastCommitMs) / 1000),
      transactions: d.transactions,
      changes: c.inserted + c.updated + c.deleted,
    };
  }

  /** After the stream ended: the slot's position as the server holds it, the source position, the counts. */
  async result(): Promise<SyncRunResult> {
    const src = this.s.src;
    const s = await src.query(`SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots WHERE slot_name = $1`, [
      this.slot,
    ]);
    if (!s.rowCount)
      throw new ReplicationSlotMissingError(
        `replication slot ${this.slot} disappeared during the run: drop the sync objects, re-run PrepareTarget and copy from scratch`,
      );
    let confirmed = parseLsn(s.rows[0].c);
    if (confirmed < this.position) {
      // The walsender ended before it read the last status update: move the slot to what the destination stores.
      const moved = await src
        .query(`SELECT end_lsn::text AS l FROM pg_replication_slot_advance($1, $2::pg_lsn)`, [
          this.slot,
          formatLsn(this.position),
        ])
        .catch(() => null); // another applier holds it now: it confirms for itself
      if (moved) confirmed = parseLsn(moved.rows[0].l);
    }
    this.sourceLsn = await this.insertLsn();
    const p = this.progress(max(this.position, confirmed));
    const d = this.s.dispatch;
    const c = this.s.applier.counts;
    return {
      slot: this.slot,
      direction: this.opts.direction,
      transactions: d.transactions,
      inserted: c.inserted,
      updated: c.updated,
      deleted: c.deleted,
      alreadyApplied: d.alreadyApplied,
      loopSkipped: d.loopSkipped,
      conflicts: c.conflicts,
      appliedLsn: p.appliedLsn,
      sourceLsn: p.sourceLsn,
      lagBytes: p.lagBytes,
      lagSeconds: p.lagSeconds,
      caughtUp: this.caughtUp,
      loopGuard: this.s.loopGuard,
      batches: this.batches,
    };
  }
}
