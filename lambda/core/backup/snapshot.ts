import { ERRORS, SwitchyardError } from '../errors';
/** Deterministic snapshot identifier for a migration (RDS: letters, digits, dashes; starts with a letter; max 255). */
export function snapshotIdentifier(stage: string, migrationId: string): string {
  const id = `switchyard-${stage}-${migrationId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-');
  return id.replace(/-$/, '').slice(0, 255);
}

/** Deterministic identifier of the instance a data restore creates. */
export function restoredInstanceIdentifier(dbId: string, migrationId: string): string {
  return `${dbId}-restored-${migrationId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-').replace(/-$/, '').slice(0, 63);
}

/** A snapshot exists but belongs to another database: refusing to treat it as ours. */
export class SnapshotConflictError extends SwitchyardError {
  readonly name = ERRORS.SnapshotConflictError;
}

export class SnapshotFailedError extends SwitchyardError {
  readonly name = ERRORS.SnapshotFailedError;
}
