import { z } from 'zod';
import { prepareTarget as prepareTargetSchema } from '../engine';
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
 */
export const prepareTarget = definePhase(
  PHASE.prepareTarget,
  z.object({ migrationId, deferIndexes: z.boolean().default(false) }),
  async (i, deps) => {
    const spec = getSpec(deps.specName);
    const [source, target] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
    const result = await prepareTargetSchema(spec, source, target, { deferIndexes: i.deferIndexes });
    return { ...result, tables: spec.tables.map((t) => t.name) };
  },
);
