/**
 * The streaming replication protocol's CopyBoth messages, as pure functions (no socket):
 * - in:  XLogData ('w': dataStart, walEnd, sendTime, payload) and primary keepalive
 *        ('k': walEnd, sendTime, replyRequested);
 * - out: standby status update ('r': write, flush, apply, clientTime, replyRequested);
 * - the START_REPLICATION command for a logical slot and its pgoutput options.
 *
 * Reference: https://www.postgresql.org/docs/current/protocol-replication.html
 */
import { formatLsn, msToPgTime } from './pgoutput';

export type ReplicationFrame =
  | { readonly kind: 'xlog'; readonly walStart: bigint; readonly walEnd: bigint; readonly payload: Buffer }
  | { readonly kind: 'keepalive'; readonly walEnd: bigint; readonly replyRequested: boolean };

/** Where an XLogData frame's payload (a pgoutput message) starts. */
export const XLOG_PAYLOAD_OFFSET = 25;

/** Is this CopyData an XLogData frame (its payload at XLOG_PAYLOAD_OFFSET)? The receive path's fast test. */
export function isXLogData(buf: Buffer): boolean {
  return buf.length >= XLOG_PAYLOAD_OFFSET && buf[0] === 0x77; // 'w'
}

/** Decode one CopyData payload sent by a walsender. The XLogData payload is a view of `buf`, not a copy. */
export function parseFrame(buf: Buffer): ReplicationFrame {
  const code = buf.length ? String.fromCharCode(buf[0]) : '';
  if (code === 'w' && buf.length >= XLOG_PAYLOAD_OFFSET) {
    return {
      kind: 'xlog',
      walStart: buf.readBigUInt64BE(1),
      walEnd: buf.readBigUInt64BE(9),
      payload: buf.subarray(XLOG_PAYLOAD_OFFSET),
    };
  }
  if (code === 'k' && buf.length >= 18) {
    return { kind: 'keepalive', walEnd: buf.readBigUInt64BE(1), replyRequested: buf[17] === 1 };
  }
  throw new Error(`replication stream: unexpected message ${JSON.stringify(code)} of ${buf.length} bytes`);
}

/** The standby status update: 'r', write, flush, apply (LSNs), the client's clock (µs since 2000-01-01), reply flag. */
export function statusUpdate(p: {
  readonly write: bigint;
  readonly flush: bigint;
  readonly apply: bigint;
  readonly nowMs: number;
  readonly replyRequested?: boolean;
}): Buffer {
  const b = Buffer.alloc(34);
  b.write('r', 0, 'latin1');
  b.writeBigUInt64BE(p.write, 1);
  b.writeBigUInt64BE(p.flush, 9);
  b.writeBigUInt64BE(p.apply, 17);
  b.writeBigInt64BE(msToPgTime(p.nowMs), 25);
  b.writeUInt8(p.replyRequested ? 1 : 0, 33);
  return b;
}

/** The pgoutput options one START_REPLICATION asks for (chosen per server by `streamFeatures`). */
export interface PgOutputOptions {
  readonly protoVersion: number;
  readonly publication: string;
  /** Logical decoding messages (`pg_logical_emit_message`): the loop guard's mark. PostgreSQL 14+. */
  readonly messages: boolean;
  /** In-progress transactions streamed (proto_version 2+). PostgreSQL 14+. @default false */
  readonly streaming?: boolean;
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** `START_REPLICATION SLOT s LOGICAL X/Y (proto_version 'n', publication_names '"p"'[, messages 'true'][, streaming 'on'])`. */
export function startReplicationCommand(slot: string, start: bigint, o: PgOutputOptions): string {
  const opts = [
    `proto_version ${literal(String(o.protoVersion))}`,
    `publication_names ${literal(ident(o.publication))}`,
  ];
  if (o.messages) opts.push(`messages 'true'`);
  if (o.streaming) opts.push(`streaming 'on'`);
  return `START_REPLICATION SLOT ${ident(slot)} LOGICAL ${formatLsn(start)} (${opts.join(', ')})`;
}
