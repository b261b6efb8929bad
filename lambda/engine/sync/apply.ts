import type { Client, QueryResult } from 'pg';
import { targetKey, targetRelation } from '../spec';
import { qi, ql, targetSideExprs } from '../sql';
import { pruneBookkeeping } from './bookkeeping';
import { conflictCheckSql, conflictLockSql, detectConflicts, recordUnrebuiltRows } from './conflicts';
import { beginSql, deleteSql, keyMatchSql, positionSql, upsertSql } from './apply-sql';
import { acquireApplierLock, type ApplierLockOptions } from './applier-lock';
import { type Direction, slotLockName } from './names';
import { type Cell, type RelationColumn, UNCHANGED } from './pgoutput';
import { SchemaMismatchError } from '../errors';
import { columnsRead, readsAny, type SyncTable } from './tables';
import { SyncApplyError, UnsupportedChangeError } from './errors';
import type { LoopGuard } from '../capabilities';
import { writeLoopMark } from './loop-marker';
import { truncateRefusal, truncateTables } from './truncate';
import { DIRECT_MIN_ROWS, directEligible, writeDirect } from './direct';
import { emptyStagingSql, type StagedTable, stageAll } from './staging';
import { type CopyPoint, keylessDeleteSql, keylessInsertSql, loadCopyPoint, seenByCopy } from './keyless';

/** The final state of one key within a flush: changes to the same key are coalesced in commit order. */
export interface Entry {
  /** D delete; I insert (the row may be new); U update of a row that should exist; P update missing unchanged TOAST values. */
  op: 'D' | 'I' | 'U' | 'P';
  cells: Cell[];
  /** Commit time (ISO, µs) of the last change to this key. */
  ts: string;
  /** Keyless tables (keyless.ts): net rows of this value added (> 0, op I) or removed (< 0, op D). */
  count?: number;
}

/** A published relation as pgoutput described it, matched to a spec table. */
export interface BoundRelation {
  readonly table: SyncTable;
  readonly columns: readonly RelationColumn[];
  /** Indexes of the spec key columns in the relation's columns. */
  readonly keyIdx: readonly number[];
  /** Staging column types (source types; text for non-built-in types). */
  readonly types: readonly string[];
  readonly stage: string;
  /** The coalesced changes not written yet (replaced by a new map when a flush takes them). */
  pending: Map<string, Entry>;
  /** The spec table is keyless: rows matched by all columns, counted per value (keyless.ts). */
  readonly keyless: boolean;
  /** A keyless table's copy point: its changes of transactions the copy saw are skipped (keyless.ts). */
  readonly copied: CopyPoint | null;
}

export interface ApplyCounts {
  inserted: number;
  updated: number;
  deleted: number;
  conflicts: number;
  /** Destination tables emptied by a replayed TRUNCATE. */
  truncated: number;
}

export interface ApplierOptions {
  readonly direction: Direction;
  readonly slot: string;
  /** Later-commit-wins conflict detection (two-way operation). */
  readonly conflicts: boolean;
  /** How applied transactions are marked so the other direction skips them. */
  readonly loopGuard: LoopGuard;
  /** The login may set session_replication_role: direct writes skip foreign-key checks (direct.ts). @default false */
  readonly replicaRole?: boolean;
  readonly migrationId: string;
  /** The destination side of the applier lock (applier-lock.ts). */
  readonly lock?: ApplierLockOptions;
  /** Run inside every apply transaction before it commits (fencing: throws when this execution is stale). @default - none */
  readonly fence?: (c: Client) => Promise<void>;
  /**
   * Take the applier lock just before COMMIT instead of at BEGIN: a streamed transaction's session
   * (streamed.ts), open beside the main one, which takes it at each of its own commits. @default false
   */
  readonly lockAtCommit?: boolean;
}

/** How often a long-running applier prunes its bookkeeping (at its first commit, then at most this often). */
const PRUNE_EVERY_MS = 10 * 60_000;

const keyPart = (c: Cell) => (c === null ? '\u0000N' : String(c));

function keyOf(cells: readonly Cell[], keyIdx: readonly number[]): string {
  // One key column (most tables): the value itself, no array per row.
  if (keyIdx.length === 1) return keyPart(cells[keyIdx[0]]);
  return keyIdx.map((i) => keyPart(cells[i])).join('\u0001');
}

/**
 * Applies decoded changes to the destination through the spec's projection:
 * per flush, the coalesced rows of each table are COPYed (as text) into a temp
 * staging table shaped like the source row, then deleted by key and upserted with
 * `INSERT … SELECT <projection> FROM staging s ON CONFLICT (key) DO UPDATE`, in one
 * destination transaction that also records the applied LSN.
 */
export class Applier {
  private inTx = false;
  private stages = 0;
  readonly counts: ApplyCounts = { inserted: 0, updated: 0, deleted: 0, conflicts: 0, truncated: 0 };
  private pendingRows = 0;
  private prunedAt = 0;
  /** The current source transaction's first touch of each key: what `discardTransaction` puts back. */
  private txUndo: { rel: BoundRelation; key: string; prev: Entry | undefined }[] | null = null;
  private txStart = { pendingRows: 0, counts: { ...this.counts }, flushed: false };
  /**
   * A source transaction larger than one flush: at its first flush the earlier transactions' changes
   * are written, then `SAVEPOINT` (`set`). Taken back (`discardTransaction`), the destination rolls back
   * to it before the commit (`rollback`), so every transaction before it is still applied.
   */
  private savepoint: 'none' | 'set' | 'rollback' = 'none';
  private splitting = false;

  constructor(
    private readonly dst: Client,
    private readonly src: Client,
    private readonly opts: ApplierOptions,
  ) {}

  get pending(): number {
    return this.pendingRows;
  }

  get open(): boolean {
    return this.inTx;
  }

  /** Bind a relation message to its spec table and (re)create its staging table. */
  async bind(table: SyncTable, columns: readonly RelationColumn[], replicaIdentity: string): Promise<BoundRelation> {
    const names = columns.map((c) => c.name);
    assertColumnsPresent(table, names);
    const keyIdx = table.spec.key.map((k) => names.indexOf(k));
    const missing = table.spec.key.filter((_k, i) => keyIdx[i] < 0);
    if (missing.length)
      throw new UnsupportedChangeError(
        `table ${table.spec.name}: source ${table.sourceTable} no longer has key column(s) ${missing.join(', ')}: re-run PrepareTarget and the copy`,
      );
    const notIdentity = table.spec.key.filter((_k, i) => !columns[keyIdx[i]].isKey);
    if (table.spec.keyless && replicaIdentity !== 'f') {
      throw new UnsupportedChangeError(
        `table ${table.spec.name} is keyless (rows matched by all columns), but ${table.sourceTable} does not send ` +
          `whole old rows: ALTER TABLE ${table.sourceTable} REPLICA IDENTITY FULL`,
      );
    }
    if (replicaIdentity !== 'f' && notIdentity.length) {
      throw new UnsupportedChangeError(
        `table ${table.spec.name}: key column(s) ${notIdentity.join(', ')} are not in the replica identity of ` +
          `${table.sourceTable}, so deletes cannot be matched: ` +
          `make the spec key the primary key, or ALTER TABLE ${table.sourceTable} REPLICA IDENTITY FULL`,
      );
    }
    if (this.inTx) await this.settled(); // its failure, not "current transaction is aborted"
    const t = await this.src.query(
      `SELECT CASE WHEN o < 16384 THEN format_type(o, NULLIF(m, -1)) ELSE 'text' END AS type FROM ` +
        `unnest($1::oid[], $2::int[]) WITH ORDINALITY AS u(o, m, i) ORDER BY i`,
      [columns.map((c) => c.typeOid), columns.map((c) => c.typmod)],
    );
    const types = t.rows.map((r) => r.type as string);
    const stage = `sy_stage_${this.opts.direction}_${++this.stages}`;
    const cols = columns.map((c, i) => `${qi(c.name)} ${types[i]}`);
    await this.dst.query(
      `CREATE TEMP TABLE ${qi(stage)} (${cols.join(', ')}${cols.length ? ', ' : ''}_sy_n int NOT NULL, _sy_op ` +
        `"char" NOT NULL, _sy_ts timestamptz NOT NULL, _sy_unchanged text[], _sy_tomb timestamptz, _sy_fetch ` +
        `boolean, _sy_count int)`,
    );
    const keyless = table.spec.keyless === true;
    const copied = keyless ? await loadCopyPoint(this.dst, table.spec.name) : null;
    return { table, columns, keyIdx, types, stage, pending: new Map(), keyless, copied };
  }

  /**
   * Open the apply transaction without waiting for it: its statements go out now and run while the
   * rest of the batch is decoded; every write of the transaction waits for them first (`opened`).
   */
  private begin(): void {
    if (this.inTx) return;
    this.inTx = true; // from here a failure ends in ROLLBACK (rollback())
    const opening = this.openTransaction();
    opening.catch(() => undefined); // awaited (and thrown) by the next write
    this.opening = opening;
  }

  private opening: Promise<void> | null = null;

  /** The open transaction's first statements have run (the applier lock held); throws what they threw. */
  private async opened(): Promise<void> {
    if (this.opening) await this.opening;
  }

  private async openTransaction(): Promise<void> {
    const lockName = slotLockName(this.opts.slot);
    const { migrationId, direction, loopGuard } = this.opts;
    const lock = !this.opts.lockAtCommit;
    const opened = await this.run(beginSql({ lockName, loopGuard, migrationId, direction, lock }));
    // Held to COMMIT: an applier that stopped mid-transaction is found (and, when stale, ended) by the next one.
    if (opened[1].rows[0].ok !== true) await this.lock();
    // Servers without origins for this login and without messages in pgoutput (13): a marker row (loop-marker.ts).
    if (loopGuard === 'marker') await writeLoopMark(this.dst, migrationId, direction);
  }

  private async lock(): Promise<void> {
    await acquireApplierLock(this.dst, slotLockName(this.opts.slot), {
      ...this.opts.lock,
      xact: true,
      what: `the ${this.opts.direction} apply transaction`,
    });
  }

  /** Run statements as one multi-statement query (one round trip); one result per statement. */
  private async run(statements: readonly string[]): Promise<QueryResult[]> {
    const r = (await this.dst.query(statements.join(';\n'))) as QueryResult | QueryResult[];
    return Array.isArray(r) ? r : [r];
  }

  async insert(rel: BoundRelation, row: readonly Cell[], ts: string): Promise<void> {
    this.begin();
    if (rel.keyless) this.count(rel, row, 1, ts);
    // The decoder's array is this change's own (never reused): kept as it is.
    else this.put(rel, keyOf(row, rel.keyIdx), { op: 'I', cells: row as Cell[], ts });
    this.counts.inserted++;
  }

  async update(rel: BoundRelation, old: readonly Cell[] | null, row: readonly Cell[], ts: string): Promise<void> {
    this.begin();
    if (rel.keyless) {
      const before = wholeOldRow(rel, old, 'UPDATE');
      this.count(rel, before, -1, ts);
      this.count(
        rel,
        row.map((c, i) => (c === UNCHANGED ? before[i] : c)),
        1,
        ts,
      );
      this.counts.updated++;
      return;
    }
    const cells = [...row];
    // A key column is never TOASTed in practice; if pgoutput left one out, the old tuple has it.
    for (const i of rel.keyIdx) if (cells[i] === UNCHANGED && old) cells[i] = old[i];
    if (rel.keyIdx.some((i) => cells[i] === UNCHANGED)) {
      throw new UnsupportedChangeError(
        `table ${rel.table.spec.name}: an UPDATE did not carry key column(s) ${rel.table.spec.key.join(', ')}: ` +
          `set REPLICA IDENTITY FULL on ${rel.table.sourceTable}`,
      );
    }
    const newKey = keyOf(cells, rel.keyIdx);
    const oldKey = old ? keyOf(old, rel.keyIdx) : newKey;
    if (oldKey !== newKey) {
      // The key changed: the old key goes away, the new key is a row of its own.
      this.put(rel, oldKey, { op: 'D', cells: [...old!], ts });
      this.put(rel, newKey, { op: cells.includes(UNCHANGED) ? 'P' : 'I', cells, ts }, true);
    } else {
      this.put(rel, newKey, { op: cells.includes(UNCHANGED) ? 'P' : 'U', cells, ts });
    }
    this.counts.updated++;
  }

  async delete(rel: BoundRelation, old: readonly Cell[], ts: string): Promise<void> {
    this.begin();
    if (rel.keyless) this.count(rel, wholeOldRow(rel, old, 'DELETE'), -1, ts);
    else this.put(rel, keyOf(old, rel.keyIdx), { op: 'D', cells: [...old], ts });
    this.counts.deleted++;
  }

  /** A keyless table's change: `delta` rows of this value (keyless.ts), kept per value so identical rows add up. */
  private count(rel: BoundRelation, cells: readonly Cell[], delta: number, ts: string): void {
    const tx = this.sourceTx;
    if (rel.copied && tx && seenByCopy(rel.copied, tx.xid, tx.finalLsn)) return; // the copy holds it already
    this.touched.add(rel);
    const key = JSON.stringify(rel.keyIdx.map((i) => cells[i]));
    const prev = rel.pending.get(key);
    this.remember(rel, key, prev);
    if (!prev) this.pendingRows++;
    const count = (prev?.count ?? 0) + delta;
    rel.pending.set(key, { op: count < 0 ? 'D' : 'I', cells: [...cells], ts, count });
  }

  /** The source transaction being decoded (pgoutput Begin): a keyless table skips it when its copy saw it. */
  private sourceTx: { xid: number; finalLsn: bigint } | null = null;

  /** A source transaction starts: its changes can be taken back (`discardTransaction`) until a flush writes them. */
  startTransaction(source?: { xid: number; finalLsn: bigint }): void {
    this.sourceTx = source ?? null;
    this.directMissed = false;
    if (this.savepoint === 'set') this.savepoint = 'none';
    this.txUndo = [];
    this.txStart = { pendingRows: this.pendingRows, counts: { ...this.counts }, flushed: false };
  }

  /** The source transaction's commit was decoded: its changes are whole (nothing to take back or split any more). */
  endTransaction(): void {
    this.txUndo = null;
  }

  /**
   * Take back the pending changes of the current source transaction (it cannot be applied whole),
   * keeping every earlier transaction's. False when a flush already wrote part of it (a transaction
   * larger than `flushRows`): then only rolling back the destination transaction takes it back.
   */
  discardTransaction(): boolean {
    if (this.txUndo && this.txStart.flushed && this.savepoint === 'set') {
      // Part of it is written, after the savepoint: the commit rolls back to it first.
      for (const rel of this.touched) rel.pending.clear();
      this.txUndo = [];
      this.pendingRows = 0;
      Object.assign(this.counts, this.txStart.counts);
      this.savepoint = 'rollback';
      return true;
    }
    if (!this.txUndo || this.txStart.flushed) return false;
    for (const { rel, key, prev } of this.txUndo.reverse()) {
      if (prev) rel.pending.set(key, prev);
      else rel.pending.delete(key);
    }
    this.txUndo = [];
    this.pendingRows = this.txStart.pendingRows;
    Object.assign(this.counts, this.txStart.counts);
    return true;
  }

  /**
   * Why a TRUNCATE of these relations cannot be replayed on the destination (a named error), or
   * null when it can (every table mapped one-to-one).
   */
  truncateRefusal(rels: readonly (BoundRelation | undefined)[]): UnsupportedChangeError | null {
    return truncateRefusal(rels.map((r) => r?.table));
  }

  /**
   * Replay a TRUNCATE in commit order: the pending changes before it are written first, then the
   * destination tables are emptied (with conflict detection: only of rows not written locally later, truncate.ts).
   */
  async truncate(rels: readonly BoundRelation[], ts: string): Promise<void> {
    this.begin();
    await this.flush(this.touched);
    await truncateTables(this.dst, rels, ts, this.opts.direction, this.opts.conflicts);
    this.counts.truncated += rels.length;
  }

  /** Every relation a change was put into (a TRUNCATE writes all of their pending changes first). */
  private readonly touched = new Set<BoundRelation>();

  /**
   * What taking the current source transaction back needs: each key's entry before its first touch,
   * until the transaction's first write. After it, everything pending is this transaction's (the
   * earlier ones were written before the savepoint), so nothing per key is kept: memory stays bounded
   * by `flushRows` however large the transaction.
   */
  private remember(rel: BoundRelation, key: string, prev: Entry | undefined): void {
    if (this.txUndo && !this.txStart.flushed) this.txUndo.push({ rel, key, prev });
  }

  /** Coalesce a change into the key's pending final state (commit order is call order). */
  private put(rel: BoundRelation, key: string, next: Entry, created = false): void {
    this.touched.add(rel);
    const prev = rel.pending.get(key);
    this.remember(rel, key, prev);
    if (!prev) {
      this.pendingRows++;
      rel.pending.set(key, next);
    } else if (next.op === 'D' || next.op === 'I') {
      rel.pending.set(key, next);
    } else if (prev.op === 'D') {
      // Re-created after a delete in the same flush (a key moved onto it): an insert.
      rel.pending.set(key, { ...next, op: next.op === 'P' ? 'P' : 'I' });
    } else {
      // An update on top of a pending row: unchanged TOAST values come from the pending row.
      const cells = next.cells.map((c, i) => (c === UNCHANGED ? prev.cells[i] : c));
      const op: Entry['op'] = cells.includes(UNCHANGED) ? 'P' : prev.op === 'I' || created ? 'I' : 'U';
      rel.pending.set(key, { op, cells, ts: next.ts });
    }
  }

  /**
   * Write every pending change (deletes children-first, then upserts parents-first) without committing;
   * `tail` statements run after it in the same round trip (commit: the position and COMMIT). One COPY per
   * touched table, then one multi-statement query (apply-sql.ts); rows with unchanged TOAST values go
   * step by step (`applyStepwise`).
   */
  async flush(rels: Iterable<BoundRelation>, tail: readonly string[] = []): Promise<QueryResult[]> {
    await this.settled();
    const all = [...rels];
    const active = all.filter((r) => r.pending.size > 0).sort((a, b) => a.table.order - b.table.order);
    if (!active.length) return tail.length ? this.run(tail) : [];
    // The first write of a source transaction's own changes: the earlier ones first, then a savepoint.
    if (this.txUndo?.length && !this.txStart.flushed && !this.splitting) return this.splitAtTransaction(all, tail);
    // Writing the current transaction's changes makes it impossible to take them back (discardTransaction).
    if (this.txUndo === null || this.txUndo.length > 0) this.txStart.flushed = true;
    return this.write(this.take(active), tail);
  }

  /**
   * A flush inside a source transaction larger than `flushRows`: once its first flush set the savepoint,
   * its rows are written in the background while the next ones are received and decoded (one write in
   * flight; everything else on the connection waits for it, and a failure is thrown by the next step).
   * While a write is in flight the rows keep coming, up to 1.5 × `flushRows`: the next write starts with
   * what arrived as soon as the previous one is done, so the destination never waits for a full batch.
   */
  async flushAhead(rels: Iterable<BoundRelation>, flushRows: number): Promise<void> {
    if (this.writing && !this.written && this.pendingRows < 1.5 * flushRows) return;
    await this.settled();
    const all = [...rels];
    const active = all.filter((r) => r.pending.size > 0).sort((a, b) => a.table.order - b.table.order);
    const ahead = this.savepoint === 'set' && this.txUndo !== null && this.txStart.flushed && !this.splitting;
    if (!ahead || active.some((r) => [...r.pending.values()].some((e) => e.op === 'P'))) {
      await this.flush(all);
      return;
    }
    const writing = this.write(this.take(active), [], true);
    this.written = false;
    writing.then(
      () => {
        this.written = true;
      },
      () => {
        this.written = true; // thrown by the next settled()
      },
    );
    this.writing = writing;
  }

  /**
   * Write the batch directly (direct.ts) when it allows it: a background write of a large transaction,
   * or any other flush of at least DIRECT_MIN_ROWS rows.
   */
  private async writeDirectly(batch: readonly StagedTable[], ahead: boolean): Promise<boolean> {
    const rows = batch.reduce((n, t) => n + t.rows.size, 0);
    if ((!ahead && rows < DIRECT_MIN_ROWS) || this.opts.conflicts || this.directMissed) return false;
    if (!directEligible(batch)) return false;
    if (await writeDirect(this.dst, batch, this.opts.replicaRole ?? false)) return true;
    this.directMissed = true; // the transaction meets rows already there: the rest of it goes through staging
    return false;
  }

  /** A direct write of the current source transaction found its keys already there (not tried again for it). */
  private directMissed = false;

  private writing: Promise<unknown> | null = null;
  /** The write in flight is done (succeeded or failed): the next flushAhead starts the next one. */
  private written = true;
  /** Prepared statements of the destination session (`reuse`). */
  private readonly prepared = new Set<string>();

  /** The transaction is open and no background write is in flight; throws what either threw. */
  private async settled(): Promise<void> {
    await this.opened();
    const w = this.writing;
    this.writing = null;
    if (w) await w;
  }

  /** Take the active tables' pending rows out (their maps start empty again) as one batch to write. */
  private take(active: readonly BoundRelation[]): StagedTable[] {
    this.pendingRows = 0;
    return active.map((rel) => {
      const rows = rel.pending;
      rel.pending = new Map();
      return { rel, rows };
    });
  }

  /**
   * Stage a batch, apply it, empty the staging tables, then `tail`: after the COPYs, one round trip.
   * A batch of only new rows may go straight into its tables instead (`writeDirectly`).
   */
  private async write(batch: readonly StagedTable[], tail: readonly string[], ahead = false): Promise<QueryResult[]> {
    if (await this.writeDirectly(batch, ahead)) return tail.length ? this.run(tail) : [];
    const active = batch.map((t) => t.rel);
    const partial = await stageAll(this.dst, batch);
    if (partial) await this.applyStepwise(active);
    const checked = partial || !this.opts.conflicts ? [] : active.filter((r) => !r.keyless);
    const { slot, direction } = this.opts;
    const results = await this.run([
      ...checked.flatMap((rel) => [conflictLockSql(rel), conflictCheckSql(rel, slot, direction)]),
      ...(partial ? [] : applySql(active, this.prepared)),
      ...emptyStagingSql(batch),
      ...tail,
    ]);
    checked.forEach((_rel, i) => {
      this.counts.conflicts += results[2 * i + 1].rows[0].recorded as number;
    });
    return results;
  }

  /**
   * Write the pending changes of the transactions before the current one, set the savepoint, and
   * flush the current one's (its final entries put back; a keyless table's counts less the earlier ones').
   */
  private async splitAtTransaction(all: readonly BoundRelation[], tail: readonly string[]): Promise<QueryResult[]> {
    const undo = this.txUndo!;
    const mine = new Map<BoundRelation, Map<string, { now: Entry | undefined; before: Entry | undefined }>>();
    for (const { rel, key, prev } of undo) {
      const m = mine.get(rel) ?? new Map();
      mine.set(rel, m);
      if (!m.has(key)) m.set(key, { now: rel.pending.get(key), before: prev });
    }
    const counts = { ...this.counts };
    this.splitting = true;
    try {
      this.discardTransaction();
      const conflictsBefore = this.counts.conflicts;
      await this.flush(all);
      counts.conflicts += this.counts.conflicts - conflictsBefore;
      await this.dst.query('SAVEPOINT sy_tx');
    } finally {
      this.splitting = false;
    }
    this.savepoint = 'set';
    this.txStart = { ...this.txStart, pendingRows: 0, flushed: true };
    this.txUndo = [];
    for (const [rel, keys] of mine) {
      for (const [key, { now, before }] of keys) {
        this.txUndo.push({ rel, key, prev: undefined });
        const count = rel.keyless && now ? (now.count ?? 0) - (before?.count ?? 0) : undefined;
        if (!now || count === 0) continue;
        rel.pending.set(key, count === undefined ? now : { ...now, op: count < 0 ? 'D' : 'I', count });
        this.pendingRows++;
      }
    }
    Object.assign(this.counts, counts);
    return this.flush(all, tail);
  }

  /** The flush with unchanged TOAST values: conflicts, deletes, upserts and the partial rows, a statement at a time. */
  private async applyStepwise(active: readonly BoundRelation[]): Promise<void> {
    const reinserts = new Set<BoundRelation>();
    if (this.opts.conflicts) {
      for (const rel of active.filter((r) => !r.keyless)) {
        const c = await detectConflicts(this.dst, rel, this.opts.slot, this.opts.direction);
        this.counts.conflicts += c.recorded;
        if (c.partialReinserts > 0) reinserts.add(rel);
      }
    }
    for (const rel of [...active].reverse()) await this.dst.query(rel.keyless ? keylessDeleteSql(rel) : deleteSql(rel));
    for (const rel of active) {
      await this.dst.query(rel.keyless ? keylessInsertSql(rel) : upsertSql(rel, `s._sy_op IN ('I', 'U')`));
      if (!rel.keyless) await this.applyPartials(rel);
      if (reinserts.has(rel))
        this.counts.conflicts += await recordUnrebuiltRows(this.dst, rel, this.opts.slot, this.opts.direction);
    }
  }

  /** Flush, record the position, and commit. Returns false when no destination transaction was open. */
  async commit(rels: Iterable<BoundRelation>, lsn: string, commitTimeIso: string): Promise<boolean> {
    if (!this.inTx) return false;
    try {
      await this.settled();
      // A taken-back transaction was partly written after its savepoint: keep only what came before it.
      if (this.savepoint === 'rollback') await this.dst.query('ROLLBACK TO SAVEPOINT sy_tx');
      this.savepoint = 'none';
      if (this.opts.lockAtCommit) await this.lock();
      if (Date.now() - this.prunedAt >= PRUNE_EVERY_MS) {
        await this.flush(rels);
        await pruneBookkeeping(this.dst, this.opts.slot, this.opts.direction);
        this.prunedAt = Date.now();
      }
      const position = positionSql(this.opts.slot, this.opts.direction, lsn, commitTimeIso);
      let done: QueryResult;
      if (this.opts.fence) {
        await this.flush(rels, [position]);
        await this.opts.fence(this.dst);
        done = await this.dst.query('COMMIT');
      } else {
        const results = await this.flush(rels, [position, 'COMMIT']);
        done = results[results.length - 1];
      }
      // A transaction an earlier statement aborted ends in ROLLBACK without an error: never confirm it.
      if (done.command !== 'COMMIT')
        throw new SyncApplyError(`the ${this.opts.direction} apply transaction ended in ${done.command}, not COMMIT`);
    } finally {
      this.inTx = false;
    }
    return true;
  }

  /**
   * A subtransaction of a streamed transaction starts (streamed.ts): everything before it is written,
   * then SAVEPOINT `name`. Returns the counts to restore if it is rolled back (`rollbackTo`).
   */
  async subtransaction(rels: Iterable<BoundRelation>, name: string): Promise<ApplyCounts> {
    this.begin();
    await this.flush(rels, [`SAVEPOINT ${qi(name)}`]); // one round trip with the flush
    return { ...this.counts };
  }

  /** The subtransaction aborted: its pending rows dropped (only touched relations hold any), the destination back at its savepoint. */
  async rollbackTo(name: string, counts: ApplyCounts): Promise<void> {
    await this.settled();
    for (const r of this.touched) r.pending.clear();
    this.pendingRows = 0;
    Object.assign(this.counts, counts);
    await this.dst.query(`ROLLBACK TO SAVEPOINT ${qi(name)}`);
  }

  async rollback(rels: Iterable<BoundRelation>): Promise<void> {
    for (const r of rels) r.pending.clear();
    this.pendingRows = 0;
    this.savepoint = 'none';
    if (this.inTx) await this.settled().catch(() => undefined);
    if (this.inTx) await this.dst.query('ROLLBACK').catch(() => undefined);
    this.inTx = false;
  }

  /**
   * Rows whose UPDATE left TOASTed values out ('u'). A target column that is exactly an
   * unchanged source column keeps the destination's current value; every other column is
   * recomputed. When the destination row is missing, a computed column reads an unchanged
   * value, or the row won a conflict against a local write (`_sy_fetch`, conflicts.ts: the
   * destination's value may be the loser's), the unchanged values are read from the source's
   * current row.
   */
  private async applyPartials(rel: BoundRelation): Promise<void> {
    const sets = await this.dst.query(`SELECT DISTINCT _sy_unchanged AS u FROM ${qi(rel.stage)} WHERE _sy_op = 'P'`);
    if (!sets.rowCount) return;
    const l = rel.table.layout;
    const tk = targetKey(l.spec);
    const exprs = targetSideExprs(l);
    for (const { u } of sets.rows as { u: string[] }[]) {
      const inGroup = `s._sy_op = 'P' AND s._sy_unchanged = ${ql(`{${u.map((c) => `"${c.replace(/"/g, '\\"')}"`).join(',')}}`)}::text[]`;
      const keep: string[] = [];
      const set: string[] = [];
      let computed = false;
      l.columns.forEach((c, i) => {
        if (tk.includes(c.name)) return;
        const expr = l.spec.columns[c.name];
        const bare = u.some((col) =>
          new RegExp(
            `^\\s*s\\s*\\.\\s*("${col.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"|${/^[a-z_][a-z0-9_$]*$/.test(col) ? col : '\u0000'})\\s*$`,
            'i',
          ).test(expr),
        );
        if (bare) keep.push(c.name);
        else if (readsAny(expr, u)) computed = true;
        else set.push(`${qi(c.name)} = ${exprs[i]}`);
      });
      if (!computed && set.length) {
        await this.dst.query(
          `UPDATE ${qi(targetRelation(l.spec))} AS t SET ${set.join(', ')} FROM ${qi(rel.stage)} AS s WHERE ${inGroup} AND ${keyMatchSql(rel)}`,
        );
      }
      const fetchWhere = computed
        ? inGroup
        : `${inGroup} AND (s._sy_fetch IS TRUE OR NOT EXISTS (SELECT 1 FROM ${qi(targetRelation(l.spec))} AS t WHERE ${keyMatchSql(rel)}))`;
      await this.fillFromSource(rel, u, fetchWhere);
    }
  }

  /** Read the unchanged columns from the source's current row, then upsert those rows as full rows. */
  private async fillFromSource(rel: BoundRelation, unchanged: string[], where: string): Promise<void> {
    const keys = rel.table.spec.key;
    const stage = qi(rel.stage);
    const need = await this.dst.query(
      `SELECT s._sy_n AS n, ${keys.map((k, i) => `s.${qi(k)}::text AS k${i}`).join(', ')} FROM ${stage} AS s WHERE ${where}`,
    );
    if (!need.rowCount) return;
    const arrays = keys.map((_k, i) => need.rows.map((r) => r[`k${i}`] as string));
    const srcKey = keys.map((k) => `s.${qi(k)}::text`);
    const got = await this.src.query(
      `SELECT ${srcKey.map((e, i) => `${e} AS k${i}`).join(', ')}, ${unchanged.map((c, i) => `s.${qi(c)}::text AS u${i}`).join(', ')}
         FROM ${qi(rel.table.sourceTable)} AS s
        WHERE (${srcKey.join(', ')}) IN (SELECT * FROM unnest(${keys.map((_k, i) => `$${i + 1}::text[]`).join(', ')}))`,
      arrays,
    );
    const names = rel.columns.map((c) => c.name);
    const typeOf = (c: string) => rel.types[names.indexOf(c)];
    const cols = [...keys.map((_k, i) => `k${i}`), ...unchanged.map((_c, i) => `u${i}`)];
    const params = cols.map((c) => got.rows.map((r) => r[c] as string | null));
    // Rows gone from the source were deleted later: that DELETE is still to come (or came), nothing to write now.
    await this.dst.query(
      `WITH f AS (SELECT * FROM unnest(${cols.map((_c, i) => `$${i + 1}::text[]`).join(', ')}) AS f(${cols.join(', ')}))
       UPDATE ${stage} AS s SET _sy_op = 'F', ${unchanged.map((c, i) => `${qi(c)} = f.u${i}::${typeOf(c)}`).join(', ')}
         FROM f WHERE ${keys.map((k, i) => `s.${qi(k)}::text = f.k${i}`).join(' AND ')} AND s._sy_n = ANY($${cols.length + 1}::int[])`,
      [...params, need.rows.map((r) => r.n as number)],
    );
    await this.dst.query(upsertSql(rel, `s._sy_op = 'F'`));
    await this.dst.query(`UPDATE ${stage} SET _sy_op = 'x' WHERE _sy_op = 'F'`);
  }
}

/**
 * Every source column the spec's projection reads must be in the relation the stream describes: a
 * mapped column dropped (or renamed) on the source is a named error naming the spec's target
 * column, before anything of the change is applied (instead of "column s.x does not exist").
 */
export function assertColumnsPresent(table: SyncTable, columns: readonly (string | { name: string })[]): void {
  const names = columns.map((c) => (typeof c === 'string' ? c : c.name));
  const broken: string[] = [];
  const gone = new Set<string>();
  for (const [target, expr] of Object.entries(table.spec.columns)) {
    const missing = columnsRead(expr).filter((c) => !names.includes(c));
    if (!missing.length) continue;
    broken.push(`target column ${target} (reads ${missing.map((c) => `s.${c}`).join(', ')})`);
    for (const c of missing) gone.add(c);
  }
  if (!broken.length) return;
  throw new SchemaMismatchError(
    `table ${table.spec.name}: the source ${table.sourceTable} no longer has column(s) ${[...gone].join(', ')} ` +
      `(dropped or renamed, or a generated column, published from PostgreSQL 18 only), which the spec's ${broken.join('; ')} ` +
      `read(s). Every transaction before this schema change was applied, none after it: put the column back on the source, ` +
      `or change the spec's mapping of those columns, re-run PrepareTarget and copy the table again`,
  );
}

/** The old row of a keyless table's UPDATE/DELETE, whole (REPLICA IDENTITY FULL sends it detoasted), or a named error. */
function wholeOldRow(rel: BoundRelation, old: readonly Cell[] | null, what: string): readonly Cell[] {
  if (old && !rel.keyIdx.some((i) => old[i] === UNCHANGED)) return old;
  throw new UnsupportedChangeError(
    `table ${rel.table.spec.name} is keyless (rows matched by all columns), but an ${what} on ` +
      `${rel.table.sourceTable} did not carry the whole old row: ALTER TABLE ${rel.table.sourceTable} REPLICA IDENTITY FULL`,
  );
}

/** The apply statements of a flush without unchanged TOAST values: deletes children-first, then upserts parents-first. */
function applySql(active: readonly BoundRelation[], prepared: Set<string>): string[] {
  return [
    ...[...active]
      .reverse()
      .map((rel) => reuse(prepared, `${rel.stage}_d`, rel.keyless ? keylessDeleteSql(rel) : deleteSql(rel))),
    ...active.map((rel) =>
      reuse(prepared, `${rel.stage}_u`, rel.keyless ? keylessInsertSql(rel) : upsertSql(rel, `s._sy_op IN ('I', 'U')`)),
    ),
  ];
}

/**
 * A statement run at every flush, as a prepared statement of the session (planned once, re-planned by
 * the server when a table it reads changes): the first use prepares it in the same round trip.
 */
function reuse(prepared: Set<string>, name: string, sql: string): string {
  if (prepared.has(name)) return `EXECUTE ${qi(name)}`;
  prepared.add(name);
  return `PREPARE ${qi(name)} AS ${sql}; EXECUTE ${qi(name)}`;
}
