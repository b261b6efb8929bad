import { type DbEndpoint, describeTablesWith, groupChunks, planTables } from '../../engine';
import { getSpec } from '../../engine/specs';
import type { PhaseDeps } from '../support/deps';
import type { CopyActionInput } from './input';

/** `copy.mode: distributed`: every table's chunks planned (stored in the target) and returned as chunk groups. */
export async function planCopy(i: CopyActionInput<'plan'>, deps: PhaseDeps, source: DbEndpoint, target: DbEndpoint) {
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
