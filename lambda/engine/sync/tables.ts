import type { Client } from 'pg';
import { describeTable } from '../prepare';
import type { MigrationSpec, TableSpec } from '../spec';
import { sourceRelation } from '../spec';
import { qi, type TableLayout } from '../sql';
import { directedTableSpec } from './reverse';
import type { Direction } from './names';

/** One table as one direction of the sync sees it: what it reads, and the projection it writes through. */
export interface SyncTable {
  /** Spec of this direction (reverse: new table -> old table through the reverse mapping), names qualified. */
  readonly spec: TableSpec;
  readonly layout: TableLayout;
  /** `schema.table` of the table whose changes are read. */
  readonly sourceTable: string;
  /** Position in the spec: upserts go in this order, deletes in the opposite one (parents before children). */
  readonly order: number;
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

/** Describe every table of a direction against the open source and destination connections. */
export async function syncTables(
  spec: MigrationSpec,
  direction: Direction,
  src: Client,
  dst: Client,
): Promise<SyncTable[]> {
  const out: SyncTable[] = [];
  for (const [order, t] of spec.tables.entries()) {
    const d = directedTableSpec(t, direction);
    if (!d) continue;
    if (!('table' in d.source)) continue; // query sources cannot be captured; checkSyncPreconditions names them
    out.push({ spec: d, layout: await describeTable(d, src, dst), sourceTable: sourceRelation(d)!, order });
  }
  return out;
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
