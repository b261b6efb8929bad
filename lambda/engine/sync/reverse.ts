import type { Client } from 'pg';
import { type DbEndpoint, withClient } from '../db';
import { describeTable } from '../prepare';
import type { MigrationSpec, TableSpec } from '../spec';
import { qualifiedTableSpec, sourceRelation, targetKey } from '../spec';
import { projectionExprs, qi } from '../sql';
import { describe, redactedCause, SchemaMismatchError } from '../errors';
import { ReverseMappingMissingError } from './errors';

/** Both tables of a table spec schema-qualified as the copy resolves them (re-exported from spec.ts). */
export { qualifiedTableSpec };

/** `s.col` or `s."col"`: a plain column reference, the only forward mapping that inverts by itself. */
const BARE_COLUMN = /^\s*s\s*\.\s*(?:"((?:[^"]|"")+)"|([a-z_][a-z0-9_$]*))\s*$/i;

function bareColumn(expr: string): string | null {
  const m = BARE_COLUMN.exec(expr);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2].toLowerCase();
}

/**
 * The reverse mapping of a table (old column -> expression over the new-side row `s`):
 * the spec's `reverse`, or derived when every forward mapping is a plain column
 * reference (`target = s.<column>`, renames included). Null for `forwardOnly` tables.
 * Throws ReverseMappingMissingError naming the columns that cannot be inverted.
 */
export function reverseMapping(t: TableSpec): Record<string, string> | null {
  if (t.forwardOnly) return null;
  if (t.reverse) return t.reverse;
  const out: Record<string, string> = {};
  const bad: string[] = [];
  for (const [targetCol, expr] of Object.entries(t.columns)) {
    const src = bareColumn(expr);
    if (src === null) bad.push(targetCol);
    else if (!(src in out) && !t.key.includes(src)) out[src] = `s.${qi(targetCol)}`;
  }
  if (bad.length) {
    throw new ReverseMappingMissingError(
      `table ${t.name}: the forward mapping of target column(s) ${bad.join(', ')} is not a plain s.<column> and cannot be inverted: ` +
        `add "reverse": { <old column>: <SQL over the new row s> } to the table in the spec, or "forwardOnly": true if it is never synced back`,
    );
  }
  return out;
}

/** Check every table of a spec for a usable reverse mapping (at spec check time). */
export function checkReverseMappings(spec: MigrationSpec): void {
  for (const t of spec.tables) reverseMapping(t);
}

/**
 * The spec of one table for a direction, both tables schema-qualified exactly as the copy
 * resolves them (`qualifiedTableSpec`): forward reads the old table (`sourceRelation`) and
 * writes the new one (`targetRelation`, in the target schema); reverse reads that new table
 * and writes the old one through the reverse mapping. Null for a forwardOnly table in reverse.
 */
export function directedTableSpec(t: TableSpec, direction: 'forward' | 'reverse'): TableSpec | null {
  const q = qualifiedTableSpec(t);
  if (direction === 'forward') return q;
  const mapping = reverseMapping(t);
  if (!mapping) return null;
  if (!('table' in q.source)) {
    throw new ReverseMappingMissingError(
      `table ${t.name}: the source is a query; a reverse sync needs a source table: set "forwardOnly": true`,
    );
  }
  return {
    name: t.name,
    source: { table: q.target.table },
    key: targetKey(q),
    target: { table: q.source.table, schema: q.source.table.slice(0, q.source.table.indexOf('.')), key: q.key },
    columns: mapping,
    chunkSize: t.chunkSize,
  };
}

export interface RoundTripColumn {
  readonly column: string;
  /** Sampled rows whose value does not come back unchanged after forward then reverse. */
  readonly differing: number;
}

export interface RoundTripReport {
  readonly table: string;
  readonly sampled: number;
  readonly columns: readonly RoundTripColumn[];
  /** Columns (old side) that do not survive forward then reverse on the sample. */
  readonly notSurviving: readonly string[];
  /** Old-side columns the reverse mapping never writes (they keep their value, or their default on insert). */
  readonly notWritten: readonly string[];
}

/**
 * Forward then reverse on a sample of `sample` old-side rows, in SQL on the old
 * database (read-only), compared column by column with the original rows. Names the
 * columns that do not survive: what a rollback through the reverse sync would change.
 * `target` is read only for the new side's column types.
 */
export async function roundTripCheck(
  spec: MigrationSpec,
  source: DbEndpoint,
  target: DbEndpoint,
  opts: { sample?: number } = {},
): Promise<RoundTripReport[]> {
  const sample = opts.sample ?? 1000;
  return withClient(source, { readOnly: true }, (src) =>
    withClient(target, { readOnly: true }, async (tgt) => {
      const out: RoundTripReport[] = [];
      for (const raw of spec.tables) {
        const rev = directedTableSpec(raw, 'reverse');
        if (!rev) continue;
        out.push(await roundTripTable(qualifiedTableSpec(raw), rev, src, tgt, sample));
      }
      return out;
    }),
  );
}

async function sourceColumnTypes(c: Client, table: string): Promise<Map<string, string>> {
  const r = await c.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [qi(table)],
  );
  return new Map(r.rows.map((x) => [x.name as string, x.type as string]));
}

async function roundTripTable(
  fwd: TableSpec,
  rev: TableSpec,
  src: Client,
  tgt: Client,
  sample: number,
): Promise<RoundTripReport> {
  const layout = await describeTable(fwd, src, tgt);
  const oldTable = sourceRelation(fwd)!;
  const oldTypes = await sourceColumnTypes(src, oldTable);
  const fwdExprs = projectionExprs(layout).map((e, i) => `${e} AS ${qi(layout.columns[i].name)}`);
  const revCols: [string, string][] = [
    ...fwd.key.map((k, i): [string, string] => [k, `s.${qi(targetKey(fwd)[i])}`]),
    ...Object.entries(rev.columns),
  ];
  const backExprs = revCols.map(([col, expr]) => `(${expr})::${oldTypes.get(col) ?? 'text'} AS ${qi(col)}`);
  const written = Object.keys(rev.columns);
  const keyJoin = fwd.key.map((k) => `o.${qi(k)} = b.${qi(k)}`).join(' AND ');
  // Both sides have the old column's type: compare text forms (json, xml, point have no equality operator).
  const diffs = written.map(
    (c, i) => `count(*) FILTER (WHERE (o.${qi(c)})::text IS DISTINCT FROM (b.${qi(c)})::text)::int AS d${i}`,
  );
  const sql = `WITH o AS (SELECT * FROM ${qi(oldTable)} AS s ORDER BY ${fwd.key.map((k) => `s.${qi(k)}`).join(', ')} LIMIT ${Math.max(1, Math.floor(sample))}),
                    f AS (SELECT ${fwdExprs.join(', ')} FROM o AS s),
                    b AS (SELECT ${backExprs.join(', ')} FROM f AS s)
               SELECT count(*)::int AS sampled${diffs.length ? `, ${diffs.join(', ')}` : ''} FROM o JOIN b ON ${keyJoin}`;
  const r = (
    await src.query(sql).catch((e) => {
      throw new SchemaMismatchError(
        `table ${fwd.name}: the round-trip check (forward then reverse mapping on ${sample} sampled old-side rows) failed: ` +
          `${describe(e)}. Fix the reverse mapping of the table in the spec so that it accepts every value the new side can hold`,
        { cause: redactedCause(e) },
      );
    })
  ).rows[0] as Record<string, number>;
  const columns = written.map((c, i) => ({ column: c, differing: r[`d${i}`] }));
  return {
    table: fwd.name,
    sampled: r.sampled,
    columns,
    notSurviving: columns.filter((c) => c.differing > 0).map((c) => c.column),
    notWritten: [...oldTypes.keys()].filter((c) => !written.includes(c) && !fwd.key.includes(c)),
  };
}
