import { createHash } from 'crypto';
import type { Client } from 'pg';
import { connect, DbEndpoint, withClient } from './db';
import { describe, SchemaMismatchError } from './errors';
import type { MigrationSpec, TableSpec } from './spec';
import { targetColumns, targetKey } from './spec';
import { qi, sourceFrom, TableLayout, ColumnLayout } from './sql';

/** Engine bookkeeping in the target database (never in the source). */
export const META_SCHEMA = 'switchyard';

const META_DDL = [
  `CREATE SCHEMA IF NOT EXISTS ${META_SCHEMA}`,
  `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.applied_ddl (sha256 text PRIMARY KEY, statement text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.copy_chunks (
     run_id text NOT NULL, table_name text NOT NULL, chunk_no int NOT NULL,
     lower_key text[], upper_key text[], copied_rows bigint, copied_at timestamptz,
     PRIMARY KEY (run_id, table_name, chunk_no))`,
];

export interface PrepareResult {
  readonly ddlApplied: number;
  readonly ddlSkipped: number;
  readonly tables: readonly string[];
}

/**
 * Check the spec against the source (read-only), then apply the target DDL once
 * per distinct statement and check every target table and column — all in one
 * target transaction, so a mismatch leaves the target exactly as it was.
 * Throws SchemaMismatchError naming the table and column.
 */
export async function prepareTarget(spec: MigrationSpec, source: DbEndpoint, target: DbEndpoint): Promise<PrepareResult> {
  await withClient(source, { readOnly: true }, async (src) => {
    for (const t of spec.tables) await checkSource(src, t);
  });
  return withClient(target, {}, async (tgt) => {
    await tgt.query('BEGIN');
    try {
      await tgt.query(`SELECT pg_advisory_xact_lock(hashtext('switchyard:prepare'))`);
      for (const stmt of META_DDL) await tgt.query(stmt);
      let applied = 0;
      let skipped = 0;
      for (const stmt of spec.targetDdl) {
        const sha = createHash('sha256').update(stmt).digest('hex');
        const seen = await tgt.query(`SELECT 1 FROM ${META_SCHEMA}.applied_ddl WHERE sha256 = $1`, [sha]);
        if (seen.rowCount) {
          skipped++;
          continue;
        }
        try {
          await tgt.query(stmt);
        } catch (e) {
          throw new SchemaMismatchError(`target DDL failed: ${describe(e)} in: ${stmt.slice(0, 120)}`, { cause: e });
        }
        await tgt.query(`INSERT INTO ${META_SCHEMA}.applied_ddl (sha256, statement) VALUES ($1, $2)`, [sha, stmt]);
        applied++;
      }
      for (const t of spec.tables) await checkTarget(tgt, t);
      await tgt.query('COMMIT');
      return { ddlApplied: applied, ddlSkipped: skipped, tables: spec.tables.map((t) => t.name) };
    } catch (e) {
      await tgt.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  });
}

async function probe(c: Client, sql: string, what: string): Promise<void> {
  try {
    await c.query(sql);
  } catch (e) {
    throw new SchemaMismatchError(`${what}: ${describe(e)}`, { cause: e });
  }
}

/** Check that a table's source, keys, watermark and expressions work (read-only). Throws SchemaMismatchError. */
export async function checkSource(c: Client, t: TableSpec): Promise<void> {
  const from = sourceFrom(t);
  const label = 'table' in t.source ? `source table ${t.source.table}` : 'source query';
  await probe(c, `SELECT 1 FROM ${from} LIMIT 0`, `table ${t.name}: ${label} cannot be read`);
  for (const k of t.key) await probe(c, `SELECT s.${qi(k)} FROM ${from} LIMIT 0`, `table ${t.name}: key column ${k} is missing in the ${label}`);
  if (t.watermark) await probe(c, `SELECT s.${qi(t.watermark)} FROM ${from} LIMIT 0`, `table ${t.name}: watermark column ${t.watermark} is missing in the ${label}`);
  for (const [col, expr] of Object.entries(t.columns)) {
    await probe(c, `SELECT (${expr}) FROM ${from} LIMIT 0`, `table ${t.name}: expression for target column ${col} does not work on the ${label}`);
  }
}

/** Check that a table's target exists with every column and a unique key. Throws SchemaMismatchError. */
export async function checkTarget(c: Client, t: TableSpec): Promise<void> {
  const exists = await c.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [qi(t.target.table)]);
  if (!exists.rows[0].ok) throw new SchemaMismatchError(`table ${t.name}: target table ${t.target.table} does not exist (and targetDdl did not create it)`);
  const cols = await c.query(
    `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [qi(t.target.table)],
  );
  const have = new Set(cols.rows.map((r) => r.attname as string));
  const missing = targetColumns(t).filter((col) => !have.has(col));
  if (missing.length) throw new SchemaMismatchError(`table ${t.name}: target table ${t.target.table} has no column ${missing.join(', ')}`);
  const unique = await c.query(
    `SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass($1) AND i.indisunique
       AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey))
           = (SELECT array_agg(x ORDER BY x) FROM unnest($2::text[]) x)`,
    [qi(t.target.table), targetKey(t)],
  );
  if (!unique.rowCount) {
    throw new SchemaMismatchError(`table ${t.name}: target table ${t.target.table} needs a primary key or unique index on (${targetKey(t).join(', ')}) for catch-up upserts`);
  }
}

/** Column types of both sides, needed to build projections and key-range literals. */
export async function describeTable(t: TableSpec, src: Client, tgt: Client): Promise<TableLayout> {
  const tcols = await tgt.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, n.nspname = 'pg_catalog' AS builtin
       FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid JOIN pg_namespace n ON n.oid = ty.typnamespace
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
    [qi(t.target.table)],
  );
  const byName = new Map(tcols.rows.map((r) => [r.name as string, r as { type: string; builtin: boolean }]));
  const columns: ColumnLayout[] = targetColumns(t).map((name) => {
    const col = byName.get(name);
    if (!col) throw new SchemaMismatchError(`table ${t.name}: target table ${t.target.table} has no column ${name}`);
    return { name, castType: col.builtin ? col.type : 'text', compareAsText: !col.builtin };
  });
  const keyProbe = await src.query(`SELECT ${t.key.map((k) => `s.${qi(k)}`).join(', ')} FROM ${sourceFrom(t)} LIMIT 0`);
  const oids = keyProbe.fields.map((f) => f.dataTypeID);
  const types = await src.query(`SELECT format_type(o, NULL) AS type FROM unnest($1::oid[]) WITH ORDINALITY AS u(o, i) ORDER BY i`, [oids]);
  return {
    spec: t,
    columns,
    sourceKeyTypes: types.rows.map((r) => r.type as string),
    targetKeyTypes: targetKey(t).map((k) => byName.get(k)!.type),
  };
}

/** Describe a table opening short-lived connections (for callers without open clients). */
export async function describeTableWith(t: TableSpec, source: DbEndpoint, target: DbEndpoint): Promise<TableLayout> {
  const src = await connect(source, { readOnly: true });
  try {
    return await withClient(target, {}, (tgt) => describeTable(t, src, tgt));
  } finally {
    await src.end().catch(() => undefined);
  }
}
