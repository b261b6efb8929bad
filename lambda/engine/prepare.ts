import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { type DbEndpoint, readOnly, withClient } from './db';
import { describeTables } from './describe';
import { describe, LossyTypeError, SchemaMismatchError } from './errors';
import { captureDeferredIndexes } from './deferred-indexes';
import type { MigrationSpec, TableSpec } from './spec';
import { assertSafeSql, targetColumns, targetKey, targetRelation } from './spec';
import { qi, sourceFrom } from './sql';

/** Engine bookkeeping in the target database (never in the source), in its own schema. */
export const META_SCHEMA = 'switchyard';

const META_DDL = [
  `CREATE SCHEMA IF NOT EXISTS ${META_SCHEMA}`,
  `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.applied_ddl (sha256 text PRIMARY KEY, statement text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.copy_chunks (
     run_id text NOT NULL, table_name text NOT NULL, chunk_no int NOT NULL,
     lower_key text[], upper_key text[], copied_rows bigint, copied_at timestamptz,
     PRIMARY KEY (run_id, table_name, chunk_no))`,
  // fresh: planned while the target table was empty; attempts: tries started (a retry or resume deletes the range first).
  `ALTER TABLE ${META_SCHEMA}.copy_chunks ADD COLUMN IF NOT EXISTS fresh boolean NOT NULL DEFAULT false, ADD ` +
    `COLUMN IF NOT EXISTS attempts int NOT NULL DEFAULT 0`,
  // A keyless table's copy: the source snapshot it read and the WAL position just after (sync/keyless.ts skips what it saw).
  `ALTER TABLE ${META_SCHEMA}.copy_chunks ADD COLUMN IF NOT EXISTS source_snapshot text, ADD COLUMN IF NOT EXISTS ` +
    `source_lsn pg_lsn`,
  `CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.deferred_indexes (
     relation text NOT NULL, name text NOT NULL, kind text NOT NULL, definition text NOT NULL,
     deferred_at timestamptz NOT NULL DEFAULT now(), built_at timestamptz, build_seconds float8,
     PRIMARY KEY (relation, name))`,
];

export interface PrepareOptions {
  /**
   * Load first, index after: drop the secondary indexes and foreign-key/unique/exclusion
   * constraints of empty target tables (their definitions are kept in
   * `switchyard.deferred_indexes`); `buildDeferredIndexes` recreates them after the copy.
   * The primary key (or the unique index on the target key) and CHECK / NOT NULL stay.
   * Opt-in: a caller that defers must run `buildDeferredIndexes` after the copy.
   * @default false
   */
  readonly deferIndexes?: boolean;
}

export interface PrepareResult {
  readonly ddlApplied: number;
  readonly ddlSkipped: number;
  readonly tables: readonly string[];
  /** Indexes and constraints dropped for the bulk load, `relation.name`. */
  readonly deferred: readonly string[];
  /** Keys that sort differently on the two sides with no collation to align them (collation.ts). */
  readonly warnings?: readonly string[];
}

/**
 * Check the spec against the source (read-only), then apply the target DDL once
 * per distinct statement (with `search_path` set to the target schema, so unqualified
 * DDL lands there whatever the login's name), check every target table, column and
 * type (a narrowing not in `allowLossy` fails with LossyTypeError), and defer secondary
 * indexes — all in one target transaction, so a failure leaves the target as it was.
 */
export async function prepareTarget(
  spec: MigrationSpec,
  source: DbEndpoint,
  target: DbEndpoint,
  opts: PrepareOptions = {},
): Promise<PrepareResult> {
  assertSafeSql(spec);
  return withClient(source, { readOnly: true }, async (src) => {
    await checkSources(src, spec.tables);
    return withClient(target, {}, async (tgt) => {
      await tgt.query('BEGIN');
      try {
        await tgt.query(`SELECT pg_advisory_xact_lock(hashtext('switchyard:prepare'))`);
        for (const stmt of META_DDL) await tgt.query(stmt);
        const schemas = [...new Set([spec.targetSchema, ...spec.tables.map((t) => targetRelation(t).split('.')[0])])];
        for (const schema of schemas) {
          const exists = await tgt.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
          if (!exists.rowCount) await tgt.query(`CREATE SCHEMA ${qi(schema)}`);
        }
        // Unqualified names in the DDL resolve to the target schema, never to "$user" (the login `switchyard` owns a schema of that name).
        await tgt.query(`SET LOCAL search_path = ${qi(spec.targetSchema)}, pg_catalog`);
        let applied = 0;
        let skipped = 0;
        for (const stmt of spec.targetDdl) {
          // The ledger key is the statement (and the schema it ran in, when not public: the same text elsewhere is another statement).
          const sha = createHash('sha256')
            .update(spec.targetSchema === 'public' ? stmt : `${spec.targetSchema}\n${stmt}`)
            .digest('hex');
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
        await tgt.query('RESET search_path');
        await checkTargets(tgt, spec.tables);
        const lossy: string[] = [];
        const warnings: string[] = [];
        const layouts = await describeTables(spec.tables, src, tgt);
        for (const [n, t] of spec.tables.entries()) {
          const layout = layouts[n];
          warnings.push(...(layout.keyCollationWarnings ?? []));
          for (const c of layout.columns) {
            if (c.narrowing && !(t.allowLossy ?? []).includes(c.name)) {
              lossy.push(
                `table ${t.name}: column ${c.name} ${c.sourceType.display} -> ${c.targetType.display}: ${c.narrowing}`,
              );
            }
          }
        }
        if (lossy.length) {
          throw new LossyTypeError(
            `target types narrower than the source (list the column in the table's allowLossy to accept the loss):\n  - ${lossy.join('\n  - ')}`,
          );
        }
        const deferred = opts.deferIndexes ? await captureDeferredIndexes(tgt, spec.tables) : [];
        await tgt.query('COMMIT');
        return {
          ddlApplied: applied,
          ddlSkipped: skipped,
          tables: spec.tables.map((t) => t.name),
          deferred,
          ...(warnings.length ? { warnings } : {}),
        };
      } catch (e) {
        await tgt.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  });
}

async function probe(c: Client, sql: string, what: string): Promise<void> {
  try {
    await c.query(sql);
  } catch (e) {
    throw new SchemaMismatchError(`${what}: ${describe(e)}`, { cause: e });
  }
}

/**
 * Check that a table's source, keys, watermark and expressions work (read-only, all probes of the table
 * in one `BEGIN READ ONLY` transaction: the first that fails ends it). Throws SchemaMismatchError.
 */
export async function checkSource(c: Client, t: TableSpec): Promise<void> {
  assertSafeSql({ name: `table ${t.name}`, tables: [t] });
  const from = sourceFrom(t);
  const label = 'table' in t.source ? `source table ${t.source.table}` : 'source query';
  await readOnly(c, async () => {
    await probe(c, `SELECT 1 FROM ${from} LIMIT 0`, `table ${t.name}: ${label} cannot be read`);
    for (const k of t.key)
      await probe(
        c,
        `SELECT s.${qi(k)} FROM ${from} LIMIT 0`,
        `table ${t.name}: key column ${k} is missing in the ${label}`,
      );
    if (t.watermark)
      await probe(
        c,
        `SELECT s.${qi(t.watermark)} FROM ${from} LIMIT 0`,
        `table ${t.name}: watermark column ${t.watermark} is missing in the ${label}`,
      );
    for (const [col, expr] of Object.entries(t.columns)) {
      await probe(
        c,
        `SELECT (${expr}) FROM ${from} LIMIT 0`,
        `table ${t.name}: expression for target column ${col} (${expr}) does not work on the ${label}`,
      );
    }
  });
}

/** Probes per round trip in `checkSources` (one multi-statement query). */
const PROBES_PER_QUERY = 250;

/**
 * `checkSource` for many tables in a few round trips: one `LIMIT 0` SELECT of every key, watermark and
 * expression per table, 250 tables per query, in one read-only transaction. When that fails, the tables
 * are checked one by one, so the error is `checkSource`'s, naming the table and what does not work.
 */
export async function checkSources(c: Client, tables: readonly TableSpec[]): Promise<void> {
  for (const t of tables) assertSafeSql({ name: `table ${t.name}`, tables: [t] });
  const probes = tables.map((t) => {
    const cols = [...t.key, ...(t.watermark ? [t.watermark] : [])].map((k) => `s.${qi(k)}`);
    return `SELECT ${[...cols, ...Object.values(t.columns).map((e) => `(${e})`)].join(', ')} FROM ${sourceFrom(t)} LIMIT 0`;
  });
  try {
    await readOnly(c, async () => {
      for (let i = 0; i < probes.length; i += PROBES_PER_QUERY)
        await c.query(probes.slice(i, i + PROBES_PER_QUERY).join(';\n'));
    });
  } catch {
    for (const t of tables) await checkSource(c, t);
  }
}

/**
 * `checkTarget` for many tables in one catalog query; a table that fails any check is checked again on
 * its own, so the error is `checkTarget`'s.
 */
export async function checkTargets(c: Client, tables: readonly TableSpec[]): Promise<void> {
  const r = await c.query(
    `SELECT r.i::int - 1 AS t, to_regclass(r.rel) IS NOT NULL AS ok,
            ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass(r.rel) AND attnum > 0 AND NOT attisdropped) AS cols,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass(r.rel) AND i.indisunique
              AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
                    WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey))
                  = (SELECT array_agg(x ORDER BY x) FROM jsonb_array_elements_text(r.keys::jsonb) x)) AS keyed
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(rel, keys, i)`,
    [tables.map((t) => qi(targetRelation(t))), tables.map((t) => JSON.stringify(targetKey(t)))],
  );
  for (const row of r.rows) {
    const t = tables[row.t as number];
    const have = new Set(row.cols as string[]);
    if (!row.ok || !row.keyed || targetColumns(t).some((col) => !have.has(col))) await checkTarget(c, t);
  }
}

/** Check that a table's target exists with every column and a unique key. Throws SchemaMismatchError. */
export async function checkTarget(c: Client, t: TableSpec): Promise<void> {
  const rel = targetRelation(t);
  const exists = await c.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [qi(rel)]);
  if (!exists.rows[0].ok)
    throw new SchemaMismatchError(
      `table ${t.name}: target table ${rel} does not exist (and targetDdl did not create it)`,
    );
  const cols = await c.query(
    `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [qi(rel)],
  );
  const have = new Set(cols.rows.map((r) => r.attname as string));
  const missing = targetColumns(t).filter((col) => !have.has(col));
  if (missing.length)
    throw new SchemaMismatchError(`table ${t.name}: target table ${rel} has no column ${missing.join(', ')}`);
  if (t.keyless) return; // matched by all columns: no unique key to upsert by
  const unique = await c.query(
    `SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass($1) AND i.indisunique
       AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey))
           = (SELECT array_agg(x ORDER BY x) FROM unnest($2::text[]) x)`,
    [qi(rel), targetKey(t)],
  );
  if (!unique.rowCount) {
    throw new SchemaMismatchError(
      `table ${t.name}: target table ${rel} needs a primary key or unique index on (${targetKey(t).join(', ')}) for the sync's upserts`,
    );
  }
}

/** Kept here for the modules that import them from prepare. */
export { describeTable, describeTableWith, describeTablesWith } from './describe';
