import { createHash } from 'node:crypto';
import { ERRORS, SwitchyardError } from '../errors';

/** AWS length limits of the identifiers a migration id ends up in. */
export const IDENTIFIER_LIMITS = {
  /** RDS DBSnapshotIdentifier / DBClusterSnapshotIdentifier. */
  snapshot: 255,
  /** RDS DBInstanceIdentifier. */
  dbInstance: 63,
  /** Step Functions execution name (the migration id names the execution). */
  executionName: 80,
} as const;

/** Characters of the hash that keeps a shortened identifier unique per migration id. */
const HASH_CHARS = 8;
const RESTORED_INFIX = '-restored-';

/** RDS identifier rules: lowercase letters, digits, single dashes; no trailing dash. */
const normalize = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
const shortHash = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, HASH_CHARS);

/** An identifier derived from the migration id would exceed what AWS allows. */
export class IdentifierTooLongError extends SwitchyardError {
  readonly name = ERRORS.IdentifierTooLongError;
}

/** Deterministic snapshot identifier for a migration (RDS: letters, digits, single dashes; starts with a letter; max 255). */
export function snapshotIdentifier(stage: string, migrationId: string): string {
  const id = normalize(`switchyard-${stage}-${migrationId}`);
  if (id.length > IDENTIFIER_LIMITS.snapshot) {
    throw new IdentifierTooLongError(
      `snapshot identifier for migration ${migrationId} would be ${id.length} characters; RDS allows ${IDENTIFIER_LIMITS.snapshot}: use a shorter migration id`,
    );
  }
  return id;
}

/** The longest database identifier whose restored instance still has room for `-restored-<hash>`. */
export const MAX_RESTORABLE_DB_ID_LENGTH = IDENTIFIER_LIMITS.dbInstance - RESTORED_INFIX.length - HASH_CHARS;

/**
 * Deterministic identifier of the instance a data restore creates: `<db>-restored-<migration id>`
 * when that fits RDS's 63 characters, else `<db>-restored-<start of the id>-<hash of the whole id>`,
 * so two long migration ids never map to the same instance. Always starts with `<db>-restored-`
 * (the IAM grant's pattern).
 */
export function restoredInstanceIdentifier(dbId: string, migrationId: string): string {
  const base = `${normalize(dbId)}${RESTORED_INFIX}`;
  if (base.length + HASH_CHARS > IDENTIFIER_LIMITS.dbInstance) {
    throw new IdentifierTooLongError(
      `database identifier ${dbId} is ${dbId.length} characters: a restored instance ${base}<hash> would exceed ` +
        `RDS's ${IDENTIFIER_LIMITS.dbInstance}; keep database identifiers at most ${MAX_RESTORABLE_DB_ID_LENGTH} ` +
        `characters`,
    );
  }
  const id = normalize(migrationId);
  if (base.length + id.length <= IDENTIFIER_LIMITS.dbInstance && id === migrationId) return `${base}${id}`;
  const room = IDENTIFIER_LIMITS.dbInstance - base.length - HASH_CHARS - 1;
  const head = id.slice(0, Math.max(0, room)).replace(/-+$/, '');
  return `${base}${head ? `${head}-` : ''}${shortHash(migrationId)}`;
}

/** Every identifier a migration id would break, with the AWS limit; empty when all fit. */
export function identifierProblems(stage: string, dbId: string, migrationId: string): string[] {
  const problems: string[] = [];
  if (migrationId.length > IDENTIFIER_LIMITS.executionName) {
    problems.push(
      `migrationId names the Step Functions execution: at most ${IDENTIFIER_LIMITS.executionName} characters, got: ${migrationId.length}`,
    );
  }
  for (const make of [
    () => snapshotIdentifier(stage, migrationId),
    () => restoredInstanceIdentifier(dbId, migrationId),
  ]) {
    try {
      make();
    } catch (e) {
      if (!(e instanceof IdentifierTooLongError)) throw e;
      problems.push(e.message);
    }
  }
  return problems;
}

/** A snapshot exists but belongs to another database: refusing to treat it as ours. */
export class SnapshotConflictError extends SwitchyardError {
  readonly name = ERRORS.SnapshotConflictError;
}

export class SnapshotFailedError extends SwitchyardError {
  readonly name = ERRORS.SnapshotFailedError;
}
