import type { Client } from 'pg';
import { META_SCHEMA } from '../prepare';
import { targetKey, targetRelation } from '../spec';
import { qi, ql, targetSideExprs } from '../sql';
import type { BoundRelation } from './apply';
import type { Direction } from './names';

/*
 * Conflicts while traffic is split (both sides write), rule: LATER COMMIT WINS — for updates,
 * inserts and deletes alike, so no acknowledged write is lost to an older one.
 *
 * Checked per key for every coalesced change of a flush, when conflict detection is on
 * (always for `reverse`; for `forward` once the first traffic step has happened — during the
 * initial copy replay the copy's own writes would look like local writes):
 *
 * - incoming time = commit time of the source transaction (pgoutput Begin) of the key's LAST
 *                   change in the flush;
 * - local time    = pg_xact_commit_timestamp(xmin) of the destination row; when the destination has
 *                   no row, the commit time of the LOCAL delete of that key, from its tombstone
 *                   (switchyard.tombstones, written by the tombstone trigger in the deleting
 *                   transaction: tombstones.ts). Needs track_commit_timestamp = on (checked before
 *                   the run, else CommitTimestampsOffError);
 * - a destination row last written by the sync itself (its xmin is in switchyard.applied_xacts), and
 *   a delete the sync applied (never recorded as a tombstone), are never a conflict: they came from
 *   the same source, in commit order, so the incoming change wins;
 * - first the destination rows of the flush's keys are locked (FOR NO KEY UPDATE): a local write
 *   still in progress on one of them commits (or not) before the times are compared, so the
 *   comparison and the apply see the same local state.
 *
 * Rule (the losing incoming change is skipped and recorded; the winning one is applied silently —
 * the other side records the same conflict when the losing change reaches it, so each conflict is
 * recorded once, on the side where the loser arrives):
 * - incoming update/insert, local row written later        → skipped, winner 'local' (update-update);
 * - incoming delete, local row written later               → the delete is skipped, winner 'local'
 *                                                            (update-delete): the later update stays;
 * - incoming update/insert, key deleted locally later      → skipped, winner 'local-delete' (update-delete);
 * - incoming update/insert, key deleted locally earlier    → the incoming row is written (re-inserted);
 * - incoming delete, local row older or written by the sync → applied;
 * - exact ties: the old side wins on both sides (forward applies, reverse skips), so both settle
 *   on the same row.
 * - incoming TRUNCATE (a table mapped one-to-one, truncate.ts): every destination row goes except
 *   those written locally after the TRUNCATE committed (ties as above); the kept rows reach the
 *   other side through the other direction. Not recorded as conflicts.
 * - a winning row is written WHOLE: an incoming UPDATE whose unchanged TOAST values were not sent
 *   ('u') and whose destination row was written locally (not by the sync) takes the values it did not
 *   carry from its source's current row (apply.ts, fillFromSource), never from the losing local row
 *   (the destination's value of a column the incoming change did not carry may be the loser's own
 *   write: keeping it would leave both sides different for good). Only a destination row last written
 *   by the sync keeps its value: it is the source's. The same holds for re-inserting over an older
 *   local delete, which needs the whole row. If the source has no
 *   row either (it was deleted there afterwards; that delete follows in the stream), the row cannot
 *   be rebuilt: it stays deleted and the conflict is recorded with winner 'local-delete-toast'.
 *
 * Not covered (documented limits):
 * - a key deleted and then re-inserted with the same key on one side while the other side's change
 *   of that key is in flight is weighed by the re-inserted row's time (keys are disjoint when
 *   sequences were moved past each other; natural keys re-used concurrently can diverge —
 *   Validate names them); a local INSERT of a key still uncommitted while the incoming change of
 *   that key is applied is not seen (the incoming row wins);
 * - a local UPDATE that changes a row's KEY is not a delete for the trigger: the old key has no
 *   tombstone, so an incoming change of the old key re-creates it (Validate names it);
 * - deletes before the tombstone triggers were installed (the reverse capture) have no tombstone: an
 *   incoming change of such a key is applied (the row re-appears rather than a write being lost).
 *   Tombstones and applied_xacts entries are pruned BY POSITION only (bookkeeping.ts,
 *   pruneBookkeeping): once the direction's stored position has passed their commit time (plus a
 *   margin for clock skew), no incoming change can be weighed against them any more, however old
 *   the backlog is;
 * - changes whose local row is frozen (xmin frozen by VACUUM FREEZE) have no commit time: the
 *   incoming change wins without a conflict record;
 * - clocks: commit times come from two servers' clocks; skew between them shifts the rule by the skew.
 * - only the target key columns identify a conflict; a secondary unique constraint hit by two
 *   sides' rows fails the batch (SyncApplyError naming the constraint, never the value; nothing
 *   lost: it rolls back and stops).
 *
 * Every conflict is one row in switchyard.conflicts on the destination: table, key column names,
 * key values' text (key columns only), incoming and local commit times (the local delete's for
 * 'local-delete'), winner, kind, direction. Never another column's value.
 */

export interface ConflictCheck {
  /** Conflicts recorded (losing incoming changes removed from the staging table). */
  readonly recorded: number;
  /** Incoming rows with unchanged TOAST values re-inserted over an older local delete (checked after the apply). */
  readonly partialReinserts: number;
}

function keyParts(rel: BoundRelation) {
  const l = rel.table.layout;
  const tk = targetKey(l.spec);
  const keyExprs = targetSideExprs(l).slice(0, tk.length);
  return {
    l,
    tk,
    keyArray: `ARRAY[${keyExprs.map((e) => `(${e})::text`).join(', ')}]`,
    match: tk.map((k, i) => `t.${qi(k)} = ${keyExprs[i]}`).join(' AND '),
  };
}

/**
 * First statement of a table's conflict check: lock the destination rows of the staged keys (FOR NO KEY
 * UPDATE). A local write in progress on one of these rows finishes first; then neither side of the
 * comparison moves until COMMIT.
 */
export function conflictLockSql(rel: BoundRelation): string {
  const { l, tk, match } = keyParts(rel);
  return (
    `SELECT count(*) FROM (SELECT 1 FROM ${qi(targetRelation(l.spec))} AS t JOIN ${qi(rel.stage)} AS s ON ${match} ` +
    `ORDER BY ${tk.map((k) => `t.${qi(k)}`).join(', ')} FOR NO KEY UPDATE OF t) AS locked`
  );
}

/**
 * Second statement: classify every staged change against the destination (rows and tombstones), record
 * the conflicts, mark the rows to rebuild, and drop the staged changes that lose. Returns one row:
 * `recorded` (conflicts), `marked` (partial rows re-inserted over an older local delete). Values inlined
 * with `ql` are the slot, direction and table and key column names (apply-sql.ts).
 */
export function conflictCheckSql(rel: BoundRelation, slot: string, direction: Direction): string {
  const { l, tk, keyArray, match } = keyParts(rel);
  const target = qi(targetRelation(l.spec));
  const stage = qi(rel.stage);
  const tieLocal = direction === 'reverse' ? '>=' : '>';
  return `WITH c AS (
       SELECT s._sy_n AS n, s._sy_op AS op, s._sy_ts AS incoming, ${keyArray} AS key,
              t.ctid IS NOT NULL AS present, pg_xact_commit_timestamp(t.xmin) AS local_ts, a.xid32 IS NOT NULL AS ours
         FROM ${stage} AS s
         LEFT JOIN ${target} AS t ON ${match}
         LEFT JOIN ${META_SCHEMA}.applied_xacts AS a ON a.xid32 = t.xmin::text::bigint
     ), k AS (
       SELECT c.*, CASE WHEN NOT c.present AND c.op <> 'D' THEN (
                SELECT coalesce(tb.commit_time, pg_xact_commit_timestamp(tb.deleted_xid::xid))
                  FROM ${META_SCHEMA}.tombstones AS tb WHERE tb.table_oid = ${ql(target)}::regclass AND tb.key = c.key) END AS tomb_ts
         FROM c
     ), v AS (
       SELECT n, key, incoming, op, present, ours,
              CASE WHEN present THEN local_ts ELSE tomb_ts END AS local_time,
              CASE
                WHEN present AND NOT ours AND local_ts ${tieLocal} incoming THEN 'local'
                WHEN NOT present AND op <> 'D' AND tomb_ts ${tieLocal} incoming THEN 'local-delete'
              END AS winner,
              CASE WHEN op = 'D' OR NOT present THEN 'update-delete' ELSE 'update-update' END AS kind
         FROM k
     ), rec AS (
       INSERT INTO ${META_SCHEMA}.conflicts (slot_name, direction, table_name, key_columns, key, kind, incoming_commit_time, local_commit_time, winner)
       SELECT ${ql(slot)}, ${ql(direction)}, ${ql(l.spec.name)}, ARRAY[${tk.map(ql).join(', ')}]::text[], key, kind, incoming, local_time, winner
         FROM v WHERE winner IS NOT NULL
       RETURNING 1
     ), mark AS (
       UPDATE ${stage} AS s SET _sy_tomb = CASE WHEN NOT v.present THEN v.local_time END, _sy_fetch = v.present
         FROM v
        WHERE s._sy_n = v.n AND v.winner IS NULL AND v.op = 'P'
          AND ((NOT v.present AND v.local_time IS NOT NULL) OR (v.present AND NOT v.ours))
       RETURNING v.present
     ), lose AS (
       DELETE FROM ${stage} AS s USING v WHERE s._sy_n = v.n AND v.winner IS NOT NULL RETURNING 1
     )
     SELECT (SELECT count(*) FROM rec)::int AS recorded, (SELECT count(*) FROM mark WHERE NOT present)::int AS marked,
            (SELECT count(*) FROM lose)::int AS lost`;
}

/** Lock, classify and record (the two statements above, one round trip each; the flush sends them with the apply). */
export async function detectConflicts(
  dst: Client,
  rel: BoundRelation,
  slot: string,
  direction: Direction,
): Promise<ConflictCheck> {
  await dst.query(conflictLockSql(rel));
  const r = await dst.query(conflictCheckSql(rel, slot, direction));
  return { recorded: r.rows[0].recorded as number, partialReinserts: r.rows[0].marked as number };
}

/**
 * After the apply: incoming UPDATEs with unchanged TOAST values that should have re-created a row
 * deleted locally earlier, but whose row could not be rebuilt (the source no longer has it either).
 * The local delete stands; each is recorded with winner 'local-delete-toast'. Returns the count.
 */
export async function recordUnrebuiltRows(
  dst: Client,
  rel: BoundRelation,
  slot: string,
  direction: Direction,
): Promise<number> {
  const { l, tk, keyArray, match } = keyParts(rel);
  const r = await dst.query(
    `WITH rec AS (
       INSERT INTO ${META_SCHEMA}.conflicts (slot_name, direction, table_name, key_columns, key, kind, incoming_commit_time, local_commit_time, winner)
       SELECT $1, $2, $3, $4::text[], ${keyArray}, 'update-delete', s._sy_ts, s._sy_tomb, 'local-delete-toast'
         FROM ${qi(rel.stage)} AS s
        WHERE s._sy_op = 'P' AND s._sy_tomb IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${qi(targetRelation(l.spec))} AS t WHERE ${match})
       RETURNING 1
     ) SELECT count(*)::int AS n FROM rec`,
    [slot, direction, l.spec.name, tk],
  );
  return r.rows[0].n as number;
}
