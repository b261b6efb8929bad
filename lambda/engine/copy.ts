import type { Client } from 'pg';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { bounded, connect, type DbEndpoint, readOnly } from './db';
import {
  ChunkCopyError,
  ChunkDataError,
  type ChunkFailure,
  DatabaseUnreachableError,
  errorColumn,
  isDeterministicDbError,
  isTransientDbError,
  redactedReason,
  sqlState,
} from './errors';
import { type Chunk, planTableChunks, selectChunks } from './plan';
import { META_SCHEMA } from './prepare';
import { type KeyRange, rangePredicate, sourceSelect, type TableLayout, targetColumnList, targetTable } from './sql';
import { targetKey } from './spec';

export interface CopyOptions {
  /** Run id (the migration id): names the plan and checkpoints in the target. */
  readonly runId: string;
  /** Chunks copied at once, each on its own source+target connection pair. @default 1 */
  readonly concurrency?: number;
  /** Stop taking new chunks after this time (epoch ms); the result says what is left. @default - no deadline */
  readonly deadline?: number;
  /** Only these chunk numbers (a chunk group of a Map iteration). @default - all chunks */
  readonly chunkNos?: { readonly from: number; readonly to: number };
  /** Tries per chunk on a transient error (connection lost, deadlock). @default 3 */
  readonly attempts?: number;
  /** Progress callback after each committed chunk. */
  readonly onChunk?: (p: { table: string; chunkNo: number; rows: number }) => void;
}

export interface CopyResult {
  readonly table: string;
  readonly chunks: number;
  readonly chunksCopied: number;
  /** Rows copied by this call. */
  readonly rowsCopied: number;
  /** Rows in all copied chunks of the run (this call and earlier ones). */
  readonly rowsTotal: number;
  /** True when every chunk (of the selected group) is copied. */
  readonly complete: boolean;
}

/**
 * Copy one chunk in one target transaction: delete the key range (unless the chunk is
 * known to be fresh: planned on an empty table and never tried before), stream
 * `COPY (SELECT projection) TO STDOUT` from the source (in a `BEGIN READ ONLY`
 * transaction) into `COPY target FROM STDIN`, and record the checkpoint. Rows never
 * become JS objects. Idempotent.
 */
export async function copyChunk(
  layout: TableLayout,
  chunk: Chunk,
  src: Client,
  tgt: Client,
  runId: string,
  opts: { fresh?: boolean } = {},
): Promise<number> {
  const t = layout.spec;
  await tgt.query('BEGIN');
  try {
    // Chunk lease: a second copy of the same chunk (a retried or redriven invocation still running beside
    // the first) waits for this transaction, then deletes and rewrites the range: no unique violation from the race.
    await tgt.query(`SELECT pg_advisory_xact_lock(hashtext($1), $2)`, [
      `switchyard-copy:${runId}:${t.name}`,
      chunk.chunkNo,
    ]);
    if (!opts.fresh)
      await tgt.query(
        `DELETE FROM ${targetTable(layout)} AS t WHERE ${rangePredicate(targetKey(t), layout.targetKeyTypes, 't', chunk, layout.targetKeyCollations)}`,
      );
    const writer = tgt.query(copyFrom(`COPY ${targetTable(layout)} (${targetColumnList(layout)}) FROM STDIN`));
    await readOnly(src, () => pipeline(src.query(copyTo(`COPY (${sourceSelect(layout, chunk)}) TO STDOUT`)), writer));
    const rows = Number(writer.rowCount ?? 0);
    await tgt.query(
      `UPDATE ${META_SCHEMA}.copy_chunks SET copied_rows = $4, copied_at = now() WHERE run_id = $1 AND table_name = $2 AND chunk_no = $3`,
      [runId, t.name, chunk.chunkNo, rows],
    );
    await tgt.query('COMMIT');
    return rows;
  } catch (e) {
    await bounded(tgt.query('ROLLBACK'));
    throw e;
  }
}

/**
 * Copy every not-yet-copied chunk of a table with bounded concurrency. Resumes
 * from the checkpoints of an earlier (crashed) run with the same run id.
 */
export async function copyTable(
  layout: TableLayout,
  source: DbEndpoint,
  target: DbEndpoint,
  opts: CopyOptions,
): Promise<CopyResult> {
  const table = layout.spec.name;
  const plan = await planTableChunks(layout, source, target, opts.runId);
  const selected = selectChunks(plan, opts.chunkNos);
  const pending = selected.filter((c) => c.copiedRows === null);
  let rowsTotal = selected.reduce((n, c) => n + (c.copiedRows ?? 0), 0);
  let rowsCopied = 0;
  let copied = selected.length - pending.length;
  let failure: unknown;
  let next = 0;

  const worker = async () => {
    let src: Client | undefined;
    let tgt: Client | undefined;
    const close = async () => {
      await Promise.all([src?.end().catch(() => undefined), tgt?.end().catch(() => undefined)]);
      src = tgt = undefined;
    };
    try {
      while (failure === undefined && next < pending.length && !(opts.deadline && Date.now() >= opts.deadline)) {
        const chunk = pending[next++];
        const attempts = opts.attempts ?? 3;
        let freshTry = false;
        for (let attempt = 1; ; attempt++) {
          try {
            src ??= await connect(source, { readOnly: true, applicationName: 'switchyard-copy' });
            tgt ??= await connect(target, { applicationName: 'switchyard-copy' });
            // Record the try before it starts (outside the chunk's transaction): a retry or a resume by any process deletes the range first.
            const tries = await tgt.query(
              `UPDATE ${META_SCHEMA}.copy_chunks SET attempts = attempts + 1 WHERE run_id = $1 AND table_name = $2 AND chunk_no = $3 RETURNING attempts`,
              [opts.runId, table, chunk.chunkNo],
            );
            freshTry = chunk.fresh && tries.rows[0]?.attempts === 1;
            const rows = await copyChunk(layout, chunk, src, tgt, opts.runId, { fresh: freshTry });
            rowsCopied += rows;
            rowsTotal += rows;
            copied++;
            opts.onChunk?.({ table, chunkNo: chunk.chunkNo, rows });
            break;
          } catch (e) {
            await close();
            // A duplicate key on a fresh try means the range was not empty after all (rows from elsewhere): retry with the DELETE.
            const duplicateOnFresh = freshTry && (e as { code?: string }).code === '23505';
            if (
              attempt >= (duplicateOnFresh ? Math.max(attempts, 2) : attempts) ||
              !(duplicateOnFresh || isTransientDbError(e))
            ) {
              failure ??= chunkError(layout, chunk, e);
              return;
            }
            await new Promise((r) => setTimeout(r, 100 * 2 ** attempt + Math.random() * 100));
          }
        }
      }
    } finally {
      await close();
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 1, pending.length || 1));
  await Promise.all(Array.from({ length: n }, worker));
  if (failure !== undefined) throw failure;
  return {
    table,
    chunks: selected.length,
    chunksCopied: copied,
    rowsCopied,
    rowsTotal,
    complete: copied === selected.length,
  };
}

function rangeText(r: KeyRange): string {
  const side = (k: readonly string[] | null, open: string) =>
    k === null ? open : k.length === 1 ? k[0] : `(${k.join(', ')})`;
  return `[${side(r.lower, '-inf')}, ${side(r.upper, '+inf')})`;
}

/**
 * The named error of a failed chunk: table, chunk number, key range, column, constraint,
 * SQLSTATE and PostgreSQL's message without values (never its `detail` or COPY context,
 * which quote row contents). Deterministic failures are ChunkDataError (never retried);
 * others ChunkCopyError (retried by the state machine); a failed login stays DatabaseUnreachableError.
 */
export function chunkError(layout: TableLayout, chunk: Chunk, e: unknown): Error {
  if (e instanceof DatabaseUnreachableError) return e;
  const err = e as { code?: string; constraint?: string };
  const sqlstate = sqlState(e);
  const failure: ChunkFailure = {
    table: layout.spec.name,
    chunkNo: chunk.chunkNo,
    range: rangeText(chunk),
    column: errorColumn(e),
    constraint: err.constraint,
    code: sqlstate,
    reason: redactedReason(e),
  };
  return !isTransientDbError(e) && isDeterministicDbError(e)
    ? new ChunkDataError(failure)
    : new ChunkCopyError(failure);
}
