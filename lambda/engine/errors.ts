import { ERRORS, SwitchyardError } from '../core/errors';

/**
 * Named errors of the data engine. Each `name` is what a Step Functions Catch or
 * a person sees; messages name the table/column/chunk/key range and never contain row
 * data or credentials.
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

/** A spec expression or source query could write, lock or escape the read-only session. Raised before any database is touched. */
export class UnsafeExpressionError extends DataEngineError {
  readonly name = ERRORS.UnsafeExpressionError;
}

/** A target column's declared type is narrower than the source's (truncation, rounding, overflow) and the spec does not allow it. */
export class LossyTypeError extends DataEngineError {
  readonly name = ERRORS.LossyTypeError;
}

/** A database could not be reached or the login failed. */
export class DatabaseUnreachableError extends DataEngineError {
  readonly name = ERRORS.DatabaseUnreachableError;
}

/** What a failed chunk was, without any row value. */
export interface ChunkFailure {
  readonly table: string;
  readonly chunkNo: number;
  /** `[lower, upper)` of the chunk's keys (keys are allowed in messages; values are not). */
  readonly range: string;
  readonly column?: string;
  readonly constraint?: string;
  /** PostgreSQL's SQLSTATE, when the failure came from a database. */
  readonly code?: string;
  /** PostgreSQL's message with quoted values removed. */
  readonly reason: string;
}

function chunkMessage(f: ChunkFailure): string {
  const where = [f.column && `column ${f.column}`, f.constraint && `constraint ${f.constraint}`]
    .filter(Boolean)
    .join(', ');
  return (
    `copy of ${f.table} chunk ${f.chunkNo} (keys ${f.range}) failed and was rolled ` +
    `back${where ? ` at ${where}` : ''}: ${f.reason}${f.code ? ` (SQLSTATE ${f.code})` : ''}`
  );
}

/** A chunk that failed: which table and chunk, and the SQLSTATE when there is one (no values). */
abstract class ChunkFailureError extends DataEngineError {
  readonly table: string;
  readonly chunkNo: number;
  readonly code?: string;
  constructor(readonly failure: ChunkFailure) {
    super(chunkMessage(failure));
    this.table = failure.table;
    this.chunkNo = failure.chunkNo;
    this.code = failure.code;
  }
}

/**
 * A chunk failed for a reason that may pass on a retry (connection lost, deadlock,
 * server shutting down); its transaction rolled back, so a rerun resumes cleanly.
 */
export class ChunkCopyError extends ChunkFailureError {
  readonly name = ERRORS.ChunkCopyError;
}

/**
 * A chunk failed the same way it will on every try: bad data or a constraint (SQLSTATE
 * classes 22 and 23), a permission or syntax problem (42), a write refused by the
 * read-only source (25006). Never retried, by the engine or the state machine; fix the
 * data or the spec, then rerun with the same run id.
 */
export class ChunkDataError extends ChunkFailureError {
  readonly name = ERRORS.ChunkDataError;
}

/** Validation found differences between source and target. */
export class IntegrityMismatchError extends DataEngineError {
  readonly name = ERRORS.IntegrityMismatchError;
}

/**
 * Validation ran out of its invocation's time budget before every table was decided: nothing was
 * changed and nothing is lost; the message names the tables left.
 */
export class ValidationIncompleteError extends DataEngineError {
  readonly name = ERRORS.ValidationIncompleteError;
}

/**
 * PostgreSQL's SQLSTATE of an error, if it has one. Node's socket errors carry a `code` too
 * (EPIPE, ECONNRESET): those are errno names, all letters; every SQLSTATE is five characters with a digit.
 */
export function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && /\d/.test(code) ? code : undefined;
}

/**
 * The message of an error without its stack, through the one redaction rule (`redactedReason`):
 * safe for an error message, a log line, a Step Functions cause or a notification. pg errors keep
 * their SQLSTATE.
 */
export function describe(e: unknown): string {
  if (e && typeof e === 'object') {
    const code = sqlState(e);
    return code ? `${redactedReason(e)} (SQLSTATE ${code})` : redactedReason(e);
  }
  return redactedReason(e);
}

/** Identifiers PostgreSQL quotes in its messages: relation, column, constraint, type, index, ... */
const IDENT_WORDS = [
  ...['relation', 'column', 'constraint', 'table', 'index', 'type', 'function', 'schema', 'sequence', 'domain'],
  ...['role', 'database', 'operator', 'collation', 'extension', 'trigger', 'view', 'cursor', 'key', 'of'],
  ...['for', 'on', 'encoding'],
];
const IDENT_BEFORE = new RegExp(`(${IDENT_WORDS.join('|')})\\s*$`, 'i');

/**
 * THE redaction rule: PostgreSQL's message without the row values it may quote. Every message of
 * a database error that reaches an error, a log line, a Step Functions cause or a notification
 * goes through it (`describe` does; handlers redact any pg error that escapes, phase.ts):
 * - double-quoted values (`invalid input syntax for type integer: "abc"`, `value "x" is out of
 *   range`) → `"…"`; identifiers (after relation, column, constraint, type, …) are kept;
 * - single-quoted literals → `'…'`;
 * - `Key (cols)=(values)` (unique, foreign key, exclusion) → `Key (cols)=(…)`, and
 *   `Failing row contains (...)` → `Failing row contains (…)`, should a DETAIL be part of the text;
 * - the bytes of an invalid byte sequence → `0x…`.
 * The `detail` and `where` fields of a pg error are never read.
 */
export function redactedReason(e: unknown): string {
  const msg = String((e as { message?: string } | undefined)?.message ?? e);
  return msg
    .replace(/"(?:[^"]|"")*"/g, (m, offset: number) => (IDENT_BEFORE.test(msg.slice(0, offset)) ? m : '"…"'))
    .replace(/'(?:[^']|'')*'/g, "'…'")
    .replace(
      /(key \((?:[^()]|\([^()]*\))*\))=\(.*?\)(?= already exists| is not present| is duplicated| is still referenced| conflicts with|\.|$)/gims,
      '$1=(…)',
    )
    .replace(/(Failing row contains )\(.*\)/gs, '$1(…)')
    .replace(/0x[0-9a-f]{2}(\s+0x[0-9a-f]{2})*/gi, '0x…'); // bytes of an invalid byte sequence
}

/**
 * A database error as a `cause` that carries no row value: its redacted message and SQLSTATE only
 * (the original's `detail`, `where` and message would otherwise travel with the named error).
 */
export function redactedCause(e: unknown): Error {
  return Object.assign(new Error(redactedReason(e)), { code: sqlState(e) });
}

/**
 * A database error that escaped every named error, made safe where it stands (handlers call it
 * before the error reaches a log line or the Lambda's error response): its message and stack go
 * through the redaction rule, and its `detail`, `where` and `internalQuery` are dropped.
 * Anything without a SQLSTATE is left as it is.
 */
export function redactDbError(e: unknown): void {
  if (!sqlState(e) || !(e instanceof Error)) return;
  const reason = redactedReason(e);
  Object.assign(e, {
    message: reason,
    stack: `${e.name}: ${reason}`,
    detail: undefined,
    where: undefined,
    internalQuery: undefined,
  });
}

/**
 * The column a pg error is about: its `column` field, or the column of COPY FROM's context
 * (`COPY messages, line 5, column role: "<value>"`), read only up to the colon that precedes the value.
 */
export function errorColumn(e: unknown): string | undefined {
  const err = e as { column?: string; where?: string } | undefined;
  if (err?.column) return err.column;
  const m = /^COPY [^,]+, line \d+, column ([^:\s]+):/.exec(err?.where ?? '');
  return m ? m[1] : undefined;
}

/** SQLSTATE classes worth a retry: connection failures, admin shutdown, serialization/deadlock. */
export function isTransientDbError(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code ?? '';
  if (/^(08|57P0|40001|40P01|53)/.test(code)) return true;
  const msg = String((e as { message?: string } | undefined)?.message ?? '');
  return /Connection terminated|ECONNRESET|ECONNREFUSED|EPIPE|terminating connection/i.test(msg);
}

/**
 * Failures that repeat on every try with the same data and schema: data exceptions (22),
 * integrity constraints (23), invalid transaction state such as a write in a read-only
 * transaction (25), syntax or access rule violations (42), feature not supported (0A),
 * WITH CHECK OPTION (44).
 */
export function isDeterministicDbError(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code ?? '';
  return /^(22|23|25|42|0A|44)/.test(code);
}

/** A server older than the supported range (PostgreSQL 13): the message names the server and the fix. */
export class ServerTooOldError extends DataEngineError {
  readonly name = ERRORS.ServerTooOldError;
}

/**
 * A server lacks a capability the operation needs, or withholds a privilege from the login: the
 * message names the server, the capability and the fix. Nothing was changed by the refusing step.
 */
export class ServerCapabilityMissingError extends DataEngineError {
  readonly name = ERRORS.ServerCapabilityMissingError;
}
