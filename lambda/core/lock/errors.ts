import { ERRORS, SwitchyardError } from '../errors';

/** Another migration, restore or decommission holds the stage: names the holder, never retried. */
export class MigrationLockedError extends SwitchyardError {
  readonly name = ERRORS.MigrationLockedError;
}

/** An operator rolled traffic back (halt flag set): the migration ends as rolled back. */
export class MigrationHaltedError extends SwitchyardError {
  readonly name = ERRORS.MigrationHaltedError;
}

/** Decommission was refused: the new side has not served 100 % long enough, or the stage is locked. */
export class DecommissionRefusedError extends SwitchyardError {
  readonly name = ERRORS.DecommissionRefusedError;
}

/**
 * This execution no longer owns the stage lock (its lease ended, or another execution took the
 * stage): it stops before writing data or moving traffic, and touches nothing another execution owns.
 */
export class StaleExecutionError extends SwitchyardError {
  readonly name = ERRORS.StaleExecutionError;
}
