import { Acknowledge, statusIntervalMs } from '../../../../lambda/engine/sync/acknowledge';
import { parseLsn } from '../../../../lambda/engine/sync/pgoutput';
import { parseFrame, startReplicationCommand, statusUpdate } from '../../../../lambda/engine/sync/replication-protocol';
import { capabilitiesFrom } from '../../../../lambda/engine/capabilities';
import { streamFeatures } from '../../../../lambda/engine/sync/stream-features';

/** The walsender's CopyData framing and the standby status update, byte for byte, without a server. */
describe('replication protocol framing', () => {
  test('GIVEN an XLogData message WHEN parsed THEN its positions and payload come out', () => {
    const b = Buffer.alloc(25 + 3);
    b.write('w', 0, 'latin1');
    b.writeBigUInt64BE(0x16_0000_0100n, 1);
    b.writeBigUInt64BE(0x16_0000_0200n, 9);
    b.writeBigInt64BE(123n, 17);
    b.write('B!!', 25, 'latin1');
    const f = parseFrame(b);
    expect(f).toMatchObject({ kind: 'xlog', walStart: 0x16_0000_0100n, walEnd: 0x16_0000_0200n });
    expect(f.kind === 'xlog' && f.payload.toString('latin1')).toBe('B!!');
  });

  test('GIVEN primary keepalives WHEN parsed THEN walEnd and the reply flag come out', () => {
    const k = (reply: number) => {
      const b = Buffer.alloc(18);
      b.write('k', 0, 'latin1');
      b.writeBigUInt64BE(parseLsn('0/1A2B3C4D'), 1);
      b.writeUInt8(reply, 17);
      return b;
    };
    expect(parseFrame(k(1))).toEqual({ kind: 'keepalive', walEnd: parseLsn('0/1A2B3C4D'), replyRequested: true });
    expect(parseFrame(k(0))).toEqual({ kind: 'keepalive', walEnd: parseLsn('0/1A2B3C4D'), replyRequested: false });
  });

  test('fails on a truncated or unknown message instead of guessing', () => {
    expect(() => parseFrame(Buffer.from('w\0\0'))).toThrow(/unexpected message "w" of 3 bytes/);
    expect(() => parseFrame(Buffer.from('x'))).toThrow(/unexpected message "x"/);
    expect(() => parseFrame(Buffer.alloc(0))).toThrow(/unexpected message/);
  });

  test('GIVEN positions WHEN a status update is encoded THEN it is the 34-byte r message with µs since 2000-01-01', () => {
    const b = statusUpdate({
      write: 3n,
      flush: 2n,
      apply: 1n,
      nowMs: Date.UTC(2000, 0, 1, 0, 0, 1),
      replyRequested: true,
    });
    expect(b.length).toBe(34);
    expect(String.fromCharCode(b[0])).toBe('r');
    expect([b.readBigUInt64BE(1), b.readBigUInt64BE(9), b.readBigUInt64BE(17)]).toEqual([3n, 2n, 1n]);
    expect(b.readBigInt64BE(25)).toBe(1_000_000n);
    expect(b[33]).toBe(1);
    expect(statusUpdate({ write: 0n, flush: 0n, apply: 0n, nowMs: 0 })[33]).toBe(0);
  });

  test('GIVEN a slot and options WHEN the command is built THEN names are quoted and messages only when asked', () => {
    const o = { protoVersion: 1, publication: 'sy_x_fwd' };
    expect(startReplicationCommand('sy_x_fwd', parseLsn('0/16B3748'), { ...o, messages: true })).toBe(
      `START_REPLICATION SLOT "sy_x_fwd" LOGICAL 0/16B3748 (proto_version '1', publication_names '"sy_x_fwd"', messages 'true')`,
    );
    expect(startReplicationCommand(`a"b`, 0n, { protoVersion: 1, publication: `p'q`, messages: false })).toBe(
      `START_REPLICATION SLOT "a""b" LOGICAL 0/0 (proto_version '1', publication_names '"p''q"')`,
    );
  });
});

describe('acknowledge: what the slot is told', () => {
  test('GIVEN confirmations WHEN ticked THEN only the confirmed position is reported, never backwards, and only when it moved or the interval passed', () => {
    const sent: [bigint, bigint][] = [];
    let now = 0;
    const a = new Acknowledge(
      (w, f) => sent.push([w, f]),
      1000,
      100n,
      () => now,
    );
    expect(a.tick()).toBe(true);
    expect(a.tick()).toBe(false);
    a.confirm(200n);
    a.confirm(150n);
    expect(a.confirmed).toBe(200n);
    expect(a.tick()).toBe(true);
    now = 999;
    expect(a.tick()).toBe(false);
    now = 1000;
    expect(a.tick()).toBe(true);
    expect(a.tick(true)).toBe(true);
    expect(sent).toEqual([
      [100n, 100n],
      [200n, 200n],
      [200n, 200n],
      [200n, 200n],
    ]);
  });

  test('GIVEN wal_sender_timeout WHEN the status interval is chosen THEN it is a quarter of it, within 0.1 s and 10 s', () => {
    expect(statusIntervalMs(60_000)).toBe(10_000);
    expect(statusIntervalMs(20_000)).toBe(5_000);
    expect(statusIntervalMs(200)).toBe(100);
    expect(statusIntervalMs(0)).toBe(10_000);
  });
});

describe('stream features per server', () => {
  /** A capabilities catalog row (capabilities.ts READ_CAPABILITIES) for a non-superuser login. */
  const caps = (num: number, flush = true, origin = true) =>
    capabilitiesFrom({
      num,
      version: `${Math.floor(num / 10000)}.${num % 100}`,
      superuser: false,
      wal_level: 'logical',
      commit_ts: 'on',
      max_origins: null,
      keep_size: '4GB',
      slot_columns: ['slot_name', 'wal_status'],
      emit: true,
      emit_flush: num >= 170000 && flush,
      origin_exec: origin,
    });
  test('GIVEN majors 13 to 18 WHEN the features are chosen THEN messages from 14, flush messages from 17, protocol 1, no streaming', () => {
    const f = (v: number, flush = true, origin = true) => streamFeatures(caps(v, flush), caps(v, flush, origin));
    expect(f(130014)).toEqual({
      protoVersion: 1,
      messages: false,
      streaming: false,
      loopGuard: 'marker',
      flushMessage: false,
    });
    expect(f(140000)).toMatchObject({ messages: true, flushMessage: false, loopGuard: 'origin' });
    expect(f(170002)).toMatchObject({ messages: true, flushMessage: true });
    expect(f(180001, false, false)).toMatchObject({ messages: true, flushMessage: false, loopGuard: 'message' });
  });
});
