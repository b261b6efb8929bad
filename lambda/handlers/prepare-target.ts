import { z } from 'zod';
import { prepareTarget as prepareTargetSchema } from '../engine';
import { checkReverseMappings, roundTripCheck } from '../engine/sync';
import { getSpec } from '../engine/specs';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';

/**
 * Apply the target DDL idempotently (in the spec's target schema), check the schema and the
 * column types (LossyTypeError on a narrowing), before any copy (the change capture that keeps the
 * copy current is the sync phase's). `deferIndexes: true` drops secondary indexes and FK/unique constraints of
 * the empty target tables for the bulk load: only a workflow that runs `buildDeferredIndexes`
 * after the copy (before validation and cut-over) may pass it.
 *
 * Rollback safety is checked here, before anything is copied: every table's forward mapping must be
 * invertible or declare `reverse` / `forwardOnly` (ReverseMappingMissingError, nothing touched),
 * and a sample of old-side rows is sent forward then back (read-only, in SQL): the columns that do
 * not come back unchanged are named in `roundTrip` and logged — what a rollback through the reverse
 * sync would change in the old database.
 */
export const prepareTarget = definePhase(
  PHASE.prepareTarget,
  z.object({
    migrationId,
    deferIndexes: z.boolean().default(false),
    roundTripSample: z.number().int().min(1).max(100_000).default(1_000),
  }),
  async (i, deps) => {
    const spec = getSpec(deps.specName);
    checkReverseMappings(spec);
    const [source, target] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
    const result = await prepareTargetSchema(spec, source, target, { deferIndexes: i.deferIndexes });
    if (result.warnings?.length)
      deps.log.warn('key collations differ between the two sides', { warnings: result.warnings });
    const roundTrip = (await roundTripCheck(spec, source, target, { sample: i.roundTripSample })).map((r) => ({
      table: r.table,
      sampled: r.sampled,
      notSurviving: r.notSurviving,
      notWritten: r.notWritten,
    }));
    const lossy = roundTrip.filter((r) => r.notSurviving.length > 0);
    if (lossy.length > 0) {
      deps.log.warn(
        'round trip: these old-side columns do not survive forward then reverse; a rollback would change them',
        {
          columns: lossy.flatMap((r) => r.notSurviving.map((c) => `${r.table}.${c}`)),
        },
      );
    }
    return { ...result, tables: spec.tables.map((t) => t.name), roundTrip };
  },
);
