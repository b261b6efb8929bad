import type { Client } from 'pg';
import { type ChunkToCopy, chunkError, type CopyOptions, type CopyResult, copyChunks } from './copy';
import { connect, type DbEndpoint } from './db';
import { isTransientDbError } from './errors';
import { type Chunk, chunkRows, planChunks, selectChunks, type SourceSize, sourceSizes, storePlan } from './plan';
import { META_SCHEMA } from './prepare';
import { qi, type TableLayout } from './sql';
import { targetRelation } from './spec';

/** Whole small tables copied in one target transaction: up to this many estimated rows… */
export const BATCH_ROWS = 50_000;
/** …and this many tables. */
export const BATCH_TABLES = 64;

/** One table of a multi-table copy, optionally one chunk group of it. */
export interface TableToCopyItem {
  readonly layout: TableLayout;
  readonly chunkNos?: { readonly from: number; readonly to: number };
}

/** A unit of work: plan one table, or copy chunks (one, or several small tables' whole-table chunks). */
type Work =
  | { kind: 'plan'; t: number; level: number }
  /** `alone`: returned from a failed batch, copied on its own (so an error names its own table). */
  | { kind: 'copy'; t: number; chunk: Chunk; level: number; alone?: boolean };

interface TableState {
  readonly item: TableToCopyItem;
  readonly size: SourceSize;
  planned: boolean;
  chunks: number;
  copied: number;
  rowsCopied: number;
  rowsTotal: number;
}

/**
 * Copy several tables with one pool of `concurrency` source+target connection pairs (the budget
 * Preflight checks): chunks of all tables run concurrently, the tables' plans are made in the pool
 * too (overlapping the copy of tables already planned), and whole small tables are copied several
 * per transaction (BATCH_ROWS / BATCH_TABLES), so a schema of many small tables pays a commit per
 * batch, not per table. Tables linked by a foreign key on the target (not deferred) are copied one
 * after another, in the order given. Resumes from the checkpoints of an earlier run with the same
 * run id. Throws the first failure (no further work is started); results are in the order given.
 */
export async function copyTables(
  items: readonly TableToCopyItem[],
  source: DbEndpoint,
  target: DbEndpoint,
  opts: CopyOptions,
): Promise<CopyResult[]> {
  const pool = new Pool(source, target, Math.max(1, opts.concurrency ?? 1));
  try {
    const first = await pool.pair(0);
    const tables = await prepareTables(items, first.src, first.tgt, opts.runId);
    const levels = await foreignKeyLevels(first.tgt, items);
    const queue: Work[] = [];
    const level = (t: number) => levels[t];
    const enqueue = (t: number, plan: readonly Chunk[]) => {
      const selected = selectChunks([...plan], tables[t].item.chunkNos);
      tables[t].planned = true;
      tables[t].chunks = selected.length;
      tables[t].copied = selected.filter((c) => c.copiedRows !== null).length;
      tables[t].rowsTotal = selected.reduce((n, c) => n + (c.copiedRows ?? 0), 0);
      for (const chunk of selected)
        if (chunk.copiedRows === null) queue.push({ kind: 'copy', t, chunk, level: level(t) });
    };
    const plans = await loadPlans(first.tgt, opts.runId, items);
    items.forEach((_x, t) => {
      const plan = plans.get(items[t].layout.spec.name);
      if (plan?.length) enqueue(t, plan);
      else queue.push({ kind: 'plan', t, level: level(t) });
    });
    await runQueue(pool, queue, tables, opts, enqueue);
    return tables.map((s) => ({
      table: s.item.layout.spec.name,
      chunks: s.chunks,
      chunksCopied: s.copied,
      rowsCopied: s.rowsCopied,
      rowsTotal: s.rowsTotal,
      complete: s.planned && s.copied === s.chunks,
    }));
  } finally {
    await pool.close();
  }
}

/** Sizes of every table (one catalog query), and the whole-table plan of every unplanned small table (one insert). */
async function prepareTables(
  items: readonly TableToCopyItem[],
  src: Client,
  tgt: Client,
  runId: string,
): Promise<TableState[]> {
  const sizes = await sourceSizes(
    src,
    items.map((i) => i.layout.spec),
  );
  const planned = await loadPlans(tgt, runId, items);
  const small = items.filter(
    (it, t) =>
      !planned.get(it.layout.spec.name)?.length &&
      sizes[t].rows !== null &&
      sizes[t].rows! <= chunkRows(it.layout.spec, sizes[t]),
  );
  for (let i = 0; i < small.length; i += 500)
    await storePlan(
      tgt,
      runId,
      small.slice(i, i + 500).map((it) => ({ layout: it.layout, chunks: [{ n: 0, l: null, u: null }] })),
    );
  return items.map((item, t) => ({
    item,
    size: sizes[t],
    planned: false,
    chunks: 0,
    copied: 0,
    rowsCopied: 0,
    rowsTotal: 0,
  }));
}

async function loadPlans(tgt: Client, runId: string, items: readonly TableToCopyItem[]): Promise<Map<string, Chunk[]>> {
  const r = await tgt.query(
    `SELECT table_name, chunk_no, lower_key, upper_key, copied_rows, fresh, attempts FROM ${META_SCHEMA}.copy_chunks
      WHERE run_id = $1 AND table_name = ANY($2::text[]) ORDER BY table_name, chunk_no`,
    [runId, items.map((i) => i.layout.spec.name)],
  );
  const out = new Map<string, Chunk[]>();
  for (const row of r.rows) {
    const list = out.get(row.table_name) ?? [];
    list.push({
      chunkNo: row.chunk_no as number,
      lower: row.lower_key as string[] | null,
      upper: row.upper_key as string[] | null,
      copiedRows: row.copied_rows === null ? null : Number(row.copied_rows),
      fresh: row.fresh as boolean,
      attempts: row.attempts as number,
    });
    out.set(row.table_name, list);
  }
  return out;
}

/**
 * The order foreign keys on the target (not deferred) impose: 0 for a table that references none of
 * the others, else one more than the tables it references. A table starts only when every table of a
 * lower level is copied. A cycle: every table its own level, in the order given.
 */
async function foreignKeyLevels(tgt: Client, items: readonly TableToCopyItem[]): Promise<number[]> {
  const flat = items.map(() => 0);
  if (items.length < 2) return flat;
  const r = await tgt.query(
    `SELECT DISTINCT a.i - 1 AS child, b.i - 1 AS parent
       FROM pg_constraint c JOIN unnest($1::text[]) WITH ORDINALITY AS a(r, i) ON c.conrelid = to_regclass(a.r)
       JOIN unnest($1::text[]) WITH ORDINALITY AS b(r, i) ON c.confrelid = to_regclass(b.r)
      WHERE c.contype = 'f' AND c.conrelid <> c.confrelid`,
    [items.map((i) => qi(targetRelation(i.layout.spec)))],
  );
  const edges = r.rows.map((row) => [Number(row.child), Number(row.parent)] as const);
  const levels = [...flat];
  for (let round = 0; round <= items.length; round++) {
    let changed = false;
    for (const [child, parent] of edges)
      if (levels[child] <= levels[parent]) {
        levels[child] = levels[parent] + 1;
        changed = true;
      }
    if (!changed) return levels;
  }
  return items.map((_x, i) => i);
}

/** Connection pairs, opened when first used and reopened after a failure. */
class Pool {
  private readonly pairs: ({ src: Client; tgt: Client } | undefined)[] = [];
  constructor(
    private readonly source: DbEndpoint,
    private readonly target: DbEndpoint,
    readonly size: number,
  ) {}

  async pair(i: number): Promise<{ src: Client; tgt: Client }> {
    if (!this.pairs[i]) {
      const [src, tgt] = await Promise.allSettled([
        connect(this.source, { readOnly: true, applicationName: 'switchyard-copy' }),
        connect(this.target, { applicationName: 'switchyard-copy' }),
      ]);
      if (src.status === 'rejected' || tgt.status === 'rejected') {
        for (const c of [src, tgt]) if (c.status === 'fulfilled') await c.value.end().catch(() => undefined);
        throw src.status === 'rejected' ? src.reason : (tgt as PromiseRejectedResult).reason;
      }
      this.pairs[i] = { src: src.value, tgt: tgt.value };
    }
    return this.pairs[i]!;
  }

  async drop(i: number): Promise<void> {
    const p = this.pairs[i];
    this.pairs[i] = undefined;
    if (p) await Promise.all([p.src.end().catch(() => undefined), p.tgt.end().catch(() => undefined)]);
  }

  async close(): Promise<void> {
    await Promise.all(this.pairs.map((_p, i) => this.drop(i)));
  }
}

/** Run the work queue on the pool's pairs: each worker takes the next item its level allows, batching small tables. */
async function runQueue(
  pool: Pool,
  queue: Work[],
  tables: TableState[],
  opts: CopyOptions,
  enqueue: (t: number, plan: readonly Chunk[]) => void,
): Promise<void> {
  let failure: unknown;
  let running = 0;
  const busyLevels: number[] = [];
  const lowest = () => Math.min(...queue.map((w) => w.level), ...busyLevels);
  const small = (w: Work) =>
    w.kind === 'copy' &&
    !w.alone &&
    w.chunk.lower === null &&
    w.chunk.upper === null &&
    (tables[w.t].size.rows ?? Number.POSITIVE_INFINITY) <= BATCH_ROWS;
  const take = (): Work[] | undefined => {
    const i = queue.findIndex((w) => w.level === lowest());
    if (i < 0) return undefined;
    const batch = queue.splice(i, 1);
    if (!small(batch[0])) return batch;
    let rows = tables[batch[0].t].size.rows ?? 0;
    while (batch.length < BATCH_TABLES && i < queue.length && small(queue[i]) && queue[i].level === batch[0].level) {
      const nextRows = tables[queue[i].t].size.rows ?? 0;
      if (rows + nextRows > BATCH_ROWS) break;
      rows += nextRows;
      batch.push(...queue.splice(i, 1));
    }
    return batch;
  };
  const stop = () => failure !== undefined || (opts.deadline !== undefined && Date.now() >= opts.deadline);

  const worker = async (w: number) => {
    while (!stop()) {
      const batch = take();
      if (!batch) {
        if (running === 0) return; // nothing queued and nothing running that could queue more
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      running++;
      busyLevels.push(batch[0].level);
      try {
        const split = await runWork(pool, w, batch, tables, opts, enqueue);
        if (split) queue.unshift(...split);
      } catch (e) {
        failure ??= e;
      } finally {
        running--;
        busyLevels.splice(busyLevels.indexOf(batch[0].level), 1);
      }
    }
  };
  await Promise.all(Array.from({ length: pool.size }, (_x, w) => worker(w)));
  if (failure !== undefined) throw failure;
}

/**
 * One unit of work with retries: a transient error retries it with backoff (a fresh pair); a
 * deterministic error in a batch of several tables returns them as single items (so the error
 * names its own table and the others are copied); otherwise it throws the chunk's named error.
 */
async function runWork(
  pool: Pool,
  w: number,
  batch: Work[],
  tables: TableState[],
  opts: CopyOptions,
  enqueue: (t: number, plan: readonly Chunk[]) => void,
): Promise<Work[] | undefined> {
  const attempts = opts.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    let freshTry = false;
    try {
      const { src, tgt } = await pool.pair(w);
      const first = batch[0];
      if (first.kind === 'plan') {
        enqueue(first.t, await planChunks(tables[first.t].item.layout, src, tgt, opts.runId));
        return undefined;
      }
      const copies = batch as Extract<Work, { kind: 'copy' }>[];
      const fresh = await countTries(tgt, opts.runId, copies, tables);
      freshTry = fresh.some(Boolean);
      const items: ChunkToCopy[] = copies.map((c, i) => ({
        layout: tables[c.t].item.layout,
        chunk: c.chunk,
        fresh: fresh[i],
      }));
      const rows = await copyChunks(items, src, tgt, opts.runId, opts.fence);
      copies.forEach((c, i) => {
        const s = tables[c.t];
        s.rowsCopied += rows[i];
        s.rowsTotal += rows[i];
        s.copied++;
        opts.onChunk?.({ table: s.item.layout.spec.name, chunkNo: c.chunk.chunkNo, rows: rows[i] });
      });
      return undefined;
    } catch (e) {
      await pool.drop(w);
      // A duplicate key on a fresh try means the range was not empty after all (rows from elsewhere): retry with the DELETE.
      const duplicateOnFresh = freshTry && (e as { code?: string }).code === '23505';
      const transient = duplicateOnFresh || isTransientDbError(e);
      if (!transient && batch.length > 1) return batch.map((x) => ({ ...x, alone: true }));
      if (attempt >= (duplicateOnFresh ? Math.max(attempts, 2) : attempts) || !transient) {
        const first = batch[0];
        if (first.kind === 'plan') throw e;
        throw chunkError(tables[first.t].item.layout, first.chunk, e);
      }
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt + Math.random() * 100));
    }
  }
}

/**
 * Record the try of every chunk before it starts (outside the copy's transaction, autocommit): a retry
 * or a resume by any process then deletes the range first. Returns, per chunk, whether this is the
 * first try of a fresh chunk (no DELETE needed).
 */
async function countTries(
  tgt: Client,
  runId: string,
  copies: readonly Extract<Work, { kind: 'copy' }>[],
  tables: readonly TableState[],
): Promise<boolean[]> {
  const names = copies.map((c) => tables[c.t].item.layout.spec.name);
  const r = await tgt.query(
    `UPDATE ${META_SCHEMA}.copy_chunks c SET attempts = c.attempts + 1 FROM unnest($2::text[], $3::int[]) AS v(t, n)
      WHERE c.run_id = $1 AND c.table_name = v.t AND c.chunk_no = v.n RETURNING c.table_name, c.chunk_no, c.attempts`,
    [runId, names, copies.map((c) => c.chunk.chunkNo)],
  );
  const tries = new Map(r.rows.map((row) => [`${row.table_name}\u0000${row.chunk_no}`, row.attempts as number]));
  return copies.map((c, i) => c.chunk.fresh && tries.get(`${names[i]}\u0000${c.chunk.chunkNo}`) === 1);
}

/**
 * The stored plan of every table (a distributed copy's PlanCopy): small tables planned together in one
 * insert, the others on `concurrency` connection pairs at once. In the order given.
 */
export async function planTables(
  layouts: readonly TableLayout[],
  source: DbEndpoint,
  target: DbEndpoint,
  opts: { runId: string; concurrency?: number },
): Promise<Chunk[][]> {
  const items = layouts.map((layout) => ({ layout }));
  const pool = new Pool(source, target, Math.max(1, opts.concurrency ?? 1));
  try {
    const first = await pool.pair(0);
    await prepareTables(items, first.src, first.tgt, opts.runId);
    const stored = await loadPlans(first.tgt, opts.runId, items);
    const plans = layouts.map((l) => stored.get(l.spec.name) ?? []);
    let next = 0;
    const worker = async (w: number) => {
      for (let t = next++; t < layouts.length; t = next++) {
        if (plans[t].length) continue;
        const { src, tgt } = await pool.pair(w);
        plans[t] = await planChunks(layouts[t], src, tgt, opts.runId);
      }
    };
    await Promise.all(Array.from({ length: pool.size }, (_x, w) => worker(w)));
    return plans;
  } finally {
    await pool.close();
  }
}

/**
 * Tables of a run whose every planned chunk is copied, with their chunk and row counts: a caller
 * looping on `complete` (CopyData with `tables`) skips describing and planning them again.
 */
export async function copiedTables(
  target: DbEndpoint,
  runId: string,
  tables: readonly string[],
): Promise<Map<string, { chunks: number; rows: number }>> {
  const c = await connect(target, { applicationName: 'switchyard-copy' });
  try {
    const r = await c.query(
      `SELECT table_name, count(*)::int AS chunks, sum(copied_rows)::float8 AS rows FROM ${META_SCHEMA}.copy_chunks
        WHERE run_id = $1 AND table_name = ANY($2::text[]) GROUP BY table_name HAVING bool_and(copied_rows IS NOT NULL)`,
      [runId, tables],
    );
    return new Map(r.rows.map((row) => [row.table_name as string, { chunks: row.chunks, rows: Number(row.rows) }]));
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Copy every not-yet-copied chunk of a table with bounded concurrency. Resumes
 * from the checkpoints of an earlier (crashed) run with the same run id.
 */
export async function copyTable(
  layout: TableLayout,
  source: DbEndpoint,
  target: DbEndpoint,
  opts: CopyOptions,
): Promise<CopyResult> {
  const [result] = await copyTables([{ layout, chunkNos: opts.chunkNos }], source, target, opts);
  return result;
}
