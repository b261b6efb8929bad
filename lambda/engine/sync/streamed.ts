import type { Client } from 'pg';
import type { ApplyCounts, Applier } from './apply';
import type { Dispatch } from './dispatch';
import { UnsupportedChangeError } from './errors';
import { formatLsn, msToPgTime, type PgOutputMessage, pgTimeToIso } from './pgoutput';

/*
 * Streamed (in-progress) transactions, pgoutput protocol 2 (PostgreSQL 14+). Past
 * logical_decoding_work_mem the walsender sends a transaction in Stream Start … Stream Stop blocks
 * while it still decodes it, between other transactions, then Stream Commit or Stream Abort. Each
 * such transaction is applied by its own destination session (a lane): its changes are written into
 * one open destination transaction as they arrive (flushes of `flushRows`, in the background, direct
 * where direct.ts allows it), and that transaction commits, with the position, only at the Stream
 * Commit, after every transaction committed before it (the main session commits first: the run
 * does it). Nothing is visible on the destination before the source committed; a Stream Abort rolls
 * the lane back.
 *
 * Subtransactions: a change carries the xid of its subtransaction. At a subtransaction's first
 * change everything before it is written and a savepoint set; its abort rolls back to it (and with
 * it every later subtransaction, as PostgreSQL's own apply truncates its spool file). A staging
 * table created after that savepoint is gone with it: its relation is bound again.
 *
 * A lane is never committed when its commit LSN is at or below the position the destination stored
 * when the run started (applied by an earlier run); it is rolled back when the run ends first (the
 * slot is never confirmed past the transaction's start, so the next run receives it whole again).
 * Lanes mark their writes with the logical message (the main session may hold the replication
 * origin) and take the applier lock just before COMMIT, when the main session holds none. A lane
 * with too many subtransactions, or a main-session lock wait on a lane (STREAMED_LOCK_TIMEOUT_MS),
 * makes the run start the stream again without streaming (stream-run.ts).
 */

/**
 * The walsender's logical_decoding_work_mem when streaming (kB): a transaction past 8 MB of decoded
 * changes is sent in blocks of about that size, so the first block comes after ~40,000 rows instead of
 * the server default's 64 MB (bench:sync, docs/data-engine.md).
 */
export const STREAMED_DECODING_WORK_MEM_KB = 8192;

/**
 * Subtransactions one streamed transaction may bring before the run stops streaming. Each costs its
 * lane a flush and a savepoint (about 5 ms), and a destination transaction with many thousands of
 * them slows down further: a PL/pgSQL loop with an EXCEPTION block per row, 100,000 rows, took over
 * 15 minutes streamed and under 1.2 s whole. Past this many the run ends the stream, rolls the lanes
 * back and starts it again without streaming, from the destination's position
 * (`StreamingFallback`): the same loop then takes 0.95–1.46 s (1,000 here: 6.5 s; npm run bench:subtransactions).
 */
export const MAX_STREAMED_SUBTRANSACTIONS = 100;

/**
 * The main session's lock_timeout while a lane is open (stream-run.ts): only the sync writes the
 * destination then, so a wait this long means a lane holds the lock, and the run starts again
 * without streaming instead of waiting for a commit that comes only after it.
 */
export const STREAMED_LOCK_TIMEOUT_MS = 30_000;

/** Thrown by a lane past MAX_STREAMED_SUBTRANSACTIONS: the run streams again without streaming (stream-run.ts). */
export class StreamingFallback extends Error {
  constructor(xid: number) {
    super(`streamed transaction ${xid} has more than ${MAX_STREAMED_SUBTRANSACTIONS} subtransactions`);
    this.name = 'StreamingFallback';
  }
}

export interface LaneFactory {
  /** A destination session, an applier on it (message loop guard, lock at commit) and its dispatch. */
  open(): Promise<{ readonly conn: Client; readonly applier: Applier; readonly dispatch: Dispatch }>;
}

type Msg<T extends PgOutputMessage['tag']> = Extract<PgOutputMessage, { tag: T }>;

const STREAM_TAGS = new Set<string>(['stream_start', 'stream_stop', 'stream_commit', 'stream_abort']);

/** One streamed source transaction and the destination session applying it. */
class Lane {
  /** Open savepoints, oldest first: a subtransaction's xid and the counts before it. */
  private readonly savepoints: { readonly xid: number; readonly counts: ApplyCounts }[] = [];
  /** Relation id → how many savepoints were open when it was (last) bound. */
  private readonly boundAt = new Map<number, number>();
  private subtransactions = 0;
  /** The Relation messages this transaction brought, latest per relation (`StreamedTransactions.commit`). */
  readonly relations = new Map<number, Msg<'relation'>>();
  /** The xids of `savepoints`. */
  private readonly openSubs = new Set<number>();

  constructor(
    readonly xid: number,
    readonly conn: Client,
    readonly applier: Applier,
    readonly dispatch: Dispatch,
  ) {}

  async handle(m: PgOutputMessage): Promise<void> {
    const sub = 'xid' in m ? m.xid : undefined;
    if (sub !== undefined && sub !== this.xid && !this.openSubs.has(sub)) {
      if (++this.subtransactions > MAX_STREAMED_SUBTRANSACTIONS) throw new StreamingFallback(this.xid);
      const counts = await this.applier.subtransaction(this.dispatch.bound.values(), savepointName(sub));
      this.savepoints.push({ xid: sub, counts });
      this.openSubs.add(sub);
    }
    if (m.tag === 'relation') {
      this.boundAt.set(m.relid, this.savepoints.length);
      this.relations.set(m.relid, m);
    }
    await this.dispatch.handle(m);
  }

  /** A subtransaction aborted: back to its savepoint (none when it changed nothing here). */
  async abortSubtransaction(subxid: number): Promise<void> {
    const i = this.savepoints.findIndex((s) => s.xid === subxid);
    if (i < 0) return;
    await this.applier.rollbackTo(savepointName(subxid), this.savepoints[i].counts);
    for (const gone of this.savepoints.splice(i)) this.openSubs.delete(gone.xid);
    for (const [relid, depth] of this.boundAt) {
      if (depth <= i) continue;
      await this.dispatch.rebind(relid);
      this.boundAt.set(relid, i);
    }
  }

  /** Commit with the transaction's position; false when nothing of it is to be applied (own or empty). */
  async commit(m: Msg<'stream_commit'>): Promise<boolean> {
    const tx = this.dispatch.tx;
    await this.dispatch.handle({
      tag: 'commit',
      commitLsn: m.commitLsn,
      endLsn: m.endLsn,
      commitTimeUs: m.commitTimeUs,
    });
    if (!tx || tx.skip || tx.changes === 0 || !this.applier.open) return false;
    const iso = pgTimeToIso(m.commitTimeUs);
    await this.applier.commit(this.dispatch.bound.values(), formatLsn(m.endLsn), iso);
    return true;
  }

  async close(): Promise<void> {
    await this.applier.rollback(this.dispatch.bound.values()).catch(() => undefined);
    await this.conn.end().catch(() => undefined);
  }
}

function savepointName(subxid: number): string {
  return `sy_sub_${subxid}`;
}

/** What the streamed transactions committed by this run add to the run's result. */
export interface StreamedTotals {
  transactions: number;
  inserted: number;
  updated: number;
  deleted: number;
  alreadyApplied: number;
  loopSkipped: number;
}

/** The run's streamed transactions: one lane each, by top-level xid. */
export class StreamedTransactions {
  private readonly lanes = new Map<number, Lane>();
  /** The lane of the open Stream Start … Stream Stop block. */
  private current: Lane | null = null;
  readonly totals: StreamedTotals = {
    transactions: 0,
    inserted: 0,
    updated: 0,
    deleted: 0,
    alreadyApplied: 0,
    loopSkipped: 0,
  };

  constructor(
    private readonly factory: LaneFactory,
    /** Transactions that committed before this LSN are already in the destination. */
    private readonly storedLsn: bigint,
    private readonly slot: string,
  ) {}

  /** The message belongs to a streamed transaction: a block's, or its commit or abort. */
  owns(m: PgOutputMessage): boolean {
    return this.current !== null || STREAM_TAGS.has(m.tag);
  }

  get open(): number {
    return this.lanes.size;
  }

  /** Every message of a streamed transaction but its Stream Commit (the run orders that one: `commit`). */
  async handle(m: PgOutputMessage): Promise<void> {
    switch (m.tag) {
      case 'stream_start':
        this.current = await this.laneFor(m.xid, m.first);
        return;
      case 'stream_stop':
        this.current = null;
        return;
      case 'stream_abort':
        return this.abort(m.xid, m.subxid);
      case 'stream_commit':
        throw new Error('a Stream Commit is committed by the run (StreamedTransactions.commit)');
      default:
        if (!this.current)
          throw new UnsupportedChangeError(`a streamed change outside a stream block at slot ${this.slot}`);
        return this.current.handle(m);
    }
  }

  private async laneFor(xid: number, first: boolean): Promise<Lane> {
    const known = this.lanes.get(xid);
    if (known) return known;
    if (!first)
      throw new UnsupportedChangeError(
        `streamed transaction ${xid} continued at slot ${this.slot} without its first block: nothing of it was applied, run the sync again`,
      );
    const { conn, applier, dispatch } = await this.factory.open();
    const lane = new Lane(xid, conn, applier, dispatch);
    this.lanes.set(xid, lane);
    // Its commit LSN and time come with the Stream Commit; the stored position is checked then.
    const now = msToPgTime(Date.now());
    await dispatch.handle({ tag: 'begin', xid, finalLsn: 0xffff_ffff_ffff_ffffn, commitTimeUs: now });
    return lane;
  }

  private async abort(xid: number, subxid: number): Promise<void> {
    const lane = this.lanes.get(xid);
    if (!lane) return;
    if (subxid !== xid) return lane.abortSubtransaction(subxid);
    this.drop(lane);
    await lane.close();
  }

  /**
   * The streamed transaction committed on the source: commit its lane (every transaction committed
   * before it must already be committed). `applied`: by this commit. `relations`: the Relation
   * messages it brought, which the main session must bind now: pgoutput counts a relation described
   * in a committed streamed transaction as described for the whole session, and sends the next
   * transaction's changes of it without describing it again.
   */
  async commit(m: Msg<'stream_commit'>): Promise<{ applied: boolean; relations: Msg<'relation'>[] }> {
    const lane = this.lanes.get(m.xid);
    if (!lane) return { applied: false, relations: [] };
    const relations = [...lane.relations.values()];
    return { applied: await this.commitLane(lane, m), relations };
  }

  private async commitLane(lane: Lane, m: Msg<'stream_commit'>): Promise<boolean> {
    this.drop(lane);
    try {
      const c = lane.applier.counts;
      if (m.commitLsn < this.storedLsn) {
        this.totals.alreadyApplied += c.inserted + c.updated + c.deleted;
        return false;
      }
      this.totals.loopSkipped += lane.dispatch.loopSkipped;
      if (!(await lane.commit(m))) return false;
      this.totals.transactions++;
      this.totals.inserted += c.inserted;
      this.totals.updated += c.updated;
      this.totals.deleted += c.deleted;
      return true;
    } finally {
      await lane.close();
    }
  }

  private drop(lane: Lane): void {
    this.lanes.delete(lane.xid);
    if (this.current === lane) this.current = null;
  }

  /** The run ends: every streamed transaction not committed yet is rolled back (the next run receives it again). */
  async closeAll(): Promise<void> {
    const lanes = [...this.lanes.values()];
    this.lanes.clear();
    this.current = null;
    await Promise.all(lanes.map((l) => l.close()));
  }
}
