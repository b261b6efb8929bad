import { z } from 'zod';
import { METRIC } from '../core/metrics';
import { heldByAnother, ownerOf } from '../core/lock/lock';
import { StaleExecutionError } from '../core/lock/errors';
import { describeHolder } from '../core/lock/lock';
import { rollbackTraffic as rollbackWeights } from '../core/traffic/shift';
import { PHASE } from '../phases';
import { fencedBy } from './support/fence';
import { definePhase } from './support/phase';

/**
 * 100 % old in one call from any state, verified, timed. Any migration id is accepted (a mistyped
 * one in an emergency still gets traffic back: the weights do not depend on it). With `executionId`
 * (a Migrate's own rollback on failure) it refuses, StaleExecutionError, when another execution
 * holds the stage with a live lease: that traffic is not this execution's to move.
 */
export const rollbackTraffic = definePhase(
  PHASE.rollbackTraffic,
  z.object({ migrationId: z.unknown().optional(), executionId: fencedBy }),
  async (i, deps) => {
    if (i.executionId) {
      const id = String(i.migrationId);
      const other = await heldByAnother(
        deps.lock,
        deps.stage,
        ownerOf('migrate', id, i.executionId),
        new Date(deps.now()),
      );
      if (other) {
        throw new StaleExecutionError(
          `this execution of migration ${id} no longer owns stage ${deps.stage} (held by ${describeHolder(other)}): ` +
            'its traffic is left where the live execution put it',
        );
      }
    }
    const r = await rollbackWeights(deps.router, deps.now);
    deps.log.metric(METRIC.newSideWeight, r.weights.new, 'Percent');
    deps.log.metric(METRIC.trafficRollbackMs, r.elapsedMs, 'Milliseconds');
    return r;
  },
);
