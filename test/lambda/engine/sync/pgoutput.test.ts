import {
  decodeMessage,
  formatLsn,
  parseLsn,
  pgTimeToIso,
  StreamDecoder,
  UNCHANGED,
} from '../../../../lambda/engine/sync/pgoutput';

function tupleBuf(cells: (string | null | 'u')[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, cells.length])];
  for (const c of cells) {
    if (c === null) parts.push(Buffer.from('n'));
    else if (c === 'u') parts.push(Buffer.from('u'));
    else {
      const v = Buffer.from(c);
      const len = Buffer.alloc(4);
      len.writeInt32BE(v.length);
      parts.push(Buffer.from('t'), len, v);
    }
  }
  return Buffer.concat(parts);
}

describe('pgoutput decoder', () => {
  test('GIVEN an UPDATE with an unchanged TOAST value WHEN decoded THEN the value is UNCHANGED, never null', () => {
    const rel = Buffer.alloc(4);
    rel.writeUInt32BE(16384);
    const m = decodeMessage(Buffer.concat([Buffer.from('U'), rel, Buffer.from('N'), tupleBuf(['7', null, 'u'])]));
    expect(m).toEqual({ tag: 'update', relid: 16384, old: null, oldKind: null, row: ['7', null, UNCHANGED] });
  });

  test('fails closed on two-phase and unknown messages: they decode as unsupported for the caller to refuse', () => {
    expect(decodeMessage(Buffer.from('P'))).toEqual({ tag: 'unsupported', code: 'P' });
    expect(decodeMessage(Buffer.from('Z'))).toEqual({ tag: 'unsupported', code: '0x5a' });
  });

  test('GIVEN protocol 2 WHEN a streamed block, its commit and an abort are decoded THEN changes inside the block carry their (sub)transaction xid, and changes after it none', () => {
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    const u64 = (n: bigint) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(n);
      return b;
    };
    const insert = (xid?: number) =>
      Buffer.concat([
        Buffer.from('I'),
        ...(xid === undefined ? [] : [u32(xid)]),
        u32(16384),
        Buffer.from('N'),
        tupleBuf(['1']),
      ]);
    const d = new StreamDecoder();
    expect(d.decode(Buffer.concat([Buffer.from('S'), u32(700), Buffer.from([1])]))).toEqual({
      tag: 'stream_start',
      xid: 700,
      first: true,
    });
    expect(d.decode(insert(701))).toEqual({ tag: 'insert', xid: 701, relid: 16384, row: ['1'] });
    expect(d.decode(Buffer.from('E'))).toEqual({ tag: 'stream_stop' });
    expect(d.decode(insert())).toMatchObject({ tag: 'insert', xid: undefined, relid: 16384, row: ['1'] });
    expect(d.decode(Buffer.concat([Buffer.from('A'), u32(700), u32(701)]))).toEqual({
      tag: 'stream_abort',
      xid: 700,
      subxid: 701,
    });
    const commit = Buffer.concat([
      Buffer.from('c'),
      u32(700),
      Buffer.from([0]),
      u64(0x10n),
      u64(0x20n),
      u64(1_000_000n),
    ]);
    expect(d.decode(commit)).toEqual({
      tag: 'stream_commit',
      xid: 700,
      commitLsn: 0x10n,
      endLsn: 0x20n,
      commitTimeUs: 1_000_000n,
    });
  });

  test('GIVEN multi-byte text values WHEN decoded THEN each is whole; a value running past the message end fails by name', () => {
    const rel = Buffer.alloc(4);
    rel.writeUInt32BE(16384);
    const insert = Buffer.concat([Buffer.from('I'), rel, Buffer.from('N'), tupleBuf(['Grüße 🚀', '', '42'])]);
    expect(decodeMessage(insert)).toEqual({ tag: 'insert', relid: 16384, row: ['Grüße 🚀', '', '42'] });
    expect(() => decodeMessage(insert.subarray(0, insert.length - 1))).toThrow(/runs past the message end/);
  });

  test('LSNs and timestamps round-trip through their text forms', () => {
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
    expect(pgTimeToIso(1_000_001n)).toBe('2000-01-01T00:00:01.000001Z');
  });
});
