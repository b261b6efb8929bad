import * as fs from 'fs';
import { z } from 'zod';
import { SpecError } from './errors';

/**
 * A migration spec: what to copy from the old database to the new one, and how
 * each target column is computed from the source row. Versioned with the repo;
 * `version` lets a future format change refuse old files loudly.
 */

const IDENT = /^[a-z_][a-z0-9_$]*$/i;
const QUALIFIED = /^([a-z_][a-z0-9_$]*\.)?[a-z_][a-z0-9_$]*$/i;
const ident = z.string().regex(IDENT, 'must be a plain SQL identifier (letters, digits, _)');
const qualified = z.string().regex(QUALIFIED, 'must be a table name, optionally schema-qualified');

const tableSpecSchema = z
  .object({
    /** Name used in reports and checkpoints. */
    name: z.string().regex(/^[a-z0-9_-]+$/i, 'must be letters, digits, _ or -'),
    /** Source: a table, or a SELECT (for splits/merges). The source row is aliased `s`. */
    source: z.union([z.object({ table: qualified }).strict(), z.object({ query: z.string().regex(/^\s*(select|with)\b/i, 'must be a SELECT or WITH query') }).strict()]),
    /** Key columns of the source row, in order; together unique. */
    key: z.array(ident).min(1, 'must name at least one key column'),
    target: z
      .object({
        table: qualified,
        /** Target columns receiving the key values, same order as `key`. @default - same names as `key` */
        key: z.array(ident).optional(),
      })
      .strict(),
    /** Target column -> SQL expression over the source row `s` (rename, cast, CASE, functions). Key columns are added automatically. */
    columns: z.record(ident, z.string().min(1, 'must be a SQL expression')),
    /** Source column holding a last-modified timestamp or version, for catch-up. @default - no catch-up for this table */
    watermark: ident.optional(),
    /** Rows per chunk. @default 50000 */
    chunkSize: z.number().int().min(1).max(10_000_000).default(50_000),
  })
  .strict()
  .superRefine((t, ctx) => {
    const targetKey = t.target.key ?? t.key;
    if (targetKey.length !== t.key.length) {
      ctx.addIssue({ code: 'custom', path: ['target', 'key'], message: `must have as many columns as key (${t.key.length}), got: ${targetKey.length}` });
    }
    for (const k of targetKey) {
      if (k in t.columns) ctx.addIssue({ code: 'custom', path: ['columns', k], message: 'is a key column: it is copied from the source key and must not be mapped' });
    }
  });

export const migrationSpecSchema = z
  .object({
    version: z.literal(1, 'must be 1 (the only spec format this engine reads)'),
    name: z.string().regex(/^[a-z0-9-]+$/, 'must be a lowercase spec name'),
    /** Statements creating the target schema; applied once per distinct text, in order. */
    targetDdl: z.array(z.string().min(1)).default([]),
    tables: z.array(tableSpecSchema).min(1, 'must list at least one table'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.tables.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['tables', i, 'name'], message: `must be unique, got: ${t.name} twice` });
      seen.add(t.name);
    });
  });

export type MigrationSpecInput = z.input<typeof migrationSpecSchema>;
export type MigrationSpec = z.output<typeof migrationSpecSchema>;
export type TableSpec = MigrationSpec['tables'][number];

/** Validate a spec object, or throw a SpecError naming every bad field. */
export function parseSpec(input: unknown): MigrationSpec {
  const r = migrationSpecSchema.safeParse(input);
  if (r.success) return r.data;
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

/** Target key columns of a table (defaults to the source key names). */
export function targetKey(t: TableSpec): string[] {
  return t.target.key ?? t.key;
}

/** Target columns in copy order: key columns first, then the mapped columns. */
export function targetColumns(t: TableSpec): string[] {
  return [...targetKey(t), ...Object.keys(t.columns)];
}
