import { ERRORS } from '../../core/errors';
import { DataEngineError } from '../errors';

/**
 * Named errors of change capture. Messages name the table, key columns, slot and LSN,
 * and say what the operator does next; never a row value or a credential.
 */

/** The source cannot do logical decoding for this login (wal_level, REPLICATION, table ownership, free slots). */
export class ReplicationNotConfiguredError extends DataEngineError {
  readonly name = ERRORS.ReplicationNotConfiguredError;
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

/** The conflict rule needs commit timestamps (track_commit_timestamp = on) on the destination. */
export class CommitTimestampsOffError extends DataEngineError {
  readonly name = ERRORS.CommitTimestampsOffError;
}

/** `sync` refuses to copy into a target table that already has rows (unless resuming). */
export class SyncTargetNotEmptyError extends DataEngineError {
  readonly name = ERRORS.SyncTargetNotEmptyError;
}
