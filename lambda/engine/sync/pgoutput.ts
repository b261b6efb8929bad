/**
 * A decoder for the binary messages of PostgreSQL's built-in `pgoutput` plugin
 * (protocol versions 1 and 2, text tuple format), as carried in the XLogData messages of the
 * streaming replication protocol (receive.ts). Pure: bytes in, typed messages out.
 *
 * Protocol 2 adds streamed (in-progress) transactions: Stream Start … Stream Stop blocks whose
 * messages carry the xid of the (sub)transaction they belong to, then Stream Commit or Stream
 * Abort. Whether a message lies inside such a block is the caller's state (`StreamDecoder`).
 *
 * Reference: https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 */

/** A TOASTed value the UPDATE did not change: pgoutput does not send it ('u'). Never a NULL. */
export const UNCHANGED: unique symbol = Symbol('unchanged-toast');
export type Cell = string | null | typeof UNCHANGED;

export interface RelationColumn {
  readonly name: string;
  readonly typeOid: number;
  readonly typmod: number;
  /** Part of the replica identity (the key sent with UPDATE/DELETE). */
  readonly isKey: boolean;
}

/** Set on the messages of a Stream Start … Stream Stop block: the (sub)transaction the change belongs to. */
interface Streamed {
  readonly xid?: number;
}

export type PgOutputMessage =
  | { readonly tag: 'begin'; readonly finalLsn: bigint; readonly commitTimeUs: bigint; readonly xid: number }
  | { readonly tag: 'commit'; readonly commitLsn: bigint; readonly endLsn: bigint; readonly commitTimeUs: bigint }
  | { readonly tag: 'origin'; readonly originLsn: bigint; readonly name: string }
  | (Streamed & {
      readonly tag: 'relation';
      readonly relid: number;
      readonly schema: string;
      readonly table: string;
      readonly replicaIdentity: string;
      readonly columns: readonly RelationColumn[];
    })
  | (Streamed & { readonly tag: 'type'; readonly oid: number; readonly schema: string; readonly name: string })
  | (Streamed & { readonly tag: 'insert'; readonly relid: number; readonly row: readonly Cell[] })
  | (Streamed & {
      readonly tag: 'update';
      readonly relid: number;
      readonly old: readonly Cell[] | null;
      readonly oldKind: 'K' | 'O' | null;
      readonly row: readonly Cell[];
    })
  | (Streamed & {
      readonly tag: 'delete';
      readonly relid: number;
      readonly old: readonly Cell[];
      readonly oldKind: 'K' | 'O';
    })
  | (Streamed & { readonly tag: 'truncate'; readonly relids: readonly number[] })
  | (Streamed & {
      readonly tag: 'message';
      readonly transactional: boolean;
      readonly lsn: bigint;
      readonly prefix: string;
      readonly content: Buffer;
    })
  | { readonly tag: 'stream_start'; readonly xid: number; readonly first: boolean }
  | { readonly tag: 'stream_stop' }
  | {
      readonly tag: 'stream_commit';
      readonly xid: number;
      readonly commitLsn: bigint;
      readonly endLsn: bigint;
      readonly commitTimeUs: bigint;
    }
  /** `subxid` equals `xid` when the whole transaction aborted, else only that subtransaction. */
  | { readonly tag: 'stream_abort'; readonly xid: number; readonly subxid: number }
  | { readonly tag: 'unsupported'; readonly code: string };

/** Message codes of two-phase transactions: never requested, refused if seen. */
const UNSUPPORTED_CODES = new Set(['b', 'P', 'K', 'r', 'p']);

type Utf8Sliced = Buffer & { utf8Slice?(start: number, end: number): string };

/**
 * Bytes as UTF-8 text. Buffer's own `utf8Slice` (what `toString('utf8', …)` calls after checking its
 * arguments) where Node has it: the decoder's hottest call, once per value; the bounds are checked here.
 */
const utf8Slice: (b: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as Utf8Sliced).utf8Slice === 'function'
    ? (b, start, end) => (b as Utf8Sliced).utf8Slice!(start, end)
    : (b, start, end) => b.toString('utf8', start, end);

class Reader {
  constructor(
    private readonly buf: Buffer,
    private pos = 0,
  ) {}
  u8(): number {
    return this.buf.readUInt8(this.pos++);
  }
  i16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new Error('pgoutput: unterminated string');
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** `n` bytes as UTF-8 text, decoded in place (no Buffer view per value: less garbage per row). */
  text(n: number): string {
    const end = this.pos + n;
    if (n < 0 || end > this.buf.length) throw new Error('pgoutput: value runs past the message end');
    const s = utf8Slice(this.buf, this.pos, end);
    this.pos = end;
    return s;
  }
  char(): string {
    return String.fromCharCode(this.u8());
  }
}

function tuple(r: Reader): Cell[] {
  const n = r.i16();
  const cells: Cell[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = r.char();
    if (kind === 'n') cells[i] = null;
    else if (kind === 'u') cells[i] = UNCHANGED;
    else if (kind === 't') cells[i] = r.text(r.i32());
    else if (kind === 'b') throw new Error('pgoutput: binary tuple values were not requested');
    else throw new Error(`pgoutput: unknown tuple value kind ${JSON.stringify(kind)}`);
  }
  return cells;
}

/**
 * Decode one pgoutput message. `inStream`: it lies inside a Stream Start … Stream Stop block, so its
 * changes carry an xid. Unknown and two-phase messages come back as `unsupported` for the caller to refuse.
 */
export function decodeMessage(buf: Buffer, inStream = false, offset = 0): PgOutputMessage {
  const r = new Reader(buf, offset);
  const code = r.char();
  const xid = inStream && 'RYIUDTM'.includes(code) ? r.u32() : undefined;
  return decodeBody(r, code, xid);
}

function decodeBody(r: Reader, code: string, xid: number | undefined): PgOutputMessage {
  switch (code) {
    case 'B':
      return { tag: 'begin', finalLsn: r.u64(), commitTimeUs: r.i64(), xid: r.u32() };
    case 'C': {
      r.u8(); // flags, unused
      return { tag: 'commit', commitLsn: r.u64(), endLsn: r.u64(), commitTimeUs: r.i64() };
    }
    case 'O':
      return { tag: 'origin', originLsn: r.u64(), name: r.cstring() };
    case 'R':
      return relation(r, xid);
    case 'Y':
      return { tag: 'type', xid, oid: r.u32(), schema: r.cstring(), name: r.cstring() };
    case 'I': {
      const relid = r.u32();
      r.char(); // 'N'
      return { tag: 'insert', xid, relid, row: tuple(r) };
    }
    case 'U':
      return update(r, xid);
    case 'D': {
      const relid = r.u32();
      const kind = r.char();
      if (kind !== 'K' && kind !== 'O')
        throw new Error(`pgoutput: DELETE without an old tuple (got ${JSON.stringify(kind)})`);
      return { tag: 'delete', xid, relid, old: tuple(r), oldKind: kind };
    }
    case 'T': {
      const n = r.u32();
      r.u8(); // options (CASCADE / RESTART IDENTITY)
      const relids: number[] = [];
      for (let i = 0; i < n; i++) relids.push(r.u32());
      return { tag: 'truncate', xid, relids };
    }
    case 'M': {
      const flags = r.u8();
      const lsn = r.u64();
      const prefix = r.cstring();
      const len = r.u32();
      return {
        tag: 'message',
        xid,
        transactional: (flags & 1) === 1,
        lsn,
        prefix,
        content: Buffer.from(r.bytes(len)),
      };
    }
    default:
      return streamControl(r, code);
  }
}

function relation(r: Reader, xid: number | undefined): PgOutputMessage {
  const relid = r.u32();
  const schema = r.cstring();
  const table = r.cstring();
  const replicaIdentity = r.char();
  const n = r.i16();
  const columns: RelationColumn[] = [];
  for (let i = 0; i < n; i++) {
    const flags = r.u8();
    columns.push({ name: r.cstring(), typeOid: r.u32(), typmod: r.i32(), isKey: (flags & 1) === 1 });
  }
  return { tag: 'relation', xid, relid, schema, table, replicaIdentity, columns };
}

function update(r: Reader, xid: number | undefined): PgOutputMessage {
  const relid = r.u32();
  let kind = r.char();
  let old: Cell[] | null = null;
  let oldKind: 'K' | 'O' | null = null;
  if (kind === 'K' || kind === 'O') {
    oldKind = kind;
    old = tuple(r);
    kind = r.char();
  }
  if (kind !== 'N') throw new Error(`pgoutput: UPDATE without a new tuple (got ${JSON.stringify(kind)})`);
  return { tag: 'update', xid, relid, old, oldKind, row: tuple(r) };
}

/** Protocol 2's streamed-transaction control messages; anything else is `unsupported`. */
function streamControl(r: Reader, code: string): PgOutputMessage {
  switch (code) {
    case 'S':
      return { tag: 'stream_start', xid: r.u32(), first: r.u8() === 1 };
    case 'E':
      return { tag: 'stream_stop' };
    case 'c': {
      const xid = r.u32();
      r.u8(); // flags, unused
      return { tag: 'stream_commit', xid, commitLsn: r.u64(), endLsn: r.u64(), commitTimeUs: r.i64() };
    }
    case 'A':
      return { tag: 'stream_abort', xid: r.u32(), subxid: r.u32() };
    default:
      return { tag: 'unsupported', code: UNSUPPORTED_CODES.has(code) ? code : `0x${code.charCodeAt(0).toString(16)}` };
  }
}

/** Decodes a stream's messages in order, knowing whether each lies inside a Stream Start … Stream Stop block. */
export class StreamDecoder {
  private inStream = false;

  /** The message starting at `offset` of `buf` (an XLogData frame's payload, read in place). */
  decode(buf: Buffer, offset = 0): PgOutputMessage {
    const m = decodeMessage(buf, this.inStream, offset);
    if (m.tag === 'stream_start') this.inStream = true;
    else if (m.tag === 'stream_stop') this.inStream = false;
    return m;
  }
}

/** 'X/Y' text form of an LSN (as PostgreSQL prints pg_lsn). */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Parse the 'X/Y' text form of an LSN. */
export function parseLsn(text: string): bigint {
  const m = /^([0-9a-f]+)\/([0-9a-f]+)$/i.exec(text.trim());
  if (!m) throw new Error(`not an LSN: ${text}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

const PG_EPOCH_US = 946_684_800_000_000n; // 2000-01-01 in µs since 1970

/** A pgoutput timestamp (µs since 2000-01-01) as an ISO-8601 UTC text with microseconds, for SQL. */
export function pgTimeToIso(us: bigint): string {
  const unixUs = us + PG_EPOCH_US;
  const ms = unixUs / 1000n;
  const micro = Number(((unixUs % 1_000_000n) + 1_000_000n) % 1_000_000n);
  const iso = new Date(Number(ms)).toISOString(); // 2024-01-01T00:00:00.123Z
  return `${iso.slice(0, 19)}.${String(micro).padStart(6, '0')}Z`;
}

/** Epoch milliseconds as a pgoutput / replication-protocol timestamp (µs since 2000-01-01). */
export function msToPgTime(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1000n - PG_EPOCH_US;
}

/** A pgoutput timestamp as epoch milliseconds. */
export function pgTimeToMs(us: bigint): number {
  return Number((us + PG_EPOCH_US) / 1000n);
}
