import {
  copiedTables,
  copyTable,
  copyTables,
  type DbEndpoint,
  describeTablesWith,
  describeTableWith,
} from '../../engine';
import { METRIC } from '../../core/metrics';
import type { PhaseDeps } from '../support/deps';
import { fenceToken, inChunkTransaction, ownMigrateLock, raiseFences } from '../support/fence';
import type { InvocationContext } from '../support/phase';
import { specTable } from '../support/spec-table';
import { type CopyActionInput, SAFETY_MS } from './input';

/** Copy one table (or chunk group), or several tables on one pool; `complete: false` when the time ran out. */
export async function copyAction(
  i: CopyActionInput<'copy'>,
  deps: PhaseDeps,
  context: InvocationContext | undefined,
  source: DbEndpoint,
  target: DbEndpoint,
) {
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
}

/** Rows copied and the rate of this invocation, as EMF metrics flushed by definePhase. */
function recordCopyMetrics(deps: PhaseDeps, rows: number, t0: number): void {
  deps.log.metric(METRIC.rowsCopied, rows, 'Count');
  deps.log.metric(METRIC.copyRowsPerSecond, rows / Math.max(0.001, (deps.now() - t0) / 1000), 'Count/Second');
}
