import type { Client } from 'pg';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { bounded } from './db';
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
import type { Chunk } from './plan';
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
 * The snapshot of a REPEATABLE READ transaction (taken by this first statement) and the source's WAL
 * insert position read after it: a transaction whose commit record lies past it is not in the snapshot (the
 * insert position, not the write position: with synchronous_commit off a commit is visible before it is written).
 */
export const COPY_POINT =
  `SELECT pg_current_snapshot()::text AS snap, (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ` +
  `ELSE pg_current_wal_insert_lsn() END)::text AS lsn`;

/** One chunk of a copy batch: its table's layout, the chunk, and whether its range is known empty (no DELETE). */
export interface ChunkToCopy {
  readonly layout: TableLayout;
  readonly chunk: Chunk;
  readonly fresh: boolean;
}

/**
 * Copy chunks (one, or the whole-table chunks of several small tables) in one target transaction:
 * per chunk, delete its key range (unless the chunk is known to be fresh: planned on an empty table
 * and never tried before) and stream `COPY (SELECT projection) TO STDOUT` from the source (all in one
 * `BEGIN READ ONLY` transaction) into `COPY target FROM STDIN`; then record every checkpoint in one
 * statement and commit. Rows never become JS objects. Idempotent. Returns the rows of each chunk.
 */
export async function copyChunks(
  items: readonly ChunkToCopy[],
  src: Client,
  tgt: Client,
  runId: string,
): Promise<number[]> {
  try {
    // Both transactions open at once: the source one is READ ONLY before it runs anything. A keyless table's copy
    // reads one snapshot, recorded with the checkpoint: the sync skips the changes it already holds (sync/keyless.ts).
    const keyless = items.some((i) => i.layout.spec.keyless);
    await Promise.all([
      tgt.query('BEGIN'),
      src.query(keyless ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN READ ONLY'),
    ]);
    const point = keyless ? (await src.query(COPY_POINT)).rows[0] : { snap: null, lsn: null };
    // Chunk lease: a second copy of the same chunk (a retried or redriven invocation still running beside
    // the first) waits for this transaction, then deletes and rewrites the range: no unique violation from the race.
    await tgt.query(
      `SELECT pg_advisory_xact_lock(hashtext('switchyard-copy:' || $1 || ':' || v.t), v.n)
         FROM unnest($2::text[], $3::int[]) AS v(t, n) ORDER BY v.t, v.n`,
      [runId, items.map((i) => i.layout.spec.name), items.map((i) => i.chunk.chunkNo)],
    );
    const rows: number[] = [];
    for (const { layout, chunk, fresh } of items) {
      if (!fresh)
        await tgt.query(
          `DELETE FROM ${targetTable(layout)} AS t WHERE ` +
            `${rangePredicate(targetKey(layout.spec), layout.targetKeyTypes, 't', chunk, layout.targetKeyCollations)}`,
        );
      const writer = tgt.query(copyFrom(`COPY ${targetTable(layout)} (${targetColumnList(layout)}) FROM STDIN`));
      await pipeline(src.query(copyTo(`COPY (${sourceSelect(layout, chunk)}) TO STDOUT`)), writer);
      rows.push(Number(writer.rowCount ?? 0));
    }
    await Promise.all([
      bounded(src.query('ROLLBACK')),
      tgt.query(
        `UPDATE ${META_SCHEMA}.copy_chunks c SET copied_rows = v.rows, copied_at = now(), source_snapshot = v.snap,
                source_lsn = v.lsn::pg_lsn
           FROM unnest($2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[]) AS v(t, n, rows, snap, lsn)
          WHERE c.run_id = $1 AND c.table_name = v.t AND c.chunk_no = v.n`,
        [
          runId,
          items.map((i) => i.layout.spec.name),
          items.map((i) => i.chunk.chunkNo),
          rows,
          items.map((i) => (i.layout.spec.keyless ? point.snap : null)),
          items.map((i) => (i.layout.spec.keyless ? point.lsn : null)),
        ],
      ),
    ]);
    await tgt.query('COMMIT');
    return rows;
  } catch (e) {
    await Promise.all([bounded(tgt.query('ROLLBACK')), bounded(src.query('ROLLBACK'))]);
    throw e;
  }
}

/** {@link copyChunks} of one chunk. */
export async function copyChunk(
  layout: TableLayout,
  chunk: Chunk,
  src: Client,
  tgt: Client,
  runId: string,
  opts: { fresh?: boolean } = {},
): Promise<number> {
  return (await copyChunks([{ layout, chunk, fresh: opts.fresh ?? false }], src, tgt, runId))[0];
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
