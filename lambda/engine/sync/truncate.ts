import type { Client } from 'pg';
import { META_SCHEMA } from '../prepare';
import { targetRelation } from '../spec';
import { qi } from '../sql';
import type { BoundRelation } from './apply';
import { UnsupportedChangeError } from './errors';
import type { Direction } from './names';
import type { SyncTable } from './tables';

/*
 * TRUNCATE in the change stream (pgoutput 'T'), applied in commit order with the changes around it:
 * - a table mapped one-to-one (its destination table holds its rows only) is emptied on the
 *   destination too: TRUNCATE without CASCADE or RESTART IDENTITY (sequences are moved by the
 *   migration, never reset; a destination table referenced by another table's foreign key is a
 *   named error, never a cascade into tables the source did not empty);
 * - with conflict detection (both sides take writes), the destination keeps the rows written
 *   LOCALLY after the TRUNCATE committed (later commit wins, ties as in conflicts.ts): a DELETE of
 *   every other row instead of a TRUNCATE; the kept rows reach the other side through the other
 *   direction;
 * - a table whose destination also holds other spec tables' rows (a merge) cannot be emptied: a
 *   named error naming the table and the way on, raised after every transaction committed before
 *   the truncating one was applied and stored (run.ts), none after it.
 */

/** Why a TRUNCATE of these tables (undefined: not a spec table) cannot be replayed, or null. */
export function truncateRefusal(tables: readonly (SyncTable | undefined)[]): UnsupportedChangeError | null {
  const merged = tables.filter((t): t is SyncTable => t !== undefined && t.sharesDestinationWith.length > 0);
  if (tables.some((t) => t === undefined))
    return new UnsupportedChangeError(
      'a TRUNCATE on the source names a relation that is not a spec table: check the publication. ' +
        'Every transaction before it was applied, none after it',
    );
  if (!merged.length) return null;
  const what = merged
    .map(
      (t) =>
        `${t.spec.name} (its destination ${targetRelation(t.spec)} also holds ${t.sharesDestinationWith.join(', ')})`,
    )
    .join('; ');
  return new UnsupportedChangeError(
    `TRUNCATE of ${what} on the source cannot be replayed: emptying the destination would delete the other tables' rows. ` +
      'Every transaction before it was applied, none after it. To go on, copy the destination again from all its source ' +
      'tables (re-run Migrate from PrepareTarget: drop the sync first), or restore the truncated rows on the source',
  );
}

/** Empty the destination tables of `rels` (see the rules above), inside the applier's transaction. */
export async function truncateTables(
  dst: Client,
  rels: readonly BoundRelation[],
  ts: string,
  direction: Direction,
  conflicts: boolean,
): Promise<void> {
  const targets = [...new Set(rels.map((r) => targetRelation(r.table.spec)))];
  try {
    if (!conflicts) {
      await dst.query(`TRUNCATE ${targets.map(qi).join(', ')}`);
      return;
    }
    const later = direction === 'reverse' ? '>=' : '>';
    for (const t of targets) {
      await dst.query(
        `DELETE FROM ${qi(t)} AS t
          WHERE EXISTS (SELECT 1 FROM ${META_SCHEMA}.applied_xacts AS a WHERE a.xid32 = t.xmin::text::bigint)
             OR NOT coalesce(pg_xact_commit_timestamp(t.xmin) ${later} $1::timestamptz, false)`,
        [ts],
      );
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== '0A000' && code !== '23503') throw e;
    throw new UnsupportedChangeError(
      `TRUNCATE of ${rels.map((r) => r.table.spec.name).join(', ')}: the destination ${targets.join(', ')} is referenced ` +
        `by a foreign key of a table the source did not empty (SQLSTATE ${code}). Every transaction before it was applied, ` +
        'none after it: empty the referencing table on the source in the same TRUNCATE, or drop that foreign key on the destination',
      { cause: e },
    );
  }
}
