import { z } from 'zod';
import { rollbackTraffic } from '../core/traffic/shift';
import { migrationId } from './support/input';
import { definePhase } from './support/phase';

/** 100 % old in one call from any state, verified, timed. */
export const rollback = definePhase('RollbackTraffic', z.object({ migrationId }), async (_i, deps) => {
  const r = await rollbackTraffic(deps.router, deps.now);
  deps.log.metric('NewSideWeight', r.weights.new, 'Percent');
  deps.log.metric('TrafficRollbackMs', r.elapsedMs, 'Milliseconds');
  return r;
});

export const handler = rollback.handler;
