import { z } from 'zod';
import { shiftTraffic } from '../core/traffic/shift';
import { weightsFor } from '../core/traffic/weights';
import { migrationId } from './support/input';
import { definePhase } from './support/phase';

/** Set the weights for one schedule step (new side gets `newPercent`), verified by read-back. */
export const shift = definePhase('ShiftTraffic', z.object({ migrationId, newPercent: z.number().int().min(0).max(100) }), async (i, deps) => {
  const weights = await shiftTraffic(deps.router, weightsFor(i.newPercent));
  deps.log.metric('NewSideWeight', weights.new, 'Percent');
  return { weights };
});

export const handler = shift.handler;
