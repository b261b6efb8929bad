import { z } from 'zod';
import { METRIC } from '../core/metrics';
import { shiftTraffic as setWeights } from '../core/traffic/shift';
import { weightsFor } from '../core/traffic/weights';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';
import { fencedBy, ownMigrateLock } from './support/fence';

/**
 * Set the weights for one schedule step (new side gets `newPercent`), verified by read-back. Fenced:
 * the execution proves it still owns the stage (lease live, not halted) in the same call, right
 * before the weights change; a stale one stops with StaleExecutionError and moves nothing.
 */
export const shiftTraffic = definePhase(
  PHASE.shiftTraffic,
  z.object({ migrationId, executionId: fencedBy, newPercent: z.number().int().min(0).max(100) }),
  async (i, deps) => {
    await ownMigrateLock(deps, i.migrationId, i.executionId, { halt: true });
    const weights = await setWeights(deps.router, weightsFor(i.newPercent));
    deps.log.metric(METRIC.newSideWeight, weights.new, 'Percent');
    return { weights };
  },
);
