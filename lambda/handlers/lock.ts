import { z } from 'zod';
import {
  acquireLock,
  assertDecommissionAllowed,
  checkHalt,
  DEFAULT_STABILITY_SECONDS,
  LEASE_SECONDS,
  ownerOf,
} from '../core/lock/lock';
import { PHASE } from '../phases';
import { migrationId } from './support/input';
import { definePhase } from './support/phase';

const workflow = z.enum(['migrate', 'restore-data', 'decommission']);

/** The lease a traffic step needs: the next renewal comes after the bake and the gate. */
const leaseFor = (bakeSeconds?: number) => Math.max(LEASE_SECONDS, (bakeSeconds ?? 0) + 2 * 3600);

const lockInput = z.discriminatedUnion('action', [
  /** RestoreData / Decommission take the stage lock (Migrate takes it in Preflight). */
  z.object({ action: z.literal('acquire'), workflow, migrationId, executionId: z.string().optional() }).strict(),
  /** Migrate, before every weight change: renew the lease; MigrationHaltedError when halted. */
  z.object({ action: z.literal('check'), migrationId, bakeSeconds: z.number().int().min(0).optional() }).strict(),
  /** RollbackTraffic, before moving weights: set the halt flag on whoever holds the stage. */
  z.object({ action: z.literal('halt'), migrationId, executionId: z.string().optional() }).strict(),
  /** Decommission: 100 % new for the stability period and nobody holds the stage. */
  z
    .object({
      action: z.literal('guardDecommission'),
      migrationId,
      stabilitySeconds: z.number().int().min(0).default(DEFAULT_STABILITY_SECONDS),
    })
    .strict(),
]);

/** The stage lock's decisions (never retried: a held lock or a set halt flag is an answer, not a glitch). */
export const lock = definePhase(PHASE.lock, lockInput, async (i, deps) => {
  const now = new Date(deps.now());
  switch (i.action) {
    case 'acquire': {
      const l = await acquireLock(deps.lock, {
        stage: deps.stage,
        workflow: i.workflow,
        migrationId: i.migrationId,
        executionId: i.executionId,
        now,
      });
      return { owner: l.owner, leaseUntil: l.leaseUntil.toISOString() };
    }
    case 'check': {
      const l = await checkHalt(deps.lock, deps.stage, i.migrationId, now, leaseFor(i.bakeSeconds));
      return { owner: l.owner, halted: false, leaseUntil: l.leaseUntil.toISOString() };
    }
    case 'halt': {
      const by = i.executionId ? `${i.migrationId} (execution ${i.executionId})` : i.migrationId;
      const held = await deps.lock.halt(deps.stage, by, now);
      deps.log.info('halt flag', { set: Boolean(held), holder: held?.owner });
      return {
        halted: Boolean(held),
        holder: held ? { migrationId: held.migrationId, workflow: held.workflow } : null,
      };
    }
    case 'guardDecommission': {
      const holder = await deps.lock.read(deps.stage);
      assertDecommissionAllowed({
        stage: deps.stage,
        weights: await deps.router.getWeights(),
        completion: await deps.lock.readCompletion(deps.stage),
        holder: holder?.owner === ownerOf('decommission', i.migrationId) ? undefined : holder,
        now,
        stabilitySeconds: i.stabilitySeconds,
      });
      return { allowed: true };
    }
  }
});

/** Release the stage lock; only its owner's lock is deleted (a failed acquire never frees someone else's). */
export const unlock = definePhase(
  PHASE.unlock,
  z.object({ action: z.literal('release'), workflow, migrationId }).strict(),
  async (i, deps) => {
    const released = await deps.lock.release(deps.stage, ownerOf(i.workflow, i.migrationId));
    return { released };
  },
);
