import { Acknowledge, statusIntervalMs } from './acknowledge';
import type { ApplyCounts } from './apply';
import { StopAfterApplied } from './dispatch';
import { ReplicationSlotMissingError, TransactionTooLargeError } from './errors';
import { syncNames } from './names';
import { formatLsn, type PgOutputMessage, parseLsn, pgTimeToMs } from './pgoutput';
import { ReceiveStream } from './receive';
import { sqlState } from '../errors';
import { STREAMED_DECODING_WORK_MEM_KB, STREAMED_LOCK_TIMEOUT_MS, StreamingFallback } from './streamed';
import { startReplicationCommand } from './replication-protocol';
import type { RunSetup, SyncProgress, SyncRunOptions, SyncRunResult } from './run';

const max = (a: bigint, b: bigint) => (a > b ? a : b);
/** SQLSTATE of a lock wait past lock_timeout. */
const LOCK_NOT_AVAILABLE = '55P03';
/** Received messages waiting past this many: the run is in a backlog (throughput over latency). */
const BACKLOG_QUEUED = 1000;

/** One streaming run: receive → dispatch → commit (in batches) → acknowledge, until a bound. */
export class StreamRun {
  private position: bigint;
  private batches = 0;
  private caughtUp = false;
  private lastCommitAt = Date.now();
  private drainTo: bigint | null;
  /** A transaction committed at or after `drainTo` arrived: every one committed before it is applied. */
  private passedTarget = false;
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
  /** Streaming in-progress transactions (off for the rest of the run after a StreamingFallback). */
  private streaming: boolean;
  /** What the main session had applied at its last commit (`abandonBatch` goes back to it). */
  private committed: {
    counts: ApplyCounts;
    dispatch: { transactions: number; alreadyApplied: number; loopSkipped: number };
  };
  /** The main session's lock_timeout is set (a streamed transaction's session is open). */
  private lockWaitsBounded = false;

  constructor(
    private readonly opts: SyncRunOptions,
    private readonly s: RunSetup,
    private readonly slot: string,
    private readonly started: number,
  ) {
    this.position = s.storedLsn;
    this.streaming = s.features.streaming;
    this.committed = {
      counts: { ...s.applier.counts },
      dispatch: { transactions: 0, alreadyApplied: 0, loopSkipped: 0 },
    };
    this.drainTo = opts.untilLsn ? parseLsn(opts.untilLsn) : null;
    this.bounded =
      opts.maxMs !== undefined || opts.untilLsn !== undefined || opts.untilLagBytes !== undefined || !!opts.signal;
  }

  async stream(): Promise<void> {
    // Without a bound: everything the source had written when the run started. The insert
    // position: with asynchronous commit, a committed transaction may not be written yet.
    if (!this.bounded) this.drainTo = await this.insertLsn();
    this.flushMark = await this.flushLsn();
    let from = this.s.slotConfirmed;
    // A streamed transaction with too many subtransactions (streamed.ts): the stream starts again
    // where the destination is, without streaming, and receives that transaction whole at its commit.
    while (await this.streamFrom(from)) {
      this.streaming = false;
      await this.boundLockWaits(); // no lane is open any more: the main session waits as before
      from = max(this.position, this.ack?.confirmed ?? 0n);
    }
  }

  /** One START_REPLICATION from `from`, until a bound; true when it ended to start again without streaming. */
  private async streamFrom(from: bigint): Promise<boolean> {
    const { publication } = syncNames(this.opts.migrationId, this.opts.direction);
    const command = startReplicationCommand(this.slot, from, {
      protoVersion: this.streaming ? this.s.features.protoVersion : 1,
      publication,
      messages: this.s.features.messages,
      streaming: this.streaming,
    });
    const stream = await ReceiveStream.open(this.opts.source, command, {
      signal: this.opts.signal,
      slotWaitMs: this.opts.slotWaitMs,
      highWater: this.opts.receiveBuffer,
      decodingWorkMemKb: this.opts.decodingWorkMemKb ?? (this.streaming ? STREAMED_DECODING_WORK_MEM_KB : undefined),
    });
    if (!stream) return false; // aborted while another applier held the slot
    this.receiver = stream;
    const interval = statusIntervalMs(this.s.walSenderTimeoutMs);
    const ack = new Acknowledge((w, f) => stream.sendStatus(w, f), interval, max(this.s.storedLsn, from));
    this.ack = ack;
    // Also while an apply blocks the loop (a lock, a slow flush): the walsender must hear from us.
    const timer = setInterval(() => ack.tick(), Math.max(50, interval / 2));
    timer.unref?.();
    let ok = false;
    let again = false;
    try {
      ack.tick(true);
      try {
        await this.loop(stream, ack);
      } catch (e) {
        if (e instanceof StreamingFallback)
          await this.commit(ack); // the open batch holds whole transactions only
        else if (sqlState(e) === LOCK_NOT_AVAILABLE && this.s.streamed?.open) await this.abandonBatch();
        else throw e;
        again = true;
      }
      ok = true;
    } finally {
      clearInterval(timer);
      if (ok) ack.tick(true); // the final position, processed before the walsender ends the command
      await stream.stop();
      await this.s.streamed?.closeAll(); // not committed: received again (by the next run, or the next stream)
    }
    return again;
  }

  private async loop(stream: ReceiveStream, ack: Acknowledge): Promise<void> {
    const idleMs = this.opts.pollMs ?? 100;
    for (;;) {
      const ev = await stream.next(idleMs, this.opts.signal);
      if (this.s.dispatch.inTransaction && this.pastDeadline()) await this.abandonTransaction(ack);
      if (ev === null) {
        // Stopped (signal) between two reads of one source transaction: keep what is whole, end now.
        if (this.s.dispatch.inTransaction && this.opts.signal?.aborted) return this.leaveTransaction(ack);
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
      if (this.streaming && this.s.streamed?.owns(m)) {
        if (await this.onStreamed(m, ack)) return;
        continue;
      }
      if (m.tag === 'begin' && this.drainTo !== null && m.finalLsn >= this.drainTo) {
        // The drain's target is reached: this transaction committed after it (a later run applies it).
        await this.commit(ack);
        this.caughtUp = true;
        this.passedTarget = true;
        return;
      }
      if (!(await this.dispatch(m, ack))) continue;
      // A transaction ended: commit now when nothing else was received (latency), else keep
      // batching while more is queued (what arrives during this commit forms the next batch).
      if (this.s.applier.open && stream.queued > 0 && !this.batchDue()) continue;
      await this.commit(ack);
      if (await this.checkpoint()) return;
    }
  }

  /** Dispatch one message; a change that cannot be applied commits every transaction before it, then fails. */
  private dispatch(m: PgOutputMessage, ack: Acknowledge): Promise<boolean> {
    return this.guarded(() => this.s.dispatch.handle(m), ack);
  }

  /**
   * A streamed transaction's message (streamed.ts). Its Stream Commit commits the open batch first (every
   * transaction committed before it), then its own session. True when the run ends here (the drain's target).
   */
  private async onStreamed(m: PgOutputMessage, ack: Acknowledge): Promise<boolean> {
    const streamed = this.s.streamed!;
    // A block can be long: what the open batch holds is not kept waiting behind it.
    if (m.tag === 'stream_start' && this.s.applier.open) await this.commit(ack);
    if (m.tag !== 'stream_commit') {
      await this.guarded(() => streamed.handle(m), ack);
      if (m.tag === 'stream_start' || m.tag === 'stream_abort') await this.boundLockWaits();
      return false;
    }
    await this.commit(ack);
    if (this.drainTo !== null && m.commitLsn >= this.drainTo) {
      this.caughtUp = true;
      this.passedTarget = true;
      return true;
    }
    const { applied, relations } = await this.guarded(() => streamed.commit(m), ack);
    for (const rel of relations) await this.dispatch(rel, ack);
    if (applied) {
      this.position = max(this.position, m.endLsn);
      this.batches++;
      this.lastCommitAt = Date.now();
      this.s.dispatch.lastCommitMs = pgTimeToMs(m.commitTimeUs);
      if (this.opts.faults?.afterApplyCommit) await this.opts.faults.afterApplyCommit(formatLsn(m.endLsn));
    }
    const d = this.s.dispatch;
    if (m.endLsn > d.processedEnd) d.processedEnd = m.endLsn;
    ack.confirm(d.processedEnd);
    ack.tick();
    await this.boundLockWaits();
    return this.checkpoint();
  }

  /**
   * The main session waited past its lock_timeout while a streamed transaction's session was open:
   * that session holds what it waits for (a lock the source never had to take: a destination
   * trigger's row, a destination-only constraint), and commits only after the main session went on.
   * The open batch is rolled back (nothing of it confirmed): the run starts again without streaming.
   */
  private async abandonBatch(): Promise<void> {
    const d = this.s.dispatch;
    await this.s.applier.rollback(d.bound.values());
    await this.s.dst.query('ROLLBACK').catch(() => undefined); // also a transaction the failed COMMIT left aborted
    // The counts as of the last commit: the rolled-back transactions come again and are counted then.
    Object.assign(this.s.applier.counts, this.committed.counts);
    Object.assign(d, this.committed.dispatch);
    d.tx = null;
    d.pendingEnd = this.position;
    d.processedEnd = this.position;
  }

  /**
   * While a streamed transaction's session is open, the main session's lock waits are bounded
   * (`streamedLockTimeoutMs`): set when the first lane opens, reset when the last one ends, always
   * between the main session's transactions.
   */
  private async boundLockWaits(): Promise<void> {
    const want = (this.s.streamed?.open ?? 0) > 0;
    if (want === this.lockWaitsBounded || this.s.applier.open) return;
    const ms = Math.trunc(this.opts.streamedLockTimeoutMs ?? STREAMED_LOCK_TIMEOUT_MS);
    await this.s.dst.query(want ? `SET lock_timeout = ${ms}` : 'RESET lock_timeout');
    this.lockWaitsBounded = want;
  }

  /** Run one step; a change it cannot apply commits every whole transaction the open batch holds, then fails. */
  private async guarded<T>(step: () => Promise<T>, ack: Acknowledge): Promise<T> {
    try {
      return await step();
    } catch (e) {
      if (!(e instanceof StopAfterApplied)) throw e;
      // The current transaction was taken back: what the open destination transaction holds is whole.
      if (this.s.applier.open && this.s.dispatch.pendingEnd > this.position) await this.commit(ack);
      throw e.error;
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

  private pastDeadline(): boolean {
    return this.opts.deadlineMs !== undefined && Date.now() - this.started >= this.opts.deadlineMs;
  }

  /** Past the hard deadline inside a source transaction: commit what is whole before it, then fail by name. */
  private async abandonTransaction(ack: Acknowledge): Promise<never> {
    const changes = this.s.dispatch.changesInTransaction;
    await this.leaveTransaction(ack);
    throw new TransactionTooLargeError(
      `the ${this.opts.direction} run reached its deadline (${Math.round(this.opts.deadlineMs! / 1000)} s) inside ` +
        `one source transaction (${changes} change(s) received so far): every transaction before it is applied, none ` +
        'of it. A bounded run cannot pass it: run the sync as a long-running process (switchyard sync) until it ' +
        'has passed, or give the runs more time',
    );
  }

  /**
   * Give up the source transaction being received: every transaction before it is committed, none
   * of it (its changes are taken back; the slot is not confirmed past its start, so the next run
   * streams it again whole).
   */
  private async leaveTransaction(ack: Acknowledge): Promise<void> {
    const d = this.s.dispatch;
    const whole = this.s.applier.discardTransaction() && this.s.applier.open && d.pendingEnd > this.position;
    if (whole) await this.commit(ack);
    else if (this.s.applier.open) await this.s.applier.rollback(d.bound.values());
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
    this.committed = {
      counts: { ...c },
      dispatch: { transactions: d.transactions, alreadyApplied: d.alreadyApplied, loopSkipped: d.loopSkipped },
    };
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
    const c = this.counts();
    return {
      appliedLsn: formatLsn(applied),
      sourceLsn: formatLsn(this.sourceLsn),
      lagBytes: Number(this.sourceLsn > applied ? this.sourceLsn - applied : 0n),
      lagSeconds: this.caughtUp || d.lastCommitMs === null ? 0 : Math.max(0, (Date.now() - d.lastCommitMs) / 1000),
      transactions: c.transactions,
      changes: c.inserted + c.updated + c.deleted,
    };
  }

  /** What the main session and the streamed transactions' sessions applied. */
  private counts() {
    const a = this.s.applier.counts;
    const d = this.s.dispatch;
    const t = this.s.streamed?.totals;
    return {
      transactions: d.transactions + (t?.transactions ?? 0),
      inserted: a.inserted + (t?.inserted ?? 0),
      updated: a.updated + (t?.updated ?? 0),
      deleted: a.deleted + (t?.deleted ?? 0),
      alreadyApplied: d.alreadyApplied + (t?.alreadyApplied ?? 0),
      loopSkipped: d.loopSkipped + (t?.loopSkipped ?? 0),
      conflicts: a.conflicts,
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
    // Past the drain's target, everything committed before it is applied: the run reached it.
    const reached = this.passedTarget && this.drainTo !== null ? this.drainTo : 0n;
    const p = this.progress(max(max(this.position, confirmed), reached));
    const c = this.counts();
    return {
      slot: this.slot,
      direction: this.opts.direction,
      transactions: c.transactions,
      streamed: this.s.streamed?.totals.transactions ?? 0,
      inserted: c.inserted,
      updated: c.updated,
      deleted: c.deleted,
      alreadyApplied: c.alreadyApplied,
      loopSkipped: c.loopSkipped,
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
