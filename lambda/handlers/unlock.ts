import { z } from 'zod';
import { ownerOf } from '../core/lock/lock';
import { PHASE } from '../phases';
import { executionId, workflow } from './support/lock-input';
import { migrationId } from './support/input';
import { definePhase } from './support/phase';

/** Release the stage lock; only its owner's lock is deleted (a failed acquire never frees someone else's). */
export const unlock = definePhase(
  PHASE.unlock,
  z.object({ action: z.literal('release'), workflow, migrationId, executionId }).strict(),
  async (i, deps) => {
    const released = await deps.lock.release(deps.stage, ownerOf(i.workflow, i.migrationId, i.executionId));
    return { released };
  },
);
