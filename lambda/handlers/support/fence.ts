/**
 * Fencing for the phases that write data or move traffic: the state machine passes its execution
 * id (`$$.Execution.Id`); the phase proves the execution still owns the stage lock before it
 * writes (DynamoDB conditional write), and the sync compares the lock's token inside each apply
 * transaction on the destination. Without an execution id (a handler run by hand, the operator's
 * RollbackTraffic) nothing is fenced.
 */
import { z } from 'zod';
import { proveOwnership } from '../../core/lock/lock';
import type { LockHolder } from '../../core/lock/ports';
import type { DbEndpoint } from '../../engine/db';
import { assertFence, assertFenceShared, type FenceToken, raiseFence } from '../../engine/sync';
import type { PhaseDeps } from './deps';

/** The Migrate execution a phase runs for (its lock owner). */
export const fencedBy = z.string().min(1).optional();

/** The Migrate lock of this execution (token, halt flag), proven now; undefined when not fenced. */
export async function ownMigrateLock(
  deps: PhaseDeps,
  migrationId: string,
  executionId: string | undefined,
  opts: { halt?: boolean } = {},
): Promise<LockHolder | undefined> {
  if (!executionId) return undefined;
  const now = new Date(deps.now());
  return proveOwnership(
    deps.lock,
    { stage: deps.stage, workflow: 'migrate', migrationId, executionId, now },
    opts.halt,
  );
}

/** The token the destination databases compare (a lock stored without one fences by ownership only). */
export const fenceToken = (deps: PhaseDeps, lock: LockHolder | undefined): FenceToken | undefined =>
  lock?.token !== undefined ? { stage: deps.stage, token: lock.token } : undefined;

/** Raise the fence on each destination to this execution's token (a stale execution fails here). */
export async function raiseFences(fence: FenceToken | undefined, ...dbs: DbEndpoint[]): Promise<void> {
  if (fence) for (const db of dbs) await raiseFence(db, fence);
}

/** The check each apply transaction runs before it commits. */
export const inTransaction = (fence: FenceToken | undefined) =>
  fence ? (c: Parameters<typeof assertFence>[0]) => assertFence(c, fence) : undefined;

/** The check each copy chunk's transaction runs before it commits (shared: chunks commit side by side). */
export const inChunkTransaction = (fence: FenceToken | undefined) =>
  fence ? (c: Parameters<typeof assertFenceShared>[0]) => assertFenceShared(c, fence) : undefined;
