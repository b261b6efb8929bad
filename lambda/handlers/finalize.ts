import { z } from 'zod';
import { sameWeights, weightsFor } from '../core/traffic/weights';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';
import { fencedBy, ownMigrateLock } from './support/fence';
import { ERRORS, SwitchyardError } from '../core/errors';

export class NotFullyShiftedError extends SwitchyardError {
  readonly name = ERRORS.NotFullyShiftedError;
}

/** Finalize: confirm all traffic is on the new side. */
export const finalize = definePhase(
  PHASE.finalize,
  z.object({ migrationId, executionId: fencedBy }),
  async (i, deps) => {
    await ownMigrateLock(deps, i.migrationId, i.executionId);
    const w = await deps.router.getWeights();
    if (!sameWeights(w, weightsFor(100)))
      throw new NotFullyShiftedError(`${deps.router.description} is at old ${w.old} / new ${w.new}, not 0 / 100`);
    const finishedAt = new Date(deps.now());
    // Decommission's stability period counts from here.
    await deps.lock.recordCompletion(deps.stage, { migrationId: i.migrationId, finishedAt });
    return { migrationId: i.migrationId, weights: w, finishedAt: finishedAt.toISOString() };
  },
);
