import { z } from 'zod';
import { buildDeferredIndexes } from '../engine';
import { getSpec } from '../engine/specs';
import { COPY_CONCURRENCY } from '../core/limits';
import { PHASE } from '../phases';
import { migrationId } from './support/input';
import { definePhase } from './support/phase';

/**
 * After the bulk copy: recreate the secondary indexes and constraints PrepareTarget deferred
 * (indexes in parallel, then constraints, then ANALYZE). Idempotent: a retried state finishes what
 * is left. The sync applies by primary key, which is never deferred.
 */
export const buildIndexes = definePhase(
  PHASE.buildIndexes,
  z.object({
    migrationId,
    concurrency: z.number().int().min(COPY_CONCURRENCY.min).max(COPY_CONCURRENCY.max).default(2),
  }),
  async (i, deps) => {
    const r = await buildDeferredIndexes(getSpec(deps.specName), await deps.targetDb(), { concurrency: i.concurrency });
    deps.log.metric('IndexBuildSeconds', r.seconds, 'Seconds');
    return {
      seconds: r.seconds,
      built: r.built.map((b) => ({ relation: b.relation, name: b.name, kind: b.kind, seconds: b.seconds })),
      pending: r.pending,
    };
  },
);
