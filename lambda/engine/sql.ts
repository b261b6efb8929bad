import type { PgType } from './lossy';
import type { TableSpec } from './spec';
import { sourceRelation, targetKey, targetRelation } from './spec';

/** Quote an identifier, schema-qualified names part by part. */
export function qi(name: string): string {
  return name
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');
}

/** Quote a literal (sessions run with standard_conforming_strings on, see db.ts). */
export function ql(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A column of the target table with the type the projection is cast to. */
export interface ColumnLayout {
  readonly name: string;
  /** Type used for the source-side cast (`bigint`, `timestamp with time zone`, or `text` for non-catalog types). */
  readonly castType: string;
  /**
   * The target column's own type, schema-qualified, when it is not a built-in (an enum, a domain):
   * a projection evaluated on the target (the sync's apply) is cast on to it from `castType`,
   * since there is no assignment cast from text to an enum. @default - castType
   */
  readonly targetCast?: string;
  /** True when the target type is not a built-in: both sides compare its text form. */
  readonly compareAsText: boolean;
  /** Declared type of the source expression (from a `LIMIT 0` describe of the projection). */
  readonly sourceType: PgType;
  /** Declared type of the target column. */
  readonly targetType: PgType;
  /** Why the target type is narrower than the source's (see lossy.ts), or null. */
  readonly narrowing: string | null;
  /** `format_type` of the source type without its modifier, when built in: the target's values are cast back to it for validation of a narrowing. */
  readonly sourceBaseType: string | null;
}

/** What the engine needs to know about one table on both sides (from `describeTable`). */
export interface TableLayout {
  readonly spec: TableSpec;
  /** Target columns, in copy order (key columns first). */
  readonly columns: readonly ColumnLayout[];
  /** Types of the source key columns, for literal casts. */
  readonly sourceKeyTypes: readonly string[];
  /** Types of the target key columns. */
  readonly targetKeyTypes: readonly string[];
  /**
   * Per target key column, the collation its range comparisons and key order use on the target so
   * they sort like the source (collation.ts); null where the two sides already sort alike.
   * @default - none
   */
  readonly targetKeyCollations?: readonly (string | null)[];
  /** What a key sorted differently on the two sides, with no way to align them, risks (collation.ts). @default - none */
  readonly keyCollationWarnings?: readonly string[];
}

/** A key range: lower inclusive, upper exclusive; null means unbounded. Values are the keys' text forms. */
export interface KeyRange {
  readonly lower: readonly string[] | null;
  readonly upper: readonly string[] | null;
}

export const FULL_RANGE: KeyRange = { lower: null, upper: null };

/** The source row set aliased `s`: the schema-qualified source table (`sourceRelation`), or the query. */
export function sourceFrom(t: TableSpec): string {
  return 'table' in t.source ? `${qi(sourceRelation(t)!)} AS s` : `(${t.source.query}) AS s`;
}

/** `alias.col`, with `COLLATE <collation>` where one is given: a key column as ranges compare and order it. */
export function keyColumnExprs(
  cols: readonly string[],
  alias: string,
  collations?: readonly (string | null)[],
): string[] {
  return cols.map((c, i) => (collations?.[i] ? `${alias}.${qi(c)} COLLATE ${collations[i]}` : `${alias}.${qi(c)}`));
}

function tuple(cols: readonly string[], alias: string, collations?: readonly (string | null)[]): string {
  const parts = keyColumnExprs(cols, alias, collations);
  return parts.length === 1 ? parts[0] : `(${parts.join(', ')})`;
}

function literalTuple(values: readonly string[], types: readonly string[]): string {
  const parts = values.map((v, i) => `${ql(v)}::${types[i]}`);
  return parts.length === 1 ? parts[0] : `(${parts.join(', ')})`;
}

/** WHERE clause restricting `alias`'s key columns to `range` (TRUE for the full range). */
export function rangePredicate(
  cols: readonly string[],
  types: readonly string[],
  alias: string,
  range: KeyRange,
  collations?: readonly (string | null)[],
): string {
  const conds: string[] = [];
  if (range.lower) conds.push(`${tuple(cols, alias, collations)} >= ${literalTuple(range.lower, types)}`);
  if (range.upper) conds.push(`${tuple(cols, alias, collations)} < ${literalTuple(range.upper, types)}`);
  return conds.length ? conds.join(' AND ') : 'TRUE';
}

/** The spec's SQL expression of every target column over the source row `s`, uncast, in copy order. */
export function rawExprs(layout: TableLayout): string[] {
  const t = layout.spec;
  const keyMap = new Map(targetKey(t).map((k, i) => [k, `s.${qi(t.key[i])}`]));
  return layout.columns.map((c) => keyMap.get(c.name) ?? t.columns[c.name]);
}

const sameType = (c: ColumnLayout) => c.sourceType.display === c.targetType.display && !c.compareAsText;

/** Source-side expressions of every target column, cast to the target type: what the copy (and the sync) writes. */
export function projectionExprs(layout: TableLayout): string[] {
  return rawExprs(layout).map((e, i) => `(${e})::${layout.columns[i].castType}`);
}

/** The projection as the target database evaluates it (the sync's staging rows): cast on to the target's own types. */
export function targetSideExprs(layout: TableLayout): string[] {
  return projectionExprs(layout).map((e, i) => {
    const to = layout.columns[i].targetCast;
    return to ? `(${e})::${to}` : e;
  });
}

/** `SELECT <projection> FROM <source> s WHERE <range>`: the rows the copy writes for `range`. */
export function sourceSelect(layout: TableLayout, range: KeyRange, extraWhere?: string): string {
  const exprs = projectionExprs(layout).map((e, i) => `${e} AS ${qi(layout.columns[i].name)}`);
  const where = [rangePredicate(layout.spec.key, layout.sourceKeyTypes, 's', range), extraWhere]
    .filter(Boolean)
    .join(' AND ');
  return `SELECT ${exprs.join(', ')} FROM ${sourceFrom(layout.spec)} WHERE ${where}`;
}

/**
 * How validation compares one column, on each side. Identical types: as stored. A
 * narrowing (only with `allowLossy`, or when PrepareTarget was skipped): the source value
 * *before* any cast to the target type, against the target value cast back to the source's
 * type, so a truncated or rounded value is a mismatch. Anything else (a widening or a
 * conversion such as text → jsonb): the source cast to the target type, which loses nothing.
 */
function compareExprs(c: ColumnLayout, sourceExpr: string, targetCol: string): [string, string] {
  if (sameType(c)) return [`(${sourceExpr})`, targetCol];
  if (c.narrowing) {
    if (c.sourceType.name === 'numeric' && !c.sourceType.array)
      return [`trim_scale((${sourceExpr})::numeric)`, `trim_scale(${targetCol}::numeric)`];
    if (c.sourceBaseType) return [`(${sourceExpr})`, `${targetCol}::${c.sourceBaseType}`];
    return [`(${sourceExpr})::text`, `${targetCol}::text`];
  }
  if (c.compareAsText) return [`(${sourceExpr})::text`, `${targetCol}::text`];
  return [`(${sourceExpr})::${c.castType}`, targetCol];
}

/** The source rows validation hashes for `range` (see `compareExprs`), columns named after the target's. */
export function sourceCompareSelect(layout: TableLayout, range: KeyRange): string {
  const exprs = rawExprs(layout).map(
    (e, i) => `${compareExprs(layout.columns[i], e, '')[0]} AS ${qi(layout.columns[i].name)}`,
  );
  return `SELECT ${exprs.join(', ')} FROM ${sourceFrom(layout.spec)} WHERE ${rangePredicate(layout.spec.key, layout.sourceKeyTypes, 's', range)}`;
}

/** The target rows of `range`, columns in copy order, comparable with `sourceCompareSelect`. */
export function targetSelect(layout: TableLayout, range: KeyRange): string {
  const cols = layout.columns.map((c) => `${compareExprs(c, '', `t.${qi(c.name)}`)[1]} AS ${qi(c.name)}`);
  return (
    `SELECT ${cols.join(', ')} FROM ${qi(targetRelation(layout.spec))} AS t WHERE ` +
    `${rangePredicate(targetKey(layout.spec), layout.targetKeyTypes, 't', range, layout.targetKeyCollations)}`
  );
}

/** The schema-qualified, quoted target table. */
export function targetTable(layout: TableLayout): string {
  return qi(targetRelation(layout.spec));
}

/** Order-independent 64-bit hash sum and count of a row set, computed in the database. */
export function checksumSql(rowsSql: string): string {
  return `SELECT count(*)::bigint AS rows, coalesce(sum(hashtextextended(r::text, 0)), 0)::text AS hash FROM (${rowsSql}) AS r`;
}

export function targetColumnList(layout: TableLayout): string {
  return layout.columns.map((c) => qi(c.name)).join(', ');
}
