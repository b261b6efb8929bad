import { type LoopGuard, loopGuardFor, type ServerCapabilities } from '../capabilities';

/**
 * The version- and privilege-dependent choices of one streaming run, read from the per-server
 * capabilities (../capabilities.ts, the one place that knows what each major can do):
 * - protoVersion: pgoutput protocol 1 on every supported major (2+ only add streamed and two-phase
 *   transactions, which the run does not ask for);
 * - messages:     pgoutput `messages` (the loop guard's mark arrives in the stream) from 14 on;
 * - streaming:    in-progress transactions are not streamed: the walsender sends a transaction once it
 *                 committed (it spills to disk past logical_decoding_work_mem), so nothing is applied
 *                 before its commit and no spool is needed here;
 * - loopGuard:    how the applier marks what it writes into the destination (origin, message or marker);
 * - flushMessage: `pg_logical_emit_message(..., flush)` (17+) makes the source's WAL decodable at once
 *                 (used for the fence that ends a drain); older servers wait for the WAL writer.
 */
export interface StreamFeatures {
  readonly protoVersion: number;
  readonly messages: boolean;
  readonly streaming: false;
  readonly loopGuard: LoopGuard;
  readonly flushMessage: boolean;
}

export function streamFeatures(src: ServerCapabilities, dst: ServerCapabilities): StreamFeatures {
  return {
    protoVersion: 1,
    messages: src.pgoutput.messages,
    streaming: false,
    loopGuard: loopGuardFor(dst),
    flushMessage: src.emitMessageFlush,
  };
}
