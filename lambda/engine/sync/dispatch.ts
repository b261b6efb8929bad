import { type Applier, assertColumnsPresent, type BoundRelation } from './apply';
import { UnsupportedChangeError } from './errors';
import { isLoopMarkRelation } from './loop-marker';
import { MESSAGE_PREFIX, OBJECT_PREFIX } from './names';
import { type PgOutputMessage, pgTimeToIso, pgTimeToMs } from './pgoutput';
import type { SyncTable } from './tables';

type Msg<T extends PgOutputMessage['tag']> = Extract<PgOutputMessage, { tag: T }>;

/** The source transaction being dispatched. */
interface Tx {
  /** Committed at or below the position stored in the destination: applied by an earlier run. */
  readonly already: boolean;
  /** Written by the sync itself (its origin or its mark): the other direction's change, not applied back. */
  skip: boolean;
  readonly ts: string;
  readonly ms: number;
  changes: number;
}

export interface DispatchContext {
  readonly slot: string;
  readonly publication: string;
  /** Source tables by `schema.table`. */
  readonly bySource: ReadonlyMap<string, SyncTable>;
  /** Transactions that committed before this LSN are already in the destination. */
  readonly storedLsn: bigint;
  /** Coalesced rows held before they are written into the open destination transaction. */
  readonly flushRows: number;
}

/**
 * A change that cannot be applied: every transaction before the current one is to be committed
 * (the run does it, dispatch never commits), then `error` thrown. The current transaction's
 * pending changes were already taken back (Applier.discardTransaction).
 */
export class StopAfterApplied {
  constructor(readonly error: Error) {}
}

/**
 * Decode dispatch: one small handler per pgoutput message, feeding the applier. It never commits
 * the destination itself; it records what the open destination transaction holds (`pendingEnd`)
 * and what the stream has been fully processed up to (`processedEnd`), for the run to commit and
 * acknowledge. A change reaches the applier as it arrives (flushed into the open destination
 * transaction every `flushRows` rows), so a huge transaction never waits in memory.
 */
export class Dispatch {
  tx: Tx | null = null;
  readonly bound = new Map<number, BoundRelation & { sig: string }>();
  transactions = 0;
  alreadyApplied = 0;
  loopSkipped = 0;
  /** Commit end LSN and time of the last source transaction applied into the open destination transaction. */
  pendingEnd = 0n;
  pendingTs = '';
  lastCommitMs: number | null = null;
  /** Everything before this LSN was dispatched (applied, skipped, or not ours). */
  processedEnd = 0n;
  /** Source relids of switchyard.loop_marks: the other direction's mark (loop guard 'marker', loop-marker.ts). */
  private readonly markRelids = new Set<number>();

  constructor(
    private readonly applier: Applier,
    private readonly ctx: DispatchContext,
  ) {}

  /** Dispatch one message; true at a transaction boundary (a commit, or a message outside any transaction). */
  async handle(m: PgOutputMessage): Promise<boolean> {
    switch (m.tag) {
      case 'begin':
        return this.onBegin(m);
      case 'origin':
        return this.onOrigin(m);
      case 'message':
        return this.onMessage(m);
      case 'relation':
        return this.onRelation(m);
      case 'type':
        return false;
      case 'insert':
      case 'update':
      case 'delete':
        return this.onChange(m);
      case 'truncate':
        return this.onTruncate(m);
      case 'commit':
        return this.onCommit(m);
      case 'stream_start':
      case 'stream_stop':
      case 'stream_commit':
      case 'stream_abort':
        // Routed to the streamed transaction's own session (streamed.ts) before they reach a dispatch.
        throw new UnsupportedChangeError(
          `a streamed transaction's ${m.tag} arrived at slot ${this.ctx.slot}, which did not ask for streaming: nothing after it was applied`,
        );
      case 'unsupported':
        throw new UnsupportedChangeError(
          `pgoutput message ${m.code} (a two-phase transaction, or a newer protocol) at slot ` +
            `${this.ctx.slot} cannot be applied: nothing after it was applied`,
        );
    }
  }

  get inTransaction(): boolean {
    return this.tx !== null;
  }

  /** Changes of the open source transaction received so far (0 between transactions). */
  get changesInTransaction(): number {
    return this.tx?.changes ?? 0;
  }

  private onBegin(m: Msg<'begin'>): boolean {
    this.applier.startTransaction({ xid: m.xid, finalLsn: m.finalLsn });
    this.tx = {
      already: m.finalLsn < this.ctx.storedLsn,
      skip: false,
      ts: pgTimeToIso(m.commitTimeUs),
      ms: pgTimeToMs(m.commitTimeUs),
      changes: 0,
    };
    return false;
  }

  private onOrigin(m: Msg<'origin'>): boolean {
    if (this.tx && m.name.startsWith(OBJECT_PREFIX)) this.tx.skip = true;
    return false;
  }

  private onMessage(m: Msg<'message'>): boolean {
    if (!this.tx) {
      // Non-transactional (a drain's fence, or anyone's): every transaction committed before it was sent before it.
      if (!m.transactional && m.lsn > this.processedEnd) this.processedEnd = m.lsn;
      return !m.transactional;
    }
    if (m.transactional && m.prefix === MESSAGE_PREFIX) this.markSkip(this.tx);
    return false;
  }

  /** The sync's own mark (a logical message, or the marker row): skip the transaction; refuse one with changes before it. */
  private markSkip(tx: Tx): void {
    if (tx.changes > 0 && !tx.already && !tx.skip)
      throw new UnsupportedChangeError(
        `a transaction marked as written by the sync carried changes before its mark (slot ${this.ctx.slot}): refusing to apply it partly`,
      );
    tx.skip = true;
  }

  private async onRelation(m: Msg<'relation'>): Promise<boolean> {
    if (isLoopMarkRelation(m.schema, m.table)) this.markRelids.add(m.relid);
    const table = this.ctx.bySource.get(`${m.schema}.${m.table}`);
    if (!table) return false;
    const sig = JSON.stringify([m.columns, m.replicaIdentity]);
    const prev = this.bound.get(m.relid);
    if (prev?.sig === sig) return false;
    // Refused before anything of the current transaction is written (it can still be taken back).
    try {
      assertColumnsPresent(table, m.columns);
    } catch (e) {
      this.stopAfterApplied(e as Error);
    }
    if (prev?.pending.size) await this.applier.flush(this.bound.values());
    const rel = await this.applier
      .bind(table, m.columns, m.replicaIdentity)
      .catch((e: Error) => this.stopAfterApplied(e));
    this.bound.set(m.relid, Object.assign(rel, { sig }));
    return false;
  }

  /** Bind a relation again, as its Relation message described it (its staging table was rolled back: streamed.ts). */
  async rebind(relid: number): Promise<void> {
    const prev = this.bound.get(relid);
    if (!prev) return;
    const [, replicaIdentity] = JSON.parse(prev.sig) as [unknown, string];
    const rel = await this.applier.bind(prev.table, prev.columns, replicaIdentity);
    this.bound.set(relid, Object.assign(rel, { sig: prev.sig }));
  }

  /** Take the current transaction back and have the run commit everything before it, then fail with `err`. */
  private stopAfterApplied(err: Error): never {
    if (this.tx && this.tx.changes > 0 && !this.applier.discardTransaction()) throw err;
    throw new StopAfterApplied(err);
  }

  private async onChange(m: Msg<'insert'> | Msg<'update'> | Msg<'delete'>): Promise<boolean> {
    const tx = this.tx;
    if (!tx) throw new UnsupportedChangeError(`a change outside a transaction at slot ${this.ctx.slot}`);
    // The marker row the other direction's applier writes first: skip its transaction.
    if (this.markRelids.has(m.relid)) {
      this.markSkip(tx);
      return false;
    }
    if (tx.already) {
      this.alreadyApplied++;
      return false;
    }
    if (tx.skip) {
      this.loopSkipped++;
      return false;
    }
    const rel = this.bound.get(m.relid);
    if (!rel)
      throw new UnsupportedChangeError(
        `a change for relation ${m.relid}, which is not a spec table, arrived at slot ${this.ctx.slot}: check the publication ${this.ctx.publication}`,
      );
    tx.changes++;
    if (m.tag === 'insert') await this.applier.insert(rel, m.row, tx.ts);
    else if (m.tag === 'update') await this.applier.update(rel, m.old, m.row, tx.ts);
    else await this.applier.delete(rel, m.old, tx.ts);
    if (this.applier.pending >= this.ctx.flushRows)
      await this.applier.flushAhead(this.bound.values(), this.ctx.flushRows);
    return false;
  }

  /** A replicated TRUNCATE: replayed in commit order when every table maps one-to-one (truncate.ts), else refused. */
  private async onTruncate(m: Msg<'truncate'>): Promise<boolean> {
    const tx = this.tx;
    if (!tx || tx.already || tx.skip) return false;
    const rels = m.relids.map((id) => this.bound.get(id));
    const refused = this.applier.truncateRefusal(rels);
    if (refused) this.stopAfterApplied(refused);
    tx.changes++;
    await this.applier.truncate(rels as BoundRelation[], tx.ts);
    return false;
  }

  private onCommit(m: Msg<'commit'>): boolean {
    const tx = this.tx;
    this.applier.endTransaction();
    if (tx && !tx.already && !tx.skip && tx.changes > 0) {
      this.transactions++;
      this.pendingEnd = m.endLsn;
      this.pendingTs = tx.ts;
      this.lastCommitMs = tx.ms;
    }
    if (m.endLsn > this.processedEnd) this.processedEnd = m.endLsn;
    this.tx = null;
    return true;
  }
}
