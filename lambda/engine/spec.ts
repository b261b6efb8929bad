import * as fs from 'node:fs';
import { z } from 'zod';
import { SpecError, UnsafeExpressionError } from './errors';
import { sqlProblems } from './sql-guard';

/**
 * A migration spec: what to copy from the old database to the new one, and how
 * each target column is computed from the source row. Versioned with the repo;
 * `version` lets a future format change refuse old files loudly.
 */

const IDENT = /^[a-z_][a-z0-9_$]*$/i;
/**
 * A table name, optionally schema-qualified: each part any name PostgreSQL allows but for a dot, a
 * double quote or a control character ("Order Items" is written `Order Items`). Every use quotes it (sql.ts `qi`).
 */
const NAME_PART = '[^."\\u0000-\\u001f]{1,63}';
const QUALIFIED = new RegExp(`^(${NAME_PART}\\.)?${NAME_PART}$`, 'u');
const ident = z.string().regex(IDENT, 'must be a plain SQL identifier (letters, digits, _)');
/** A column name: any name but for a dot, a double quote or a control character ("unit price"); every use quotes it. */
const column = z
  .string()
  .regex(new RegExp(`^${NAME_PART}$`, 'u'), 'must be a column name (no dot, double quote or control character)');
const qualified = z
  .string()
  .regex(
    QUALIFIED,
    'must be a table name, optionally schema-qualified (no dot, double quote or control character in a name)',
  );

const tableSpecSchema = z
  .object({
    /** Name used in reports and checkpoints. */
    name: z.string().regex(/^[a-z0-9_-]+$/i, 'must be letters, digits, _ or -'),
    /** Source: a table, or a SELECT (for splits/merges). The source row is aliased `s`. */
    source: z.union([
      z.object({ table: qualified }).strict(),
      z.object({ query: z.string().regex(/^\s*(select|with)\b/i, 'must be a SELECT or WITH query') }).strict(),
    ]),
    /** Key columns of the source row, in order; together unique. */
    key: z.array(column).min(1, 'must name at least one key column'),
    target: z
      .object({
        table: qualified,
        /** Target columns receiving the key values, same order as `key`. @default - same names as `key` */
        key: z.array(column).optional(),
        /** Schema of the target table (a schema-qualified `table` wins). @default - the spec's `targetSchema` */
        schema: ident.optional(),
      })
      .strict(),
    /** Target column -> SQL expression over the source row `s` (rename, cast, CASE, functions). Key columns are added automatically. */
    columns: z.record(column, z.string().min(1, 'must be a SQL expression')),
    /** Accepted for older specs and checked to exist; not used (change capture replaced the watermark catch-up). @default - none */
    watermark: column.optional(),
    /** Rows per chunk. @default - about 16 MiB of the source table's rows (plan.ts: chunkRows), 50,000 for a query source */
    chunkSize: z.number().int().min(1).max(10_000_000).optional(),
    /** Target columns allowed to be narrower than their source (truncation, rounding accepted; validation still reports changed values). @default - none */
    allowLossy: z.array(column).optional(),
    /**
     * Reverse sync (new -> old): old column -> SQL expression over the new-side row `s`. Key columns are added
     * automatically. @default - derived when every forward mapping is a plain `s.<column>`
     */
    reverse: z.record(column, z.string().min(1, 'must be a SQL expression')).optional(),
    /** This table is never synced back to the old side (a rollback keeps the old side's rows as they were). @default false */
    forwardOnly: z.boolean().optional(),
    /**
     * The table has no primary or unique key (an audit log; identical rows allowed): `key` lists every column,
     * rows are matched by all of them (as text, NULL-safe), one row per change. The source table needs
     * REPLICA IDENTITY FULL; copied as one chunk; synced forward only (`forwardOnly` required). @default false
     */
    keyless: z.boolean().optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const targetKey = t.target.key ?? t.key;
    if (targetKey.length !== t.key.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['target', 'key'],
        message: `must have as many columns as key (${t.key.length}), got: ${targetKey.length}`,
      });
    }
    for (const k of targetKey) {
      if (k in t.columns)
        ctx.addIssue({
          code: 'custom',
          path: ['columns', k],
          message: 'is a key column: it is copied from the source key and must not be mapped',
        });
    }
    for (const c of t.allowLossy ?? []) {
      if (!(c in t.columns) && !targetKey.includes(c))
        ctx.addIssue({ code: 'custom', path: ['allowLossy'], message: `names ${c}, which is not a target column` });
    }
    for (const k of t.key) {
      if (t.reverse && k in t.reverse)
        ctx.addIssue({
          code: 'custom',
          path: ['reverse', k],
          message: 'is a key column: it is copied from the target key and must not be mapped',
        });
    }
    if (t.reverse && t.forwardOnly)
      ctx.addIssue({ code: 'custom', path: ['forwardOnly'], message: 'cannot be set together with reverse' });
    if (t.keyless && !t.forwardOnly)
      ctx.addIssue({
        code: 'custom',
        path: ['forwardOnly'],
        message:
          'must be true for a keyless table: its rows have no identity to weigh conflicts or tombstones by, so it ' +
          'is never synced back (give it a primary key to sync it both ways)',
      });
    if (t.keyless && Object.keys(t.columns).length)
      ctx.addIssue({
        code: 'custom',
        path: ['columns'],
        message: 'must be empty for a keyless table: list every column in key (rows are matched by all of them)',
      });
  });

export const migrationSpecSchema = z
  .object({
    version: z.literal(1, 'must be 1 (the only spec format this engine reads)'),
    name: z.string().regex(/^[a-z0-9-]+$/, 'must be a lowercase spec name'),
    /** Schema the target tables land in (unless a table names its own); `targetDdl` runs with `search_path` set to it. @default public */
    targetSchema: ident.default('public'),
    /** Statements creating the target schema; applied once per distinct text, in order. */
    targetDdl: z.array(z.string().min(1)).default([]),
    tables: z.array(tableSpecSchema).min(1, 'must list at least one table'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.tables.forEach((t, i) => {
      if (seen.has(t.name))
        ctx.addIssue({ code: 'custom', path: ['tables', i, 'name'], message: `must be unique, got: ${t.name} twice` });
      seen.add(t.name);
    });
  })
  // Every table knows its target schema, whatever the login's search_path.
  .transform((s) => ({
    ...s,
    tables: s.tables.map((t) =>
      t.target.table.includes('.') || t.target.schema ? t : { ...t, target: { ...t.target, schema: s.targetSchema } },
    ),
  }));

export type MigrationSpecInput = z.input<typeof migrationSpecSchema>;
export type MigrationSpec = z.output<typeof migrationSpecSchema>;
export type TableSpec = MigrationSpec['tables'][number];

/** Validate a spec object, or throw a SpecError naming every bad field. */
export function parseSpec(input: unknown): MigrationSpec {
  const r = migrationSpecSchema.safeParse(input);
  if (r.success) {
    assertSafeSql(r.data);
    return r.data;
  }
  const problems = r.error.issues.map((i) => `${i.path.join('.') || '(spec)'} ${i.message}`);
  throw new SpecError(`invalid migration spec:\n  - ${problems.join('\n  - ')}`);
}

/** Read and validate a JSON spec file. */
export function loadSpecFile(file: string): MigrationSpec {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new SpecError(`cannot read spec file ${file}: ${(e as Error).message}`);
  }
  try {
    return parseSpec(JSON.parse(raw));
  } catch (e) {
    if (e instanceof SpecError) throw e;
    throw new SpecError(`spec file ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Refuse SQL in a spec that could write to the source, lock, or leave the read-only
 * session: throws UnsafeExpressionError listing every table and column.
 */
export function assertSafeSql(spec: { readonly name: string; readonly tables: readonly TableSpec[] }): void {
  const problems: string[] = [];
  for (const t of spec.tables) {
    if ('query' in t.source)
      for (const p of sqlProblems(t.source.query, 'query')) problems.push(`table ${t.name}: source query ${p}`);
    for (const [col, expr] of Object.entries(t.columns))
      for (const p of sqlProblems(expr, 'expression')) problems.push(`table ${t.name}: column ${col} ${p}`);
    const reverse = (t as { reverse?: Record<string, string> }).reverse ?? {};
    for (const [col, expr] of Object.entries(reverse))
      for (const p of sqlProblems(expr, 'expression')) problems.push(`table ${t.name}: reverse column ${col} ${p}`);
  }
  if (problems.length)
    throw new UnsafeExpressionError(`unsafe SQL in migration spec ${spec.name}:\n  - ${problems.join('\n  - ')}`);
}

/** Schema of a source table named without one. The source has no `targetSchema`: the old app's tables are in `public`. */
export const DEFAULT_SOURCE_SCHEMA = 'public';

const inSchema = (table: string, schema: string) => (table.includes('.') ? table : `${schema}.${table}`);

/**
 * The target table, schema-qualified (`app.messages`): the table's `target.schema`, else a
 * schema-qualified `target.table`, else `public` (for a table spec built without `parseSpec`,
 * which fills in the spec's `targetSchema`). PrepareTarget, COPY, validation and both
 * directions of the sync use this, never the login's search_path.
 */
export function targetRelation(t: TableSpec): string {
  return inSchema(t.target.table, t.target.schema ?? 'public');
}

/**
 * The source table, schema-qualified: a schema-qualified `source.table` as written, else
 * `public.<table>` (never the login's search_path, whose `"$user"` is the bookkeeping schema
 * `switchyard` on RDS). Null for a query source. The copy, validation and the sync read this.
 */
export function sourceRelation(t: TableSpec): string | null {
  return 'table' in t.source ? inSchema(t.source.table, DEFAULT_SOURCE_SCHEMA) : null;
}

/**
 * A table spec with both tables schema-qualified exactly as the copy resolves them
 * (`sourceRelation`, `targetRelation`): what the sync, the round-trip check and the sequence
 * moves work on. Idempotent.
 */
export function qualifiedTableSpec(t: TableSpec): TableSpec {
  const target = targetRelation(t);
  const source = sourceRelation(t);
  return {
    ...t,
    ...(source === null ? {} : { source: { table: source } }),
    target: { ...t.target, table: target, schema: target.slice(0, target.indexOf('.')) },
  };
}

/** Target key columns of a table (defaults to the source key names). */
export function targetKey(t: TableSpec): string[] {
  return t.target.key ?? t.key;
}

/** Target columns in copy order: key columns first, then the mapped columns. */
export function targetColumns(t: TableSpec): string[] {
  return [...targetKey(t), ...Object.keys(t.columns)];
}
