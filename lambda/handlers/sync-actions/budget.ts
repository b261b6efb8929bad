import type { Direction, SyncRunResult } from '../../engine/sync';
import type { PhaseDeps } from '../support/deps';
import type { InvocationContext } from '../support/phase';

/** Leave this much of the function's time for the last commit and the return. */
export const SAFETY_MS = 30_000;
/** One bounded run never exceeds this (a Lambda invocation is at most 15 minutes). */
export const MAX_RUN_MS = 10 * 60_000;

/** Names, counts, LSNs and lag only: never row data. */
export function summary(r: SyncRunResult) {
  return {
    direction: r.direction,
    transactions: r.transactions,
    changes: r.inserted + r.updated + r.deleted,
    inserted: r.inserted,
    updated: r.updated,
    deleted: r.deleted,
    conflicts: r.conflicts,
    appliedLsn: r.appliedLsn,
    sourceLsn: r.sourceLsn,
    lagBytes: r.lagBytes,
    lagSeconds: r.lagSeconds,
    caughtUp: r.caughtUp,
  };
}

export async function endpoints(deps: PhaseDeps, d: Direction) {
  const [old, neu] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
  return d === 'forward' ? { source: old, target: neu, old, neu } : { source: neu, target: old, old, neu };
}

/** What is left of this invocation (ms); outside Lambda, one full run and its margin. */
const remainingMs = (context: InvocationContext | undefined) =>
  context?.getRemainingTimeInMillis?.() ?? MAX_RUN_MS + SAFETY_MS;

export function budgetMs(context: InvocationContext | undefined, wantMs: number): number {
  const left = remainingMs(context);
  return Math.max(1_000, Math.min(wantMs, left - SAFETY_MS, MAX_RUN_MS));
}

/**
 * How long a run of this invocation may take at most, from now: half the safety margin before
 * Lambda ends it. Reached inside a source transaction, the run fails with
 * TransactionTooLargeError instead of being killed there (a retry would start it over).
 */
export function hardDeadlineMs(context: InvocationContext | undefined): number {
  const left = remainingMs(context);
  return Math.max(1_000, left - SAFETY_MS / 2);
}
