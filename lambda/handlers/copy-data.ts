import { z } from 'zod';
import { copyTable, describeTableWith, groupChunks, planTableChunks } from '../engine';
import { getSpec } from '../engine/specs';
import { COPY_CONCURRENCY, DISTRIBUTED_COPY } from '../core/limits';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';
import { specTable } from './support/spec-table';
import { fencedBy, fenceToken, ownMigrateLock, raiseFences } from './support/fence';

/** Leave this much of the function's time for committing the last chunk and returning. */
const SAFETY_MS = 60_000;

const input = z.discriminatedUnion('action', [
  /** Copy one table (or one chunk group of it). The action may be left out. */
  z.object({
    action: z.literal('copy').default('copy'),
    migrationId,
    table: z.string().min(1),
    executionId: fencedBy,
    concurrency: z.number().int().min(COPY_CONCURRENCY.min).max(COPY_CONCURRENCY.max).default(2),
    chunkNos: z.object({ from: z.number().int().min(0), to: z.number().int().min(0) }).optional(),
  }),
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
  }),
]);

/**
 * `copy` (the default action): copy one table (or one chunk group); stops before the function
 * times out and reports `complete: false` to loop.
 *
 * `plan`: plan the chunks of every table of the spec (stored in the target, so a retry or a resumed
 * run gets the same boundaries) and return them as chunk groups `{ table, from, to }` for a
 * Distributed Map: at most DISTRIBUTED_COPY.maxItems items and maxItemsBytes of JSON (groups grow
 * to fit), groups already copied left out. Names and counts only.
 */
export const copyData = definePhase(PHASE.copyData, input, async (i, deps, context) => {
  const [source, target] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
  if (i.action === 'plan') {
    const tables = [];
    for (const t of getSpec(deps.specName).tables) {
      tables.push({
        table: t.name,
        chunks: await planTableChunks(await describeTableWith(t, source, target), source, target, i.migrationId),
      });
    }
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
  // Fenced at the start of each invocation (the window: one invocation's chunks, before the sync's per-transaction check).
  await raiseFences(fenceToken(deps, await ownMigrateLock(deps, i.migrationId, i.executionId)), target);
  const layout = await describeTableWith(specTable(deps.specName, i.table), source, target);
  const remaining = context?.getRemainingTimeInMillis?.();
  return copyTable(layout, source, target, {
    runId: i.migrationId,
    concurrency: i.concurrency,
    chunkNos: i.chunkNos,
    deadline: remaining ? deps.now() + remaining - SAFETY_MS : undefined,
    onChunk: (p) => deps.log.info('chunk copied', p),
  });
});
