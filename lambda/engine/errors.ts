import { ERRORS, SwitchyardError } from '../core/errors';

/**
 * Named errors of the data engine. Each `name` is what a Step Functions Catch or
 * a person sees; messages name the table/column/chunk and never contain row data
 * or credentials.
 */
export abstract class DataEngineError extends SwitchyardError {}

/** The spec is malformed (fails before any database is touched). */
export class SpecError extends DataEngineError {
  readonly name = ERRORS.SpecError;
}

/** The spec does not match a database: missing table or column, bad expression. Raised before any write. */
export class SchemaMismatchError extends DataEngineError {
  readonly name = ERRORS.SchemaMismatchError;
}

/** A database could not be reached or the login failed. */
export class DatabaseUnreachableError extends DataEngineError {
  readonly name = ERRORS.DatabaseUnreachableError;
}

/** A chunk failed to copy; its transaction rolled back, so a rerun resumes cleanly. */
export class ChunkCopyError extends DataEngineError {
  readonly name = ERRORS.ChunkCopyError;
  constructor(
    public readonly table: string,
    public readonly chunkNo: number,
    cause: unknown,
  ) {
    super(`copy of ${table} chunk ${chunkNo} failed and was rolled back: ${describe(cause)}`, { cause });
  }
}

/** Validation found differences between source and target. */
export class IntegrityMismatchError extends DataEngineError {
  readonly name = ERRORS.IntegrityMismatchError;
}

/** The message of an error without its stack; pg errors keep their SQLSTATE. */
export function describe(e: unknown): string {
  if (e && typeof e === 'object') {
    const err = e as { message?: string; code?: string };
    return err.code ? `${err.message} (SQLSTATE ${err.code})` : String(err.message ?? e);
  }
  return String(e);
}

/** SQLSTATE classes worth a retry: connection failures, admin shutdown, serialization/deadlock. */
export function isTransientDbError(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code ?? '';
  if (/^(08|57P0|40001|40P01|53)/.test(code)) return true;
  const msg = String((e as { message?: string } | undefined)?.message ?? '');
  return /Connection terminated|ECONNRESET|ECONNREFUSED|EPIPE|terminating connection/i.test(msg);
}
