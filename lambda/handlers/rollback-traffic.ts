import { z } from 'zod';
import { rollbackTraffic as rollbackWeights } from '../core/traffic/shift';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';

/** 100 % old in one call from any state, verified, timed. */
export const rollbackTraffic = definePhase(PHASE.rollbackTraffic, z.object({ migrationId }), async (_i, deps) => {
  const r = await rollbackWeights(deps.router, deps.now);
  deps.log.metric('NewSideWeight', r.weights.new, 'Percent');
  deps.log.metric('TrafficRollbackMs', r.elapsedMs, 'Milliseconds');
  return r;
});
