import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { connect, type DbEndpoint, readOnly, withClient } from './db';
import { describe, LossyTypeError, SchemaMismatchError } from './errors';
import { captureDeferredIndexes } from './deferred-indexes';
import { narrowing, type PgType } from './lossy';
import type { MigrationSpec, TableSpec } from './spec';
import { assertSafeSql, sourceRelation, targetColumns, targetKey, targetRelation } from './spec';
import { targetKeyCollations } from './collation';
import { qi, rawExprs, sourceFrom, type TableLayout, type ColumnLayout } from './sql';

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
    for (const t of spec.tables) await checkSource(src, t);
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
        for (const t of spec.tables) await checkTarget(tgt, t);
        const lossy: string[] = [];
        const warnings: string[] = [];
        for (const t of spec.tables) {
          const layout = await describeTable(t, src, tgt);
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

/** Resolve (type oid, modifier) pairs on one side: domains to their base type, arrays to their element. */
async function resolveTypes(
  c: Client,
  oids: number[],
  mods: number[],
  readOnlySide: boolean,
): Promise<(PgType & { builtin: boolean; baseNoMod: string; qualified: string; plain: string })[]> {
  const sql = `
    WITH u AS (SELECT * FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS u(o, m, i)),
         b AS (SELECT u.i, u.o, u.m, CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE u.o END AS bo,
                      CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE u.m END AS bm
                 FROM u JOIN pg_type t ON t.oid = u.o)
    SELECT format_type(b.o, nullif(b.m, -1)) AS display, format_type(b.bo, NULL) AS base_no_mod, b.bm AS typmod,
           format_type(b.o, NULL) AS plain,
           CASE WHEN bt.typcategory = 'A' THEN et.typname ELSE bt.typname END AS name, bt.typcategory = 'A' AS array,
           n.nspname = 'pg_catalog' AS builtin,
           CASE WHEN ot.typcategory = 'A' THEN format('%I.%I[]', oen.nspname, oet.typname) ELSE format('%I.%I', otn.nspname, ot.typname) END AS qualified
      FROM b JOIN pg_type bt ON bt.oid = b.bo LEFT JOIN pg_type et ON et.oid = bt.typelem JOIN pg_namespace n ON n.oid = bt.typnamespace
      JOIN pg_type ot ON ot.oid = b.o JOIN pg_namespace otn ON otn.oid = ot.typnamespace
      LEFT JOIN pg_type oet ON oet.oid = ot.typelem LEFT JOIN pg_namespace oen ON oen.oid = oet.typnamespace
     ORDER BY b.i`;
  // A named (prepared) statement: planned once per connection, not once per table.
  const q = { name: 'switchyard_resolve_types', text: sql, values: [oids, mods] };
  const r = readOnlySide ? await readOnly(c, () => c.query(q)) : await c.query(q);
  return r.rows.map((row) => ({
    display: row.display,
    name: row.name,
    typmod: Number(row.typmod),
    array: row.array,
    builtin: row.builtin,
    baseNoMod: row.base_no_mod,
    qualified: row.qualified,
    plain: row.plain,
  }));
}

/** The target table's columns, in copy order, with their resolved types. Throws SchemaMismatchError on a missing column. */
async function targetColumnTypes(tgt: Client, t: TableSpec, names: readonly string[]) {
  const rel = targetRelation(t);
  const tcols = await tgt.query(
    `SELECT a.attname AS name, a.atttypid AS oid, a.atttypmod AS mod FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
    [qi(rel)],
  );
  const byName = new Map(tcols.rows.map((r) => [r.name as string, r as { oid: number; mod: number }]));
  for (const name of names)
    if (!byName.has(name)) throw new SchemaMismatchError(`table ${t.name}: target table ${rel} has no column ${name}`);
  return resolveTypes(
    tgt,
    names.map((n) => byName.get(n)!.oid),
    names.map((n) => byName.get(n)!.mod),
    false,
  );
}

/**
 * Column types of both sides (the source's from a `LIMIT 0` describe of the projection), needed to
 * build projections, key literals and lossy checks. The source's queries share one read-only
 * transaction and run beside the target's: a schema of many tables pays a few round trips a table.
 */
export async function describeTable(t: TableSpec, src: Client, tgt: Client): Promise<TableLayout> {
  assertSafeSql({ name: `table ${t.name}`, tables: [t] });
  const names = targetColumns(t);
  // The projection's declared types, as the source reports them for the copy's own SELECT.
  const partial = { spec: t, columns: names.map((name) => ({ name })) } as unknown as TableLayout;
  const exprs = rawExprs(partial);
  const [targetTypes, sourceSide] = await Promise.all([
    targetColumnTypes(tgt, t, names),
    readOnly(src, async () => {
      const described = await src.query(
        `SELECT ${exprs.map((e, i) => `(${e}) AS c${i}`).join(', ')} FROM ${sourceFrom(t)} LIMIT 0`,
      );
      const types = await resolveTypes(
        src,
        described.fields.map((f) => f.dataTypeID),
        described.fields.map((f) => f.dataTypeModifier),
        false,
      );
      const keys = await targetKeyCollations(
        src,
        tgt,
        {
          name: t.name,
          sourceRelation: sourceRelation(t),
          sourceKey: t.key,
          targetRelation: targetRelation(t),
          targetKey: targetKey(t),
        },
        { sourceInReadOnly: true },
      );
      return { types, keys };
    }),
  ]);
  const sourceTypes = sourceSide.types;
  const { collations, warnings } = sourceSide.keys;

  const columns: ColumnLayout[] = names.map((name, i) => {
    const tt = targetTypes[i];
    const st = sourceTypes[i];
    return {
      name,
      castType: tt.builtin ? tt.display : 'text',
      ...(tt.builtin ? {} : { targetCast: tt.qualified }),
      compareAsText: !tt.builtin,
      sourceType: st,
      targetType: tt,
      narrowing: narrowing(st, tt),
      sourceBaseType: st.builtin ? st.baseNoMod : null,
    };
  });
  return {
    spec: t,
    columns,
    // Key columns come first in the projection, as `s.<key>`: their declared types, without modifier.
    sourceKeyTypes: t.key.map((_k, i) => sourceTypes[i].plain),
    targetKeyTypes: targetKey(t).map((k) => columns.find((c) => c.name === k)!.targetType.display),
    ...(collations.some((c) => c !== null) ? { targetKeyCollations: collations } : {}),
    ...(warnings.length ? { keyCollationWarnings: warnings } : {}),
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

/** Describe several tables on `concurrency` source+target connection pairs (default 2), in the order given. */
export async function describeTablesWith(
  tables: readonly TableSpec[],
  source: DbEndpoint,
  target: DbEndpoint,
  opts: { concurrency?: number } = {},
): Promise<TableLayout[]> {
  const out: TableLayout[] = new Array(tables.length);
  let next = 0;
  const worker = () =>
    withClient(source, { readOnly: true }, (src) =>
      withClient(target, {}, async (tgt) => {
        for (let i = next++; i < tables.length; i = next++) out[i] = await describeTable(tables[i], src, tgt);
      }),
    );
  const n = Math.max(1, Math.min(opts.concurrency ?? 2, tables.length));
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}
