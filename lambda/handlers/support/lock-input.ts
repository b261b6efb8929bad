/** The stage lock phase's input (one action each) and the lease a renewal takes. */
import { z } from 'zod';
import { DEFAULT_STABILITY_SECONDS, LEASE_SECONDS } from '../../core/lock/lock';
import { migrationId } from './input';

export const workflow = z.enum(['migrate', 'restore-data', 'decommission']);

/** After the execution's own deadline, this long for the end-of-execution cleanup (EventBridge → RollbackTraffic). */
const CLEANUP_MARGIN_SECONDS = 3600;

/**
 * The lease a renewal takes: at least the next bake and gate; with the execution's start and
 * timeout, until the execution's own deadline (+ the cleanup margin), so the lease never ends
 * while the execution may still run (its end, however it comes, releases the lock).
 */
export function leaseFor(now: Date, bakeSeconds?: number, execution?: { startTime: string; timeoutSeconds: number }) {
  const step = Math.max(LEASE_SECONDS, (bakeSeconds ?? 0) + 2 * 3600);
  if (!execution) return step;
  const deadline = Date.parse(execution.startTime) + (execution.timeoutSeconds + CLEANUP_MARGIN_SECONDS) * 1000;
  return Math.max(step, Math.ceil((deadline - now.getTime()) / 1000));
}

export const executionId = z.string().min(1).optional();
/** The execution's start ($$.Execution.StartTime) and its state machine's timeout: the lease runs to its deadline. */
const execution = z.object({ startTime: z.string().datetime(), timeoutSeconds: z.number().int().min(1) }).strict();

export const lockInput = z.discriminatedUnion('action', [
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
