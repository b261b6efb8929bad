import { z } from 'zod';
import { COPY_CONCURRENCY, DISTRIBUTED_COPY } from '../../core/limits';
import { fencedBy } from '../support/fence';
import { migrationId } from '../support/input';

/** Leave this much of the function's time for committing the last chunk and returning. */
export const SAFETY_MS = 60_000;

/** The copy phase's input: `copy` (default) or `plan`. */
export const input = z.discriminatedUnion('action', [
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

export type CopyDataInput = z.infer<typeof input>;
export type CopyActionInput<A extends CopyDataInput['action']> = Extract<CopyDataInput, { action: A }>;
