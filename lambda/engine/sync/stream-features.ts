import type { Client } from 'pg';

/**
 * Every version- and privilege-dependent choice of one sync run, in one place (to be read from
 * the per-server capabilities module where it exists):
 * - protoVersion: pgoutput protocol 1 on every supported major (2+ only add streamed and two-phase
 *   transactions, which the run does not ask for);
 * - messages:     pgoutput `messages` (the loop guard's mark arrives in the stream) from 14 on;
 * - streaming:    in-progress transactions are not streamed: the walsender sends a transaction once it
 *                 committed (it spills to disk past logical_decoding_work_mem), so nothing is applied
 *                 before its commit and no spool is needed here;
 * - origin:       the destination login may set a replication origin (the loop guard), else the mark;
 * - flushMessage: `pg_logical_emit_message(..., flush)` (17+) makes the source's WAL decodable at once
 *                 (used for the fence that ends a drain); older servers wait for the WAL writer.
 */
export interface StreamFeatures {
  readonly protoVersion: number;
  readonly messages: boolean;
  readonly streaming: false;
  readonly origin: boolean;
  readonly flushMessage: boolean;
}

export function streamFeatures(p: {
  readonly sourceVersionNum: number;
  readonly sourceMayFlush: boolean;
  readonly destinationMayUseOrigin: boolean;
}): StreamFeatures {
  return {
    protoVersion: 1,
    messages: p.sourceVersionNum >= 140000,
    streaming: false,
    origin: p.destinationMayUseOrigin,
    flushMessage: p.sourceVersionNum >= 170000 && p.sourceMayFlush,
  };
}

/** Read what `streamFeatures` needs from the two servers. */
export async function readStreamFeatures(src: Client, dst: Client): Promise<StreamFeatures> {
  const s = await src.query(
    `SELECT current_setting('server_version_num')::int AS v,
            current_setting('server_version_num')::int >= 170000
              AND has_function_privilege('pg_logical_emit_message(boolean,text,text,boolean)', 'execute') AS flush`,
  );
  const d = await dst.query(
    `SELECT has_function_privilege('pg_replication_origin_session_setup(text)', 'execute') AS ok`,
  );
  return streamFeatures({
    sourceVersionNum: s.rows[0].v as number,
    sourceMayFlush: s.rows[0].flush === true,
    destinationMayUseOrigin: d.rows[0].ok === true,
  });
}
