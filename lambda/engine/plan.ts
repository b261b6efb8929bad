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

/**
 * The key-range chunks of a table for a run. The first call cuts the source's
 * key order every `chunkSize` rows and stores the plan in the target's
 * bookkeeping schema; later calls (a resume, a validation) return the stored plan,
 * so chunk boundaries never move under a running migration.
 */
export async function planChunks(layout: TableLayout, src: Client, tgt: Client, runId: string): Promise<Chunk[]> {
  const table = layout.spec.name;
  const existing = await loadPlan(tgt, runId, table);
  if (existing.length) return existing;

  const keys = layout.spec.key.map((k) => `s.${qi(k)}`);
  const keyText = layout.spec.key.map((_k, i) => `x.k${i}::text`);
  const boundaries = await readOnlyQuery(src, `SELECT ARRAY[${keyText.join(', ')}] AS b FROM (
             SELECT ${keys.map((k, i) => `${k} AS k${i}`).join(', ')}, row_number() OVER (ORDER BY ${keys.join(', ')}) AS rn FROM ${sourceFrom(layout.spec)}
           ) x WHERE x.rn > 1 AND (x.rn - 1) % ${layout.spec.chunkSize} = 0 ORDER BY x.rn`);
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
