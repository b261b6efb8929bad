import { ERRORS, SwitchyardError } from '../errors';

/**
 * The data-restore wait budget, in one place: the RestoreData state machine polls the restored
 * instance `maxPolls` times, `pollIntervalSeconds` apart (40 min), which leaves the rest of the
 * 1-hour budget for start, repoint, service restart, config rollback and notification.
 * docs/infrastructure.md ("Data restore budget") quotes these numbers.
 */
export const RESTORE_WAIT = { pollIntervalSeconds: 30, maxPolls: 80, budgetSeconds: 3_600 } as const;

/** Seconds RestoreData may wait for the restored instance. */
export const RESTORE_WAIT_SECONDS = RESTORE_WAIT.pollIntervalSeconds * RESTORE_WAIT.maxPolls;

/**
 * RDS instance states a restore never leaves on its own: polling them until the timeout only
 * wastes the budget. (incompatible-*: the snapshot's network, parameters, option group or
 * credentials do not fit; storage-full; inaccessible-encryption-credentials: the KMS key.)
 */
const FAILED_STATES = new Set([
  'failed',
  'incompatible-restore',
  'incompatible-parameters',
  'incompatible-network',
  'incompatible-option-group',
  'incompatible-credentials',
  'storage-full',
  'inaccessible-encryption-credentials',
  'inaccessible-encryption-credentials-recoverable',
  'restore-error',
  'deleting',
  'deleted',
]);

export type RestoreProgress = 'creating' | 'available' | 'failed';

/** Where a restore stands, from the instance's RDS status (missing = not created yet/deleted = failed). */
export function restoreProgress(status: string | undefined): RestoreProgress {
  if (status === undefined) return 'failed';
  if (status === 'available') return 'available';
  return FAILED_STATES.has(status) ? 'failed' : 'creating';
}

/** The restored instance reached a state it cannot leave: the execution ends at once. */
export class RestoreFailedError extends SwitchyardError {
  readonly name = ERRORS.RestoreFailedError;
}

/** The restore's instance id is taken by an instance that is not this migration's restore. */
export class RestoreConflictError extends SwitchyardError {
  readonly name = ERRORS.RestoreConflictError;
}
