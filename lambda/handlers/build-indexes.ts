import { z } from 'zod';
import { buildDeferredIndexes } from '../engine';
import { getSpec } from '../engine/specs';
import { COPY_CONCURRENCY } from '../core/limits';
import { METRIC } from '../core/metrics';
import { PHASE } from '../phases';
import { migrationId } from './support/input';
import { definePhase } from './support/phase';

/**
 * Recreate what PrepareTarget deferred for the bulk copy (then ANALYZE). Migrate calls it twice:
 * `what: 'indexes'` after the copy (BuildIndexes: the plain indexes), and `what: 'constraints'`
 * once the forward sync has caught up (ValidateConstraints: foreign keys, unique constraints and
 * unique indexes, which writes during the copy may break until the sync applies the rest).
 * Idempotent: a retried state finishes what is left. The sync applies by primary key, never deferred.
 */
export const buildIndexes = definePhase(
  PHASE.buildIndexes,
  z.object({
    migrationId,
    concurrency: z.number().int().min(COPY_CONCURRENCY.min).max(COPY_CONCURRENCY.max).default(2),
    what: z.enum(['indexes', 'constraints', 'all']).default('all'),
  }),
  async (i, deps) => {
    const r = await buildDeferredIndexes(getSpec(deps.specName), await deps.targetDb(), {
      concurrency: i.concurrency,
      what: i.what,
    });
    deps.log.metric(METRIC.indexBuildSeconds, r.seconds, 'Seconds');
    return {
      what: i.what,
      seconds: r.seconds,
      built: r.built.map((b) => ({ relation: b.relation, name: b.name, kind: b.kind, seconds: b.seconds })),
      pending: r.pending,
    };
  },
);
