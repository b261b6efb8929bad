import { z } from 'zod';
import {
  copiedTables,
  copyTable,
  copyTables,
  describeTablesWith,
  describeTableWith,
  groupChunks,
  planTables,
} from '../engine';
import { getSpec } from '../engine/specs';
import { COPY_CONCURRENCY, DISTRIBUTED_COPY } from '../core/limits';
import { migrationId } from './support/input';
import { METRIC } from '../core/metrics';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';
import type { PhaseDeps } from './support/deps';
import { specTable } from './support/spec-table';
import { fencedBy, fenceToken, inChunkTransaction, ownMigrateLock, raiseFences } from './support/fence';

/** Leave this much of the function's time for committing the last chunk and returning. */
const SAFETY_MS = 60_000;

const input = z.discriminatedUnion('action', [
  /**
   * Copy one table (or one chunk group of it), or several tables with one pool of `concurrency`
   * connection pairs (`tables`). The action may be left out.
   */
  z
    .object({
      action: z.literal('copy').default('copy'),
      migrationId,
      table: z.string().min(1).optional(),
      tables: z.array(z.string().min(1)).min(1).optional(),
      executionId: fencedBy,
      concurrency: z.number().int().min(COPY_CONCURRENCY.min).max(COPY_CONCURRENCY.max).default(2),
      chunkNos: z.object({ from: z.number().int().min(0), to: z.number().int().min(0) }).optional(),
    })
    .refine((i) => (i.table === undefined) !== (i.tables === undefined), {
      message: 'give either table or tables',
      path: ['table'],
    })
    .refine((i) => !(i.tables && i.chunkNos), { message: 'applies to one table only', path: ['chunkNos'] }),
  /** `copy.mode: distributed`: plan every table's chunks and return the chunk groups, one child execution each. */
  z.object({
    action: z.literal('plan'),
    migrationId,
    chunksPerItem: z
      .number()
      .int()
      .min(DISTRIBUTED_COPY.chunksPerItem.min)
      .max(DISTRIBUTED_COPY.chunksPerItem.max)
      .default(DISTRIBUTED_COPY.chunksPerItem.default),
    /** Tables planned at once (connection pairs). */
    concurrency: z.number().int().min(COPY_CONCURRENCY.min).max(COPY_CONCURRENCY.max).default(2),
  }),
]);

/**
 * `copy` (the default action): copy one table (or one chunk group), or with `tables` several tables
 * at once on one pool of `concurrency` connection pairs (small tables several per transaction;
 * returns counts only); stops before the function times out and reports `complete: false` to loop.
 *
 * `plan`: plan the chunks of every table of the spec (stored in the target, so a retry or a resumed
 * run gets the same boundaries) and return them as chunk groups `{ table, from, to }` for a
 * Distributed Map: at most DISTRIBUTED_COPY.maxItems items and maxItemsBytes of JSON (groups grow
 * to fit), groups already copied left out. Names and counts only.
 */
export const copyData = definePhase(PHASE.copyData, input, async (i, deps, context) => {
  const [source, target] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
  if (i.action === 'plan') {
    const layouts = await describeTablesWith(getSpec(deps.specName).tables, source, target, {
      concurrency: i.concurrency,
    });
    const plans = await planTables(layouts, source, target, { runId: i.migrationId, concurrency: i.concurrency });
    const tables = layouts.map((l, n) => ({ table: l.spec.name, chunks: plans[n] }));
    const groups = groupChunks(tables, { chunksPerItem: i.chunksPerItem });
    const chunks = tables.reduce((n, t) => n + t.chunks.length, 0);
    deps.log.info('copy planned', {
      tables: tables.length,
      chunks,
      items: groups.items.length,
      chunksPerItem: groups.chunksPerItem,
    });
    return {
      tables: tables.map((t) => ({
        table: t.table,
        chunks: t.chunks.length,
        chunksCopied: t.chunks.filter((c) => c.copiedRows !== null).length,
      })),
      chunks,
      chunksPerItem: groups.chunksPerItem,
      itemsAlreadyCopied: groups.alreadyCopied,
      items: groups.items,
    };
  }
  // Fenced at the start of each invocation, and checked again in every chunk's transaction before it commits.
  const fence = fenceToken(deps, await ownMigrateLock(deps, i.migrationId, i.executionId));
  await raiseFences(fence, target);
  const remaining = context?.getRemainingTimeInMillis?.();
  const t0 = deps.now();
  const opts = {
    runId: i.migrationId,
    concurrency: i.concurrency,
    deadline: remaining ? deps.now() + remaining - SAFETY_MS : undefined,
    onChunk: (p: { table: string; chunkNo: number; rows: number }) => deps.log.info('chunk copied', p),
    fence: inChunkTransaction(fence),
  };
  if (i.tables) {
    const specs = i.tables.map((t) => specTable(deps.specName, t));
    // Tables finished by an earlier invocation of this loop are neither described nor planned again.
    const done = await copiedTables(target, i.migrationId, i.tables);
    const todo = specs.filter((t) => !done.has(t.name));
    const results = [
      ...[...done].map(([table, d]) => ({
        table,
        chunks: d.chunks,
        chunksCopied: d.chunks,
        rowsCopied: 0,
        rowsTotal: d.rows,
        complete: true,
      })),
      ...(todo.length
        ? await copyTables(
            (await describeTablesWith(todo, source, target, { concurrency: i.concurrency })).map((layout) => ({
              layout,
            })),
            source,
            target,
            opts,
          )
        : []),
    ];
    recordCopyMetrics(
      deps,
      results.reduce((n, r) => n + r.rowsCopied, 0),
      t0,
    );
    // Counts only: a schema of thousands of tables must not fill the execution state.
    return {
      tables: results.length,
      tablesComplete: results.filter((r) => r.complete).length,
      chunks: results.reduce((n, r) => n + r.chunks, 0),
      chunksCopied: results.reduce((n, r) => n + r.chunksCopied, 0),
      rowsCopied: results.reduce((n, r) => n + r.rowsCopied, 0),
      rowsTotal: results.reduce((n, r) => n + r.rowsTotal, 0),
      complete: results.every((r) => r.complete),
    };
  }
  const layout = await describeTableWith(specTable(deps.specName, i.table!), source, target);
  const copied = await copyTable(layout, source, target, { ...opts, chunkNos: i.chunkNos });
  recordCopyMetrics(deps, copied.rowsCopied, t0);
  return copied;
});

/** Rows copied and the rate of this invocation, as EMF metrics flushed by definePhase. */
function recordCopyMetrics(deps: PhaseDeps, rows: number, t0: number): void {
  deps.log.metric(METRIC.rowsCopied, rows, 'Count');
  deps.log.metric(METRIC.copyRowsPerSecond, rows / Math.max(0.001, (deps.now() - t0) / 1000), 'Count/Second');
}
