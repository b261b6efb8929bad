import type { Client } from 'pg';
import { readOnlyQuery } from './db';
import { META_SCHEMA } from './prepare';
import { KeyRange, qi, sourceFrom, TableLayout, targetTable } from './sql';

/** One planned chunk: a key range of one table, and whether it has been copied. */
export interface Chunk extends KeyRange {
  readonly chunkNo: number;
  readonly copiedRows: number | null;
  /** Planned while the target table was empty: until a first try has started, its range holds no rows and needs no DELETE. */
  readonly fresh: boolean;
  /** Copy tries started for this chunk (by any process). */
  readonly attempts: number;
}

/** Above this many estimated source rows, boundaries come from a page sample instead of a full key scan. */
export const SAMPLED_PLAN_ABOVE_ROWS = 2_000_000;
/** Sampled keys per planned chunk: chunk sizes land within a few percent of `chunkSize`. */
const SAMPLE_KEYS_PER_CHUNK = 200;

/**
 * The key-range chunks of a table for a run. The first call cuts the source's
 * key order every `chunkSize` rows and stores the plan in the target's
 * bookkeeping schema; later calls (a resume, a validation) return the stored plan,
 * so chunk boundaries never move under a running migration.
 *
 * Exact cuts need a full scan of the key (row_number over the key order: 0.4 s per
 * million rows here). A table source estimated above SAMPLED_PLAN_ABOVE_ROWS (pg_class.reltuples)
 * is cut from a `TABLESAMPLE SYSTEM` page sample instead (SAMPLE_KEYS_PER_CHUNK keys per chunk),
 * so chunks hold about `chunkSize` rows; ranges still cover every key, so nothing is missed.
 */
export async function planChunks(layout: TableLayout, src: Client, tgt: Client, runId: string): Promise<Chunk[]> {
  const table = layout.spec.name;
  const existing = await loadPlan(tgt, runId, table);
  if (existing.length) return existing;

  const t = layout.spec;
  const keys = t.key.map((k) => `s.${qi(k)}`);
  const keyText = t.key.map((_k, i) => `x.k${i}::text`);
  let estimate = -1;
  if ('table' in t.source) {
    const r = await readOnlyQuery(src, `SELECT reltuples::float8 AS n FROM pg_class WHERE oid = to_regclass($1)`, [qi(t.source.table)]);
    estimate = Number(r.rows[0]?.n ?? -1);
  }
  const sampled = estimate > SAMPLED_PLAN_ABOVE_ROWS && estimate > 20 * t.chunkSize;
  const percent = sampled ? Math.min(100, (100 * SAMPLE_KEYS_PER_CHUNK) / t.chunkSize) : 100;
  const every = sampled ? Math.max(1, Math.round((t.chunkSize * percent) / 100)) : t.chunkSize;
  const from = sampled ? `${sourceFrom(t)} TABLESAMPLE SYSTEM (${percent}) REPEATABLE (0)` : sourceFrom(t);
  const boundaries = await readOnlyQuery(src, `SELECT ARRAY[${keyText.join(', ')}] AS b FROM (
             SELECT ${keys.map((k, i) => `${k} AS k${i}`).join(', ')}, row_number() OVER (ORDER BY ${keys.join(', ')}) AS rn FROM ${from}
           ) x WHERE x.rn > 1 AND (x.rn - 1) % ${every} = 0 ORDER BY x.rn`);
  const bounds: (string[] | null)[] = [null, ...boundaries.rows.map((r) => r.b as string[]), null];
  const chunks = bounds.slice(0, -1).map((lower, i) => ({ n: i, l: lower, u: bounds[i + 1] }));
  const keyArray = (f: string) => `CASE WHEN jsonb_typeof(e->'${f}') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(e->'${f}')) END`;
  // Concurrent planners (a retried task) agree: the first insert wins, the second reads it back.
  // An empty target table makes every chunk fresh: its first try can skip the DELETE of its range.
  await tgt.query(
    `INSERT INTO ${META_SCHEMA}.copy_chunks (run_id, table_name, chunk_no, lower_key, upper_key, fresh)
     SELECT $1, $2, (e->>'n')::int, ${keyArray('l')}, ${keyArray('u')}, NOT EXISTS (SELECT 1 FROM ${targetTable(layout)}) FROM jsonb_array_elements($3::jsonb) AS e
     ON CONFLICT DO NOTHING`,
    [runId, table, JSON.stringify(chunks)],
  );
  return loadPlan(tgt, runId, table);
}

/** The chunks of a chunk group (`from`..`to` inclusive), or all of them. */
export function selectChunks(plan: Chunk[], chunkNos?: { readonly from: number; readonly to: number }): Chunk[] {
  return chunkNos ? plan.filter((c) => c.chunkNo >= chunkNos.from && c.chunkNo <= chunkNos.to) : plan;
}

export async function loadPlan(tgt: Client, runId: string, table: string): Promise<Chunk[]> {
  const r = await tgt.query(
    `SELECT chunk_no, lower_key, upper_key, copied_rows, fresh, attempts FROM ${META_SCHEMA}.copy_chunks WHERE run_id = $1 AND table_name = $2 ORDER BY chunk_no`,
    [runId, table],
  );
  return r.rows.map((row) => ({
    chunkNo: row.chunk_no as number,
    lower: row.lower_key as string[] | null,
    upper: row.upper_key as string[] | null,
    copiedRows: row.copied_rows === null ? null : Number(row.copied_rows),
    fresh: row.fresh as boolean,
    attempts: row.attempts as number,
  }));
}
