import type { Client } from 'pg';
import { describeTable } from '../prepare';
import type { MigrationSpec, TableSpec } from '../spec';
import { sourceRelation, targetRelation } from '../spec';
import { qi, type TableLayout } from '../sql';
import { directedTableSpec } from './reverse';
import type { Direction } from './names';
import { ReverseMappingMissingError } from './errors';

/** One table as one direction of the sync sees it: what it reads, and the projection it writes through. */
export interface SyncTable {
  /** Spec of this direction (reverse: new table -> old table through the reverse mapping), names qualified. */
  readonly spec: TableSpec;
  readonly layout: TableLayout;
  /** `schema.table` of the table whose changes are read. */
  readonly sourceTable: string;
  /** Position in the spec: upserts go in this order, deletes in the opposite one (parents before children). */
  readonly order: number;
  /**
   * The other spec tables of this direction that write the same destination table (a merge). Empty when
   * the table is mapped one-to-one: its destination holds its rows only, so a TRUNCATE can be replayed.
   */
  readonly sharesDestinationWith: readonly string[];
}

/** The source tables a direction publishes (schema-qualified). */
export function publishedTables(spec: MigrationSpec, direction: Direction): string[] {
  const out: string[] = [];
  for (const t of spec.tables) {
    const d = directedTableSpec(t, direction);
    if (d && 'table' in d.source) out.push(sourceRelation(d)!);
  }
  return out;
}

/** The source tables of a direction that are keyless (matched by all columns): their source needs REPLICA IDENTITY FULL. */
export function keylessTables(spec: MigrationSpec, direction: Direction): string[] {
  const out: string[] = [];
  for (const t of spec.tables) {
    const d = directedTableSpec(t, direction);
    if (d?.keyless && 'table' in d.source) out.push(sourceRelation(d)!);
  }
  return out;
}

/**
 * Refuse to sync keyless tables back (the CLI's rollback window): their rows written on the new side
 * would be left behind without a word. Throws ReverseMappingMissingError naming every such table.
 */
export function assertNoKeylessBack(spec: MigrationSpec): void {
  const keyless = spec.tables.filter((t) => t.keyless).map((t) => sourceRelation(t) ?? t.name);
  if (!keyless.length) return;
  throw new ReverseMappingMissingError(
    `table(s) ${keyless.join(', ')} have no primary or unique key: they are synced forward only, so a reverse sync ` +
      `would leave their rows written on the target behind. Nothing was changed. Add a primary key to them on the ` +
      `source and sync again, or switch over without --reverse (the source then keeps these tables as they were)`,
  );
}

/** Describe every table of a direction against the open source and destination connections. */
export async function syncTables(
  spec: MigrationSpec,
  direction: Direction,
  src: Client,
  dst: Client,
): Promise<SyncTable[]> {
  const out: SyncTable[] = [];
  const writers = new Map<string, string[]>();
  for (const [order, t] of spec.tables.entries()) {
    const d = directedTableSpec(t, direction);
    if (!d) continue;
    const dest = targetRelation(d);
    writers.set(dest, [...(writers.get(dest) ?? []), d.name]);
    if (!('table' in d.source)) continue; // query sources cannot be captured; checkSyncPreconditions names them
    const layout = await describeSyncTable(d, src, dst);
    out.push({ spec: d, layout, sourceTable: sourceRelation(d)!, order, sharesDestinationWith: [] });
  }
  return out.map((t) => ({
    ...t,
    sharesDestinationWith: (writers.get(targetRelation(t.spec)) ?? []).filter((n) => n !== t.spec.name),
  }));
}

/**
 * The layout the applier writes through. Its casts come from the destination's types; the source's
 * current row type matters only for validation. A mapped column dropped on the source since the
 * changes still in the stream were written must not stop the sync before it reaches the drop: the
 * source is described with such expressions as NULL, and the layout keeps the spec's own
 * expressions (the changes before the drop carry the column; the first one after it is refused by
 * name in the applier's bind, apply.ts).
 */
async function describeSyncTable(d: TableSpec, src: Client, dst: Client): Promise<TableLayout> {
  const r = await src.query(
    `SELECT array_agg(attname::text) AS cols FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [qi(sourceRelation(d)!)],
  );
  const present = new Set<string>((r.rows[0]?.cols as string[] | null) ?? []);
  const gone = Object.entries(d.columns).filter(([, e]) => present.size && columnsRead(e).some((c) => !present.has(c)));
  if (!gone.length) return describeTable(d, src, dst);
  const patched = { ...d, columns: { ...d.columns, ...Object.fromEntries(gone.map(([c]) => [c, 'NULL'])) } };
  return { ...(await describeTable(patched, src, dst)), spec: d };
}

/**
 * The source columns an expression reads as `s.<column>` or `s."column"` (string literals ignored;
 * a whole-row `s` is not listed). Used to name the spec column a dropped source column breaks.
 */
export function columnsRead(expr: string): string[] {
  const text = expr.replace(/'(?:[^']|'')*'/g, "''");
  const out = new Set<string>();
  for (const m of text.matchAll(/(?:^|[^a-z0-9_$.])s\s*\.\s*(?:"((?:[^"]|"")+)"|([a-z_][a-z0-9_$]*))/gi))
    out.add(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2].toLowerCase());
  return [...out];
}

/**
 * Does the SQL expression read any of `columns` of the row `s`? (`s.col`, `s."col"`, or the
 * whole row `s`). Used to keep a target column's value when a source column it reads was an
 * unchanged TOAST value the change did not carry.
 */
export function readsAny(expr: string, columns: readonly string[]): boolean {
  if (/(^|[^a-z0-9_$."])s\s*(?!\s*\.)(?=[^a-z0-9_$]|$)/i.test(expr.replace(/'(?:[^']|'')*'/g, "''"))) return true;
  const text = expr.replace(/'(?:[^']|'')*'/g, "''");
  return columns.some((c) => {
    const quoted = `"${c.replace(/"/g, '""')}"`;
    const plain = /^[a-z_][a-z0-9_$]*$/.test(c) ? `|${c}(?![a-z0-9_$])` : '';
    return new RegExp(
      `(^|[^a-z0-9_$])s\\s*\\.\\s*(?:${quoted.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${plain})`,
      'i',
    ).test(text);
  });
}

export function keyColumnsSql(cols: readonly string[], alias: string): string {
  const parts = cols.map((c) => `${alias}.${qi(c)}`);
  return parts.length === 1 ? parts[0] : `(${parts.join(', ')})`;
}
