import type { Client } from 'pg';
import { META_SCHEMA } from '../prepare';
import { targetKey, targetRelation } from '../spec';
import { projectionExprs, qi } from '../sql';
import type { BoundRelation } from './apply';
import type { Direction } from './names';

/*
 * Conflicts while traffic is split (both sides write), rule: LATER COMMIT WINS.
 *
 * Checked per key for every coalesced change of a flush, when conflict detection is on
 * (always for `reverse`; for `forward` once the first traffic step has happened — during the
 * initial copy replay the copy's own writes would look like local writes):
 *
 * - incoming time  = commit time of the source transaction (pgoutput Begin) of the key's LAST
 *                    change in the flush;
 * - local time     = pg_xact_commit_timestamp(xmin) of the destination row
 *                    (needs track_commit_timestamp = on; checked before the run, else
 *                    CommitTimestampsOffError);
 * - a destination row last written by the sync itself (its xmin is in switchyard.applied_xacts)
 *   is never a conflict: it came from the same source, in commit order, so the incoming change wins.
 *
 * Covered:
 * - update/insert vs update (same key, both sides): local newer → incoming skipped, winner 'local';
 *   incoming newer → applied silently (the other side records the conflict when the local change
 *   reaches it and loses there). Exact ties: the old side wins (forward applies, reverse skips),
 *   so both sides settle on the same row.
 * - update vs delete: DELETE WINS on both sides, whatever the times (a tombstone-free rule that
 *   converges): an incoming DELETE is applied even over a newer local update (recorded, winner
 *   'delete' when the local row was newer); an incoming UPDATE for a key that no longer exists at
 *   the destination is a local delete: skipped and recorded, winner 'delete'. The destination's
 *   missing row is the tombstone; no extra table is needed because the delete always wins.
 *
 * Not covered (documented limits):
 * - a key deleted on one side and RE-INSERTED with the same key on the other while split: the
 *   insert is applied as an insert (keys are disjoint when sequences were moved past each other;
 *   natural keys re-used concurrently can diverge — Validate names them).
 * - an update that is later than a concurrent delete still loses (delete wins), by design.
 * - changes whose local row is frozen (xmin frozen by VACUUM FREEZE) have no commit time: the
 *   incoming change wins without a conflict record.
 * - clocks: commit times come from two servers' clocks; skew between them shifts the rule by the skew.
 * - only the target key columns identify a conflict; a secondary unique constraint hit by two
 *   sides' rows fails the batch (named error, nothing lost: it rolls back and stops).
 *
 * Every conflict is one row in switchyard.conflicts on the destination: table, key column names,
 * key values' text (key columns only), incoming and local commit times, winner, direction.
 */

/**
 * Classify the staged rows of one relation against the destination, record the conflicts,
 * and drop the staged rows that lose. Returns the number of conflicts recorded.
 */
export async function detectConflicts(dst: Client, rel: BoundRelation, slot: string, direction: Direction): Promise<number> {
  const l = rel.table.layout;
  const tk = targetKey(l.spec);
  const keyExprs = projectionExprs(l).slice(0, tk.length);
  const match = tk.map((k, i) => `t.${qi(k)} = ${keyExprs[i]}`).join(' AND ');
  const tieLocal = direction === 'reverse' ? '>=' : '>';
  const r = await dst.query(
    `WITH c AS (
       SELECT s._sy_n AS n, s._sy_op AS op, s._sy_ts AS incoming, ARRAY[${keyExprs.map((e) => `(${e})::text`).join(', ')}] AS key,
              t.ctid IS NOT NULL AS present, pg_xact_commit_timestamp(t.xmin) AS local_ts, a.xid32 IS NOT NULL AS ours
         FROM ${qi(rel.stage)} AS s
         LEFT JOIN ${qi(targetRelation(l.spec))} AS t ON ${match}
         LEFT JOIN ${META_SCHEMA}.applied_xacts AS a ON a.xid32 = t.xmin::text::bigint
     ), v AS (
       SELECT n, key, incoming, local_ts,
              CASE
                WHEN op = 'D' AND present AND NOT ours AND local_ts ${tieLocal} incoming THEN 'delete'
                WHEN op IN ('U', 'P') AND NOT present THEN 'delete'
                WHEN op <> 'D' AND present AND NOT ours AND local_ts ${tieLocal} incoming THEN 'local'
              END AS winner,
              CASE WHEN op = 'D' OR NOT present THEN 'update-delete' ELSE 'update-update' END AS kind,
              op
         FROM c
     ), rec AS (
       INSERT INTO ${META_SCHEMA}.conflicts (slot_name, direction, table_name, key_columns, key, kind, incoming_commit_time, local_commit_time, winner)
       SELECT $1, $2, $3, $4::text[], key, kind, incoming, local_ts, winner FROM v WHERE winner IS NOT NULL
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM rec)::int AS recorded,
            coalesce((SELECT array_agg(n) FROM v WHERE winner IS NOT NULL AND op <> 'D'), '{}') AS losers`,
    [slot, direction, l.spec.name, tk],
  );
  const losers = r.rows[0].losers as number[];
  if (losers.length) await dst.query(`DELETE FROM ${qi(rel.stage)} WHERE _sy_n = ANY($1::int[])`, [losers]);
  return r.rows[0].recorded as number;
}
