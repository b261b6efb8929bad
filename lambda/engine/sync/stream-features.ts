import { type LoopGuard, loopGuardFor, type ServerCapabilities } from '../capabilities';

/**
 * The version- and privilege-dependent choices of one streaming run, read from the per-server
 * capabilities (../capabilities.ts, the one place that knows what each major can do):
 * - protoVersion: pgoutput protocol 1, or 2 when in-progress transactions are streamed;
 * - messages:     pgoutput `messages` (the loop guard's mark arrives in the stream) from 14 on;
 * - streaming:    in-progress transactions streamed (14+), when the run asks for it and the destination
 *                 can mark a second session's writes with a logical message (the replication origin is
 *                 held by the main session): a transaction past logical_decoding_work_mem arrives in
 *                 blocks while the walsender still decodes it, and is applied by its own destination
 *                 session (streamed.ts), committed at its commit. Otherwise the walsender sends a
 *                 transaction once it committed (spilling to disk past logical_decoding_work_mem);
 * - loopGuard:    how the applier marks what it writes into the destination (origin, message or marker);
 * - flushMessage: `pg_logical_emit_message(..., flush)` (17+) makes the source's WAL decodable at once
 *                 (used for the fence that ends a drain); older servers wait for the WAL writer.
 */
export interface StreamFeatures {
  readonly protoVersion: number;
  readonly messages: boolean;
  readonly streaming: boolean;
  readonly loopGuard: LoopGuard;
  readonly flushMessage: boolean;
}

/** `wantStreaming`: the run may apply a transaction before its commit is decoded (run.ts decides). */
export function streamFeatures(
  src: ServerCapabilities,
  dst: ServerCapabilities,
  wantStreaming = false,
): StreamFeatures {
  const streaming = wantStreaming && src.pgoutput.streaming && dst.pgoutput.messages && dst.emitMessage;
  return {
    protoVersion: streaming ? 2 : 1,
    messages: src.pgoutput.messages,
    streaming,
    loopGuard: loopGuardFor(dst),
    flushMessage: src.emitMessageFlush,
  };
}
