import { ERRORS } from '../../core/errors';
import { SwitchyardError } from '../../core/errors';
import { DataEngineError, describe, isTransientDbError, sqlState } from '../errors';

/**
 * Named errors of change capture. Messages name the table, key columns, slot and LSN,
 * and say what the operator does next; never a row value or a credential.
 */

/** The source cannot do logical decoding for this login (wal_level, REPLICATION, table ownership, free slots). */
export class ReplicationNotConfiguredError extends DataEngineError {
  readonly name = ERRORS.ReplicationNotConfiguredError;
}

/** A drain named a migration id without a capture while other migrations' captures exist on that side. */
export class UnknownMigrationIdError extends DataEngineError {
  readonly name = ERRORS.UnknownMigrationIdError;
}

/** The slot is gone but its publication is not: the source failed over (or was promoted or restored). */
export class SourceFailoverError extends DataEngineError {
  readonly name = ERRORS.SourceFailoverError;
}

/** The slot this run reads from does not exist (dropped, or never created). */
export class ReplicationSlotMissingError extends DataEngineError {
  readonly name = ERRORS.ReplicationSlotMissingError;
}

/** The slot lost the WAL it needs (wal_status = lost) or conflicts: changes are gone for good. */
export class ReplicationSlotInvalidatedError extends DataEngineError {
  readonly name = ERRORS.ReplicationSlotInvalidatedError;
}

/** Another applier streams the slot (SQLSTATE 55006) and kept it past the wait: it applies these changes. */
export class ReplicationSlotActiveError extends DataEngineError {
  readonly name = ERRORS.ReplicationSlotActiveError;
}

/** A change the engine cannot apply faithfully (TRUNCATE, streamed transactions, unknown message). Nothing after it was applied. */
export class UnsupportedChangeError extends DataEngineError {
  readonly name = ERRORS.UnsupportedChangeError;
}

/** The sync did not catch up within its bound. */
export class SyncLagError extends DataEngineError {
  readonly name = ERRORS.SyncLagError;
}

/** A spec table has neither a primary key nor REPLICA IDENTITY FULL/INDEX: publishing it would break its UPDATE/DELETE. */
export class ReplicaIdentityMissingError extends DataEngineError {
  readonly name = ERRORS.ReplicaIdentityMissingError;
}

/** A table's forward mapping cannot be inverted and the spec declares neither `reverse` nor `forwardOnly`. */
export class ReverseMappingMissingError extends DataEngineError {
  readonly name = ERRORS.ReverseMappingMissingError;
}

/**
 * A bounded run reached its hard deadline inside one source transaction: the invocation would be
 * killed before that transaction's commit, and every retry would start it again from its
 * beginning. Everything committed before it is applied; nothing of it is.
 */
export class TransactionTooLargeError extends DataEngineError {
  readonly name = ERRORS.TransactionTooLargeError;
}

/** The conflict rule needs commit timestamps (track_commit_timestamp = on) on the destination. */
export class CommitTimestampsOffError extends DataEngineError {
  readonly name = ERRORS.CommitTimestampsOffError;
}

/** `sync` refuses to copy into a target table that already has rows (unless resuming). */
export class SyncTargetNotEmptyError extends DataEngineError {
  readonly name = ERRORS.SyncTargetNotEmptyError;
}

/** The applier lock of a slot stayed held by a live session (or one of another role) beyond the bounded wait (applier-lock.ts). */
export class ApplierLockTimeoutError extends DataEngineError {
  readonly name = ERRORS.ApplierLockTimeoutError;
}

/**
 * The destination refused a batch (a constraint, a value its column or a trigger rejects, a
 * permission): the destination transaction rolled back and the slot did not move, so nothing is
 * lost; the same batch fails the same way until the cause is fixed. Names the table, column and
 * constraint PostgreSQL reports, and its redacted message: never a row value.
 */
export class SyncApplyError extends DataEngineError {
  readonly name = ERRORS.SyncApplyError;
}

/**
 * What a failed sync batch throws: named errors and connection failures (retried as transient by
 * the phase) unchanged; any other PostgreSQL error as SyncApplyError, its message redacted.
 */
export function syncFailure(e: unknown, slot: string): unknown {
  if (e instanceof SwitchyardError || !sqlState(e) || isTransientDbError(e)) return e;
  const f = e as { table?: string; column?: string; constraint?: string };
  const where = [
    f.table && `table ${f.table}`,
    f.column && `column ${f.column}`,
    f.constraint && `constraint ${f.constraint}`,
  ]
    .filter(Boolean)
    .join(', ');
  return new SyncApplyError(
    `the sync of slot ${slot} could not apply a batch${where ? ` at ${where}` : ''}: ` +
      `${describe(e)}. The batch rolled back and the slot did not move (nothing lost); fix the destination ` +
      '(constraint, column type, trigger, privilege) or the source row, then run the sync again',
  );
}
