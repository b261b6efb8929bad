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

/** After the execution's own deadline, this long for the end-of-execution cleanup (EventBridge → RollbackTraffic). */
const CLEANUP_MARGIN_SECONDS = 3600;

/**
 * The lease a renewal takes: at least the next bake and gate; with the execution's start and
 * timeout, until the execution's own deadline (+ the cleanup margin), so the lease never ends
 * while the execution may still run (its end, however it comes, releases the lock).
 */
function leaseFor(now: Date, bakeSeconds?: number, execution?: { startTime: string; timeoutSeconds: number }) {
  const step = Math.max(LEASE_SECONDS, (bakeSeconds ?? 0) + 2 * 3600);
  if (!execution) return step;
  const deadline = Date.parse(execution.startTime) + (execution.timeoutSeconds + CLEANUP_MARGIN_SECONDS) * 1000;
  return Math.max(step, Math.ceil((deadline - now.getTime()) / 1000));
}

const executionId = z.string().min(1).optional();
/** The execution's start ($$.Execution.StartTime) and its state machine's timeout: the lease runs to its deadline. */
const execution = z.object({ startTime: z.string().datetime(), timeoutSeconds: z.number().int().min(1) }).strict();

const lockInput = z.discriminatedUnion('action', [
  /** RestoreData / Decommission take the stage lock (Migrate takes it in Preflight). */
  z.object({ action: z.literal('acquire'), workflow, migrationId, executionId }).strict(),
  /**
   * Migrate, before every weight change: prove ownership, renew the lease; MigrationHaltedError when
   * halted, StaleExecutionError when this execution no longer owns the stage.
   */
  z
    .object({
      action: z.literal('check'),
      migrationId,
      executionId,
      bakeSeconds: z.number().int().min(0).optional(),
      execution: execution.optional(),
    })
    .strict(),
  /** RollbackTraffic, before moving weights: set the halt flag on whoever holds the stage. */
  z.object({ action: z.literal('halt'), migrationId: z.string(), executionId }).strict(),
  /**
   * A Migrate execution ended ABORTED, TIMED_OUT or FAILED (EventBridge): if it still holds the
   * lock it ended outside its own terminal states; halt it and hand its migration id to the rollback.
   */
  z.object({ action: z.literal('claimEnded'), executionArn: z.string().min(1), status: z.string() }).strict(),
  /** KeepOldCurrent: the migration Finalize recorded last (its reverse sync keeps the old side current). */
  z.object({ action: z.literal('completion') }).strict(),
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
      const lease = leaseFor(now, i.bakeSeconds, i.execution);
      const l = await checkHalt(deps.lock, deps.stage, i.migrationId, now, lease, i.executionId);
      return { owner: l.owner, halted: false, leaseUntil: l.leaseUntil.toISOString(), token: l.token };
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
    case 'claimEnded': {
      const held = await deps.lock.read(deps.stage);
      const ours = held?.workflow === 'migrate' && held.executionId === i.executionArn;
      deps.log.info('ended execution', { status: i.status, holdsLock: ours });
      if (!held || !ours) return { claimed: false, holder: held ? held.owner : null };
      await deps.lock.halt(deps.stage, `cleanup of ${i.status} execution ${i.executionArn}`, now);
      return { claimed: true, migrationId: held.migrationId, executionId: held.executionId };
    }
    case 'completion': {
      const c = await deps.lock.readCompletion(deps.stage);
      return c ? { migrationId: c.migrationId, finishedAt: c.finishedAt.toISOString() } : { migrationId: null };
    }
    case 'guardDecommission': {
      const holder = await deps.lock.read(deps.stage);
      assertDecommissionAllowed({
        stage: deps.stage,
        weights: await deps.router.getWeights(),
        completion: await deps.lock.readCompletion(deps.stage),
        holder: holder?.workflow === 'decommission' && holder.migrationId === i.migrationId ? undefined : holder,
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
  z.object({ action: z.literal('release'), workflow, migrationId, executionId }).strict(),
  async (i, deps) => {
    const released = await deps.lock.release(deps.stage, ownerOf(i.workflow, i.migrationId, i.executionId));
    return { released };
  },
);
