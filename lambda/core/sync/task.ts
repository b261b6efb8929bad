/**
 * The long-running sync task (stage config `sync.runner: ecs`): one process runs the continuous
 * sync (both directions once the reverse capture exists) until it is stopped. The workflow starts
 * it, observes it and stops it before any bounded run needs the slot. Pure: the ECS adapter and the
 * local in-process runner implement the port.
 */
import { ERRORS, SwitchyardError } from '../errors';

export type SyncTaskDirection = 'forward' | 'reverse';

/** What one task runs: identifiers and flags only (never a secret or row value). */
export interface SyncTaskSpec {
  readonly migrationId: string;
  /** The Migrate execution it runs for (its lock owner); the fence token its apply transactions check. */
  readonly executionId?: string;
  readonly fenceToken?: number;
  readonly directions: readonly SyncTaskDirection[];
  /** Later-commit-wins conflict detection (off for the catch-up after the copy). */
  readonly conflicts: boolean;
}

export interface SyncTaskState {
  readonly taskArn: string;
  readonly running: boolean;
  /** Why it stopped (the runner's reason, the exit code): no values. */
  readonly stoppedReason?: string;
}

/** Starts, reads and stops a migration's sync task. */
export interface SyncTaskRunner {
  /** Where tasks run (for the messages). */
  readonly description: string;
  start(spec: SyncTaskSpec): Promise<{ taskArn: string }>;
  status(taskArn: string): Promise<SyncTaskState>;
  /** Stop every task of this migration that is not stopped yet, and wait until each is; the ARNs stopped. */
  stopAll(migrationId: string): Promise<string[]>;
}

/** The task the workflow counted on is not running (crashed, killed, stopped by someone else). */
export class SyncTaskStoppedError extends SwitchyardError {
  readonly name = ERRORS.SyncTaskStoppedError;
}

/** A stopped task did not reach STOPPED in time: it may still hold the slot. */
export class SyncTaskStopTimeoutError extends SwitchyardError {
  readonly name = ERRORS.SyncTaskStopTimeoutError;
}

/** ECS `startedBy` is at most 36 characters: the migration id, or its start and a hash when longer. */
export const STARTED_BY_MAX = 36;

export function syncTaskStartedBy(migrationId: string): string {
  if (migrationId.length <= STARTED_BY_MAX) return migrationId;
  let h = 0x811c9dc5;
  for (const ch of migrationId) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `${migrationId.slice(0, STARTED_BY_MAX - 9)}-${h.toString(16).padStart(8, '0')}`;
}

export function stoppedMessage(migrationId: string, s: SyncTaskState): string {
  return (
    `the sync task ${s.taskArn} of migration ${migrationId} is not running (${s.stoppedReason ?? 'stopped'}): ` +
    'its log group says why. Nothing applied is lost (each batch commits with its position); the captures ' +
    'keep every change not applied yet'
  );
}
