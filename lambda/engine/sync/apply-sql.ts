import type { LoopGuard } from '../capabilities';
import { META_SCHEMA } from '../prepare';
import { targetKey, targetRelation } from '../spec';
import { qi, ql, targetSideExprs } from '../sql';
import type { BoundRelation } from './apply';
import type { Direction } from './names';
import { APPLYING_SETTING } from './tombstones';

/*
 * The applier's statements, as text (no bind parameters), so that the statements of one step travel
 * in ONE round trip as one multi-statement simple query: a destination transaction is
 *   1. begin:  BEGIN; the applier lock (tried); the tombstone setting; the loop mark; applied_xacts
 *   2. COPY of each touched table's coalesced rows into its staging table
 *   3. flush:  per table the conflict lock and check (two-way), deletes children-first, upserts
 *              parents-first, the staging tables emptied, the position, COMMIT
 * (plus one round trip for the fence when the caller fences, and the rare steps: waiting for a held
 * applier lock, unchanged TOAST values, pruning). Values inlined are the applier's own (slot, direction,
 * migration id, LSN, commit time, table names), quoted with `ql`: never a row value.
 */

export interface BeginOptions {
  readonly lockName: string;
  readonly loopGuard: LoopGuard;
  readonly migrationId: string;
  readonly direction: Direction;
  /** Try the applier lock here (its result is the second statement's `ok`). @default true */
  readonly lock?: boolean;
}

/**
 * Open the apply transaction. The second statement's `ok` says whether the applier lock was free (else the
 * caller waits for it, applier-lock.ts). The loop mark is the transaction's first change (nothing before it
 * is published); the loop marker row of servers without messages is written by the caller after this.
 */
export function beginSql(o: BeginOptions): string[] {
  return [
    'BEGIN',
    `SELECT ${o.lock === false ? 'true' : `pg_try_advisory_xact_lock(hashtextextended(${ql(o.lockName)}, 0))`} AS ok`,
    // The tombstone triggers record local deletes only: not the ones this transaction applies.
    `SELECT set_config(${ql(APPLYING_SETTING)}, 'on', true)`,
    ...(o.loopGuard === 'message'
      ? [`SELECT pg_logical_emit_message(true, 'switchyard'::text, ${ql(`${o.migrationId}:${o.direction}`)}::text)`]
      : []),
    `INSERT INTO ${META_SCHEMA}.applied_xacts (xid32, direction) VALUES ((pg_current_xact_id()::text::bigint % 4294967296), ` +
      `${ql(o.direction)}) ON CONFLICT (xid32) DO UPDATE SET direction = EXCLUDED.direction, applied_at = now()`,
  ];
}

/** Record the applied position (in the apply transaction: exactly once). */
export function positionSql(slot: string, direction: Direction, lsn: string, commitTimeIso: string): string {
  return (
    `INSERT INTO ${META_SCHEMA}.sync_position (slot_name, direction, lsn, commit_time, applied_at) VALUES ` +
    `(${ql(slot)}, ${ql(direction)}, ${ql(lsn)}::pg_lsn, ${ql(commitTimeIso)}::timestamptz, now()) ` +
    'ON CONFLICT (slot_name) DO UPDATE SET lsn = EXCLUDED.lsn, commit_time = EXCLUDED.commit_time, applied_at = now()'
  );
}

/** A destination row `t` is the staged row `s`'s key (through the projection). */
export function keyMatchSql(rel: BoundRelation): string {
  const l = rel.table.layout;
  const tk = targetKey(l.spec);
  const exprs = targetSideExprs(l).slice(0, tk.length);
  return tk.map((k, i) => `t.${qi(k)} = ${exprs[i]}`).join(' AND ');
}

/** Delete the destination rows of the staged deletes. */
export function deleteSql(rel: BoundRelation): string {
  const target = qi(targetRelation(rel.table.layout.spec));
  return `DELETE FROM ${target} AS t USING ${qi(rel.stage)} AS s WHERE s._sy_op = 'D' AND ${keyMatchSql(rel)}`;
}

/** Upsert the staged rows matching `where` through the projection, by the target key. */
export function upsertSql(rel: BoundRelation, where: string): string {
  const l = rel.table.layout;
  const cols = l.columns.map((c) => qi(c.name));
  const tk = targetKey(l.spec);
  const rest = l.columns.filter((c) => !tk.includes(c.name)).map((c) => `${qi(c.name)} = EXCLUDED.${qi(c.name)}`);
  return (
    // OVERRIDING SYSTEM VALUE: the source's value goes into a GENERATED ALWAYS identity column too.
    `INSERT INTO ${qi(targetRelation(l.spec))} (${cols.join(', ')}) OVERRIDING SYSTEM VALUE ` +
    `SELECT ${targetSideExprs(l).join(', ')} ` +
    `FROM ${qi(rel.stage)} AS s WHERE ${where} ` +
    `ON CONFLICT (${tk.map(qi).join(', ')}) DO ${rest.length ? `UPDATE SET ${rest.join(', ')}` : 'NOTHING'}`
  );
}
