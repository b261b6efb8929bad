import { z } from 'zod';
import { captureWatermark, describeTableWith, prepareTarget as prepareTargetSchema } from '../engine';
import { getSpec } from '../engine/specs';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';

/** Apply the target DDL idempotently, check the schema, and capture each table's catch-up watermark before any copy. */
export const prepareTarget = definePhase(PHASE.prepareTarget, z.object({ migrationId }), async (_i, deps) => {
  const spec = getSpec(deps.specName);
  const [source, target] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
  const result = await prepareTargetSchema(spec, source, target);
  const watermarks: Record<string, string | null> = {};
  for (const t of spec.tables) watermarks[t.name] = await captureWatermark(await describeTableWith(t, source, target), source);
  return { ...result, tables: spec.tables.map((t) => t.name), watermarks };
});


