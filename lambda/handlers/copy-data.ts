import { z } from 'zod';
import { copyTable, describeTableWith } from '../engine';
import { COPY_CONCURRENCY } from '../core/limits';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';
import { specTable } from './support/spec-table';

/** Leave this much of the function's time for committing the last chunk and returning. */
const SAFETY_MS = 60_000;

/** Copy one table (or one chunk group); stops before the function times out and reports `complete: false` to loop. */
export const copyData = definePhase(PHASE.copyData,
  z.object({
    migrationId,
    table: z.string().min(1),
    concurrency: z.number().int().min(COPY_CONCURRENCY.min).max(COPY_CONCURRENCY.max).default(2),
    chunkNos: z.object({ from: z.number().int().min(0), to: z.number().int().min(0) }).optional(),
  }),
  async (i, deps, context) => {
    const [source, target] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
    const layout = await describeTableWith(specTable(deps.specName, i.table), source, target);
    const remaining = context?.getRemainingTimeInMillis?.();
    const r = await copyTable(layout, source, target, {
      runId: i.migrationId,
      concurrency: i.concurrency,
      chunkNos: i.chunkNos,
      deadline: remaining ? deps.now() + remaining - SAFETY_MS : undefined,
      onChunk: (p) => deps.log.info('chunk copied', p),
    });
    return r;
  },
);


