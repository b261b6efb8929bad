/**
 * The one-migration-per-stage lock: who may take it, what a running Migrate does with the
 * halt flag, and when Decommission may run. Decisions only; the store does the I/O.
 */
import type { Weights } from '../traffic/weights';
import { DecommissionRefusedError, MigrationHaltedError, MigrationLockedError, StaleExecutionError } from './errors';
import type { CompletionRecord, LockHolder, LockStore, LockWorkflow } from './ports';

/** How long a lock lives without renewal: longer than any single state (bake, snapshot poll, one copy run), renewed at every traffic step. */
export const LEASE_SECONDS = 6 * 3600;
/** How long the new side must have served 100 % before Decommission. */
export const DEFAULT_STABILITY_SECONDS = 24 * 3600;

/**
 * The lock owner of one execution: `<workflow>:<migrationId>@<execution>`. Two executions of the
 * same migration id are two owners (a stale one cannot pass for the live one). Without an
 * execution (a handler called by hand): `<workflow>:<migrationId>`.
 */
export const ownerOf = (workflow: LockWorkflow, migrationId: string, executionId?: string) =>
  `${workflow}:${migrationId}${executionId ? `@${executionId}` : ''}`;

/** True when `owner` may take the lock over `held` at `now` (free, lease ended, or its own). */
export function mayAcquire(held: LockHolder | undefined, owner: string, now: Date): boolean {
  return !held || held.leaseUntil.getTime() < now.getTime() || held.owner === owner;
}

/** "migration m-1 (migrate, execution …) since …, lease until …": identifiers and times only. */
export function describeHolder(h: LockHolder): string {
  return (
    `${h.workflow} ${h.migrationId}${h.executionId ? ` (execution ${h.executionId})` : ''} since ` +
    `${h.acquiredAt.toISOString()}, lease until ${h.leaseUntil.toISOString()}${h.halted ? ', halted' : ''}`
  );
}

const lockedError = (stage: string, h: LockHolder) =>
  new MigrationLockedError(
    `stage ${stage} is locked by ${describeHolder(h)}: wait for it to end, or roll it back; the lock frees itself when the lease ends`,
  );

export interface AcquireRequest {
  readonly stage: string;
  readonly workflow: LockWorkflow;
  readonly migrationId: string;
  readonly executionId?: string;
  readonly now: Date;
  /** @default LEASE_SECONDS */
  readonly leaseSeconds?: number;
}

/** Take the stage lock or fail fast with MigrationLockedError naming the holder. */
export async function acquireLock(store: LockStore, r: AcquireRequest): Promise<LockHolder> {
  const lock: LockHolder = {
    owner: ownerOf(r.workflow, r.migrationId, r.executionId),
    workflow: r.workflow,
    migrationId: r.migrationId,
    executionId: r.executionId,
    acquiredAt: r.now,
    leaseUntil: new Date(r.now.getTime() + (r.leaseSeconds ?? LEASE_SECONDS) * 1000),
    halted: false,
    token: await store.nextToken(r.stage),
  };
  const holder = await store.acquire(r.stage, lock, r.now);
  if (holder) throw lockedError(r.stage, holder);
  return lock;
}

/** Check only (gate dry run): fail with MigrationLockedError if someone else holds the stage. */
export async function assertLockFree(
  store: LockStore,
  stage: string,
  workflow: LockWorkflow,
  migrationId: string,
  now: Date,
): Promise<void> {
  const held = await store.read(stage);
  if (!mayAcquire(held, ownerOf(workflow, migrationId), now)) throw lockedError(stage, held!);
}

/**
 * Before every weight change: renew the lease, and stop if the halt flag is set
 * (MigrationHaltedError) or the lock is no longer ours (MigrationLockedError).
 */
export async function checkHalt(
  store: LockStore,
  stage: string,
  migrationId: string,
  now: Date,
  leaseSeconds = LEASE_SECONDS,
  executionId?: string,
): Promise<LockHolder> {
  const owner = ownerOf('migrate', migrationId, executionId);
  // Prove ownership first (lease not ended), then extend: an execution whose lease ended never revives it.
  const lock =
    (await store.fence(stage, owner, now)) &&
    (await store.renew(stage, owner, new Date(now.getTime() + leaseSeconds * 1000)));
  if (!lock) throw await staleError(store, stage, migrationId, 'stopping before it writes or moves traffic');
  if (lock.halted) {
    throw new MigrationHaltedError(
      `migration ${migrationId} was halted by traffic rollback ${lock.haltedBy ?? '(unknown)'} at ` +
        `${lock.haltedAt?.toISOString() ?? '(unknown)'}: traffic stays where the rollback put it`,
    );
  }
  return lock;
}

/** StaleExecutionError naming who holds the stage now (identifiers and times only). */
async function staleError(store: LockStore, stage: string, migrationId: string, what: string) {
  const held = await store.read(stage);
  const now = held ? `: the stage is held by ${describeHolder(held)}` : ' (released or lease ended, nobody holds it)';
  return new StaleExecutionError(
    `this execution of migration ${migrationId} no longer owns the lock of stage ${stage}${now}; ${what}. ` +
      'Nothing another execution owns was touched: follow the live execution, or start RollbackTraffic by hand',
  );
}

export interface FenceRequest {
  readonly stage: string;
  readonly workflow: LockWorkflow;
  readonly migrationId: string;
  readonly executionId: string;
  readonly now: Date;
}

/**
 * Before a write (weights, data): prove this execution still owns the stage (conditional write,
 * lease not ended) and return its fencing token; StaleExecutionError otherwise. With `halt`, a set
 * halt flag stops the write too (MigrationHaltedError): an operator's rollback moved traffic.
 */
export async function proveOwnership(store: LockStore, r: FenceRequest, halt = false): Promise<LockHolder> {
  const lock = await store.fence(r.stage, ownerOf(r.workflow, r.migrationId, r.executionId), r.now);
  if (!lock) throw await staleError(store, r.stage, r.migrationId, 'stopping before the write');
  if (halt && lock.halted) {
    throw new MigrationHaltedError(
      `migration ${r.migrationId} was halted by traffic rollback ${lock.haltedBy ?? '(unknown)'}: traffic stays where the rollback put it`,
    );
  }
  return lock;
}

/** True when an execution other than `owner` holds the stage with a live lease (its traffic is not ours to move). */
export async function heldByAnother(store: LockStore, stage: string, owner: string, now: Date) {
  const held = await store.read(stage);
  return held && held.owner !== owner && held.leaseUntil.getTime() >= now.getTime() ? held : undefined;
}

export interface DecommissionFacts {
  readonly stage: string;
  readonly weights: Weights;
  readonly completion?: CompletionRecord;
  readonly holder?: LockHolder;
  readonly now: Date;
  readonly stabilitySeconds: number;
}

/** Every reason Decommission must not run (empty: go). */
export function decommissionRefusals(f: DecommissionFacts): string[] {
  const reasons: string[] = [];
  if (f.weights.new !== 100 || f.weights.old !== 0)
    reasons.push(`the new side serves ${f.weights.new} % (old ${f.weights.old} %), not 100 %`);
  if (!f.completion) reasons.push(`no finished migration is recorded for stage ${f.stage}`);
  else {
    const servedSeconds = Math.floor((f.now.getTime() - f.completion.finishedAt.getTime()) / 1000);
    if (servedSeconds < f.stabilitySeconds) {
      reasons.push(
        `migration ${f.completion.migrationId} finished at ${f.completion.finishedAt.toISOString()}: ` +
          `${servedSeconds} s at 100 % new, the stability period is ${f.stabilitySeconds} s`,
      );
    }
  }
  if (f.holder && f.holder.leaseUntil.getTime() >= f.now.getTime())
    reasons.push(`the stage is locked by ${describeHolder(f.holder)}`);
  return reasons;
}

export function assertDecommissionAllowed(f: DecommissionFacts): void {
  const reasons = decommissionRefusals(f);
  if (reasons.length)
    throw new DecommissionRefusedError(`Decommission of stage ${f.stage} refused: ${reasons.join('; ')}`);
}
