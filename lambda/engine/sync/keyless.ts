import type { Client } from 'pg';
import { META_SCHEMA } from '../prepare';
import { targetRelation } from '../spec';
import { qi, targetSideExprs } from '../sql';
import type { BoundRelation } from './apply';

/*
 * Keyless tables (spec `keyless`: no primary or unique key, identical rows allowed, an audit log).
 *
 * Identity: a row is all of its columns. The source has REPLICA IDENTITY FULL, so every UPDATE and
 * DELETE carries the whole old row (pgoutput sends it detoasted; an unchanged TOAST value of the new
 * row is taken from it).
 *
 * Coalescing: the changes of a flush are counted per distinct row value: an INSERT is +1, a DELETE -1,
 * an UPDATE -1 for the old row and +1 for the new one. The source applied them in commit order, each to
 * a row that existed then, so the destination (which held the source's rows before the flush) ends equal
 * whatever order the net counts are applied in: a value with a net +n gets n more rows, one with -n loses
 * n of its identical rows (any n of them: they cannot be told apart), chosen by ctid.
 *
 * Matching: a destination row matches a staged value when every column's text is the same, compared as
 * one text (`ROW(t.a::text, t.b::text)::text = ROW(<a>::text, <b>::text)::text`): NULL-safe (a NULL
 * field renders empty, an empty string as ""), defined for types with no equality operator (json, point,
 * xml), exact for values that compare equal but print differently (numeric 1.0 and 1.00, citext), and one
 * hashable equality, so a flush is one hash join with a scan of the destination table (no index can
 * serve it: PostgreSQL's own apply scans too, per change, without an index on the identity).
 *
 * The copy: replaying a change the copy already holds is not harmless here (an INSERT would add an identical
 * row twice). The copy of a keyless table reads one REPEATABLE READ snapshot and records it with its
 * checkpoint, with the WAL position read just after it (copy.ts); the applier skips a keyless table's
 * changes of every source transaction that snapshot sees (`seenByCopy`): committed at or before that
 * position, and visible in the snapshot by its xid. Transactions committed after the position are never
 * in it, so a long run never compares xids that wrapped around.
 *
 * A DELETE (or the old row of an UPDATE) whose row the destination does not have removes nothing, as
 * PostgreSQL's own apply skips it. Not covered: conflicts, tombstones and the reverse direction (the spec
 * requires `forwardOnly`): with no stable identity, "the same row on the other side" is not defined.
 */

/** Where a keyless table's destination row text equals a staged row's (`t` the destination, `s` the stage). */
function rowMatch(rel: BoundRelation): string {
  const l = rel.table.layout;
  const exprs = targetSideExprs(l);
  const dest = l.columns.map((c) => `t.${qi(c.name)}::text`);
  return `ROW(${dest.join(', ')})::text = ROW(${exprs.map((e) => `(${e})::text`).join(', ')})::text`;
}

/** Delete, per staged 'D' value, as many matching destination rows as its count (any of the identical ones). */
export function keylessDeleteSql(rel: BoundRelation): string {
  const target = qi(targetRelation(rel.table.layout.spec));
  return (
    `WITH m AS (SELECT t.ctid AS tid, s._sy_count AS want, row_number() OVER (PARTITION BY s._sy_n ORDER BY t.ctid) AS rn ` +
    `FROM ${target} AS t JOIN ${qi(rel.stage)} AS s ON s._sy_op = 'D' AND ${rowMatch(rel)}) ` +
    `DELETE FROM ${target} AS t USING m WHERE t.ctid = m.tid AND m.rn <= m.want`
  );
}

/** Insert, per staged 'I' value, as many rows as its count. */
export function keylessInsertSql(rel: BoundRelation): string {
  const l = rel.table.layout;
  const cols = l.columns.map((c) => qi(c.name));
  return (
    `INSERT INTO ${qi(targetRelation(l.spec))} (${cols.join(', ')}) OVERRIDING SYSTEM VALUE SELECT ${targetSideExprs(l).join(', ')} ` +
    `FROM ${qi(rel.stage)} AS s CROSS JOIN LATERAL generate_series(1, s._sy_count) AS g WHERE s._sy_op = 'I'`
  );
}

/** Where the copy of a keyless table read the source (copy.ts: COPY_POINT). */
export interface CopyPoint {
  readonly xmin: bigint;
  readonly xmax: bigint;
  readonly xip: ReadonlySet<bigint>;
  readonly lsn: bigint;
}

const lsnOf = (text: string) => {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

/** Parse `pg_current_snapshot()::text` (`xmin:xmax:xip,...`) and the position after it. */
export function parseCopyPoint(snapshot: string, lsn: string): CopyPoint {
  const [xmin, xmax, xip] = snapshot.split(':');
  return {
    xmin: BigInt(xmin),
    xmax: BigInt(xmax),
    xip: new Set((xip ?? '').split(',').filter(Boolean).map(BigInt)),
    lsn: lsnOf(lsn),
  };
}

const EPOCH = 1n << 32n;

/**
 * Did the copy's snapshot see the source transaction `xid` (32 bits, from pgoutput's Begin) that
 * commits at `finalLsn`? Never after the copy's position; before it, the xid is widened to the 64-bit
 * value nearest the snapshot's xmax (transactions that close in time are within 2^31 of each other).
 */
export function seenByCopy(p: CopyPoint, xid: number, finalLsn: bigint): boolean {
  if (finalLsn > p.lsn) return false;
  const base = (p.xmax & ~(EPOCH - 1n)) | BigInt(xid);
  const full = [base - EPOCH, base, base + EPOCH].reduce((a, b) =>
    (a > p.xmax ? a - p.xmax : p.xmax - a) <= (b > p.xmax ? b - p.xmax : p.xmax - b) ? a : b,
  );
  return full < p.xmin || (full < p.xmax && !p.xip.has(full));
}

/** The latest copy point of a keyless table (by spec table name) on the destination, or null (no copy recorded). */
export async function loadCopyPoint(dst: Client, table: string): Promise<CopyPoint | null> {
  const exists = await dst.query(`SELECT to_regclass('${META_SCHEMA}.copy_chunks') IS NOT NULL AS e`);
  if (!exists.rows[0].e) return null;
  // to_jsonb: bookkeeping created before these columns existed has none (nothing recorded).
  const r = await dst.query(
    `SELECT to_jsonb(c) ->> 'source_snapshot' AS snap, to_jsonb(c) ->> 'source_lsn' AS lsn FROM ${META_SCHEMA}.copy_chunks c ` +
      `WHERE c.table_name = $1 AND c.copied_at IS NOT NULL ORDER BY c.copied_at DESC LIMIT 1`,
    [table],
  );
  const row = r.rows[0] as { snap: string | null; lsn: string | null } | undefined;
  return row?.snap && row.lsn ? parseCopyPoint(row.snap, row.lsn) : null;
}
