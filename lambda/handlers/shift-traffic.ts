import { z } from 'zod';
import { shiftTraffic as setWeights } from '../core/traffic/shift';
import { weightsFor } from '../core/traffic/weights';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';

/** Set the weights for one schedule step (new side gets `newPercent`), verified by read-back. */
export const shiftTraffic = definePhase(
  PHASE.shiftTraffic,
  z.object({ migrationId, newPercent: z.number().int().min(0).max(100) }),
  async (i, deps) => {
    const weights = await setWeights(deps.router, weightsFor(i.newPercent));
    deps.log.metric('NewSideWeight', weights.new, 'Percent');
    return { weights };
  },
);
