import type { Client } from 'pg';
import { readOnly } from './db';
import { qi } from './sql';

/**
 * Key ranges (chunks, validation groups, bisection) are compared on both sides. A text key that
 * sorts by one collation on the source and another on the target would put different rows in the
 * "same" range on the two sides: validation would report rows as missing, and a retried chunk's
 * DELETE could remove rows of another chunk. When the collations differ, the target's side of every
 * range comparison uses the source's collation (an index on the target key then cannot serve it).
 */

/**
 * What a locale-bearing catalog row `j` (a pg_collation or pg_database row as jsonb) sorts by:
 * `<libc locale>`, `icu:<locale>` or `builtin:<locale>` (column names differ across versions).
 */
const sortsBy = (j: string, k: { provider: string; libc: string; locale: string; icuLocale: string }) =>
  `CASE coalesce(${j}->>'${k.provider}', 'c') WHEN 'c' THEN ${j}->>'${k.libc}'
     WHEN 'i' THEN 'icu:' || coalesce(${j}->>'${k.locale}', ${j}->>'${k.icuLocale}')
     ELSE 'builtin:' || (${j}->>'${k.locale}') END`;
const DATABASE_KEYS = {
  provider: 'datlocprovider',
  libc: 'datcollate',
  locale: 'datlocale',
  icuLocale: 'daticulocale',
};
const COLLATION_KEYS = {
  provider: 'collprovider',
  libc: 'collcollate',
  locale: 'colllocale',
  icuLocale: 'colliculocale',
};

/** The effective collation of each named column of `relation` (null: not collatable), normalised. */
const COLUMN_COLLATIONS = `
  WITH db AS (SELECT to_jsonb(d) AS j FROM pg_database d WHERE d.datname = current_database())
  SELECT k.name, CASE WHEN a.attcollation = 0 THEN NULL
           WHEN c.collprovider = 'd' OR c.collname = 'default' THEN ${sortsBy('db.j', DATABASE_KEYS)}
           ELSE ${sortsBy('to_jsonb(c)', COLLATION_KEYS)} END AS effective
    FROM unnest($2::text[]) WITH ORDINALITY AS k(name, i)
    LEFT JOIN pg_attribute a ON a.attrelid = to_regclass($1) AND a.attname = k.name AND NOT a.attisdropped
    LEFT JOIN pg_collation c ON c.oid = a.attcollation
    CROSS JOIN db
   ORDER BY k.i`;

/** Collations that sort by byte (code point) order in UTF-8: one class. */
const BYTEWISE = new Set(['c', 'posix', 'c.utf8', 'builtin:c', 'builtin:c.utf8']);

export function normaliseCollation(effective: string | null): string | null {
  if (effective === null) return null;
  const n = effective.toLowerCase().replace(/\.utf-8$/, '.utf8');
  return BYTEWISE.has(n) ? 'c' : n;
}

/** `readOnlySide`: the source, in its own read-only transaction (false: the caller's, or the target's). */
async function effectiveCollations(
  c: Client,
  relation: string,
  columns: readonly string[],
  readOnlySide: boolean,
): Promise<(string | null)[]> {
  // A named (prepared) statement: planned once per connection, not once per table.
  const q = { name: 'switchyard_column_collations', text: COLUMN_COLLATIONS, values: [qi(relation), columns] };
  const r = readOnlySide ? await readOnly(c, () => c.query(q)) : await c.query(q);
  return r.rows.map((row) => normaliseCollation(row.effective as string | null));
}

/** A collation of the target database that sorts like `normalised`, schema-qualified, or null. */
async function targetCollationLike(c: Client, normalised: string): Promise<string | null> {
  const r = await c.query(
    `SELECT format('%I.%I', n.nspname, c.collname) AS q, ${sortsBy('to_jsonb(c)', COLLATION_KEYS)} AS effective
       FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
      WHERE c.collprovider <> 'd' AND (c.collencoding = -1 OR c.collencoding = (SELECT encoding FROM pg_database WHERE datname = current_database()))
      ORDER BY c.collname = 'C' DESC, c.oid`,
  );
  return (
    (r.rows as { q: string; effective: string | null }[]).find((x) => normaliseCollation(x.effective) === normalised)
      ?.q ?? null
  );
}

/** What `targetKeyCollations` needs to know of a table. */
export interface KeyCollationTable {
  name: string;
  sourceRelation: string | null;
  sourceKey: readonly string[];
  targetRelation: string;
  targetKey: readonly string[];
}

/**
 * For each target key column: the collation (qualified name) the target's range comparisons must
 * use so they sort like the source, or null when both sides already sort alike (or the key is not
 * text). When the target has no collation that sorts like the source's, the column stays in the
 * target's order and a warning says what that risks.
 */
export async function targetKeyCollations(
  src: Client,
  tgt: Client,
  table: KeyCollationTable,
  /** The caller already runs the source in a read-only transaction (db.ts: readOnly). @default false */
  opts: { sourceInReadOnly?: boolean } = {},
): Promise<{ collations: (string | null)[]; warnings: string[] }> {
  // A query source: its key expressions' collations are not catalogued.
  if (!table.sourceRelation) return { collations: table.targetKey.map(() => null), warnings: [] };
  const [s, t] = await Promise.all([
    effectiveCollations(src, table.sourceRelation, table.sourceKey, !opts.sourceInReadOnly),
    effectiveCollations(tgt, table.targetRelation, table.targetKey, false),
  ]);
  return alignCollations(tgt, table, s, t);
}

/** The effective collations of many tables' columns in one query: per table, in the order of its `columns`. */
export async function manyEffectiveCollations(
  c: Client,
  tables: readonly { relation: string; columns: readonly string[] }[],
): Promise<(string | null)[][]> {
  const flat = tables.flatMap((t, i) => t.columns.map((col) => ({ i, rel: qi(t.relation), col })));
  const out = tables.map(() => [] as (string | null)[]);
  if (!flat.length) return out;
  const r = await c.query(
    `WITH db AS (SELECT to_jsonb(d) AS j FROM pg_database d WHERE d.datname = current_database())
     SELECT k.t, CASE WHEN a.attcollation = 0 THEN NULL
              WHEN c.collprovider = 'd' OR c.collname = 'default' THEN ${sortsBy('db.j', DATABASE_KEYS)}
              ELSE ${sortsBy('to_jsonb(c)', COLLATION_KEYS)} END AS effective
       FROM unnest($1::int[], $2::text[], $3::text[]) WITH ORDINALITY AS k(t, rel, name, i)
       LEFT JOIN pg_attribute a ON a.attrelid = to_regclass(k.rel) AND a.attname = k.name AND NOT a.attisdropped
       LEFT JOIN pg_collation c ON c.oid = a.attcollation
      CROSS JOIN db
      ORDER BY k.i`,
    [flat.map((f) => f.i), flat.map((f) => f.rel), flat.map((f) => f.col)],
  );
  for (const row of r.rows) out[row.t as number].push(normaliseCollation(row.effective as string | null));
  return out;
}

/** Given both sides' effective key collations: the target collation to compare with, and the warnings. */
export async function alignCollations(
  tgt: Client,
  table: KeyCollationTable,
  s: readonly (string | null)[],
  t: readonly (string | null)[],
): Promise<{ collations: (string | null)[]; warnings: string[] }> {
  const warnings: string[] = [];
  const out: (string | null)[] = [];
  for (let i = 0; i < t.length; i++) {
    if (s[i] === null || t[i] === null || s[i] === t[i]) {
      out.push(null);
      continue;
    }
    const like = await targetCollationLike(tgt, s[i]!);
    if (!like) {
      warnings.push(
        `table ${table.name}: key column ${table.targetKey[i]} sorts by collation ${s[i]} on the source and ` +
          `${t[i]} on the target, and the target has no collation that sorts like ${s[i]}: ` +
          `key ranges are compared in the target's order there. Validation checks every differing key by value, ` +
          `but a retried chunk's DELETE may remove rows of neighbouring chunks ` +
          `(validation then reports them missing). Declare the target key column with a collation that sorts ` +
          `like the source's (COLLATE in targetDdl) to avoid it`,
      );
    }
    out.push(like);
  }
  return { collations: out, warnings };
}
