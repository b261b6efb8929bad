import { z } from 'zod';
import { catchUp as catchUpTable, describeTableWith } from '../engine';
import { getSpec } from '../engine/specs';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';

/** One catch-up pass over every table with a watermark; returns the new watermarks and the worst lag. */
export const catchUp = definePhase(PHASE.catchUp,
  z.object({ migrationId, watermarks: z.record(z.string(), z.string().nullable()), overlapSeconds: z.number().min(0).default(5) }),
  async (i, deps) => {
    const [source, target] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
    const spec = getSpec(deps.specName);
    const watermarks: Record<string, string | null> = { ...i.watermarks };
    let rowsUpserted = 0;
    let maxLagSeconds = 0;
    for (const t of spec.tables.filter((x) => x.watermark)) {
      const r = await catchUpTable(await describeTableWith(t, source, target), source, target, { since: watermarks[t.name] ?? null, overlapSeconds: i.overlapSeconds });
      watermarks[t.name] = r.watermark;
      rowsUpserted += r.rowsUpserted;
      if (r.lagUnit === 'seconds') maxLagSeconds = Math.max(maxLagSeconds, r.lag);
    }
    deps.log.metric('CatchUpLagSeconds', maxLagSeconds, 'Seconds');
    return { watermarks, rowsUpserted, maxLagSeconds };
  },
);


