import { decodeMessage, formatLsn, parseLsn, pgTimeToIso, UNCHANGED } from '../../../../lambda/engine/sync/pgoutput';

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

  test('fails closed on streamed and unknown messages: they decode as unsupported for the caller to refuse', () => {
    expect(decodeMessage(Buffer.from('S\0\0\0\x01\x01'))).toEqual({ tag: 'unsupported', code: 'S' });
    expect(decodeMessage(Buffer.from('Z'))).toEqual({ tag: 'unsupported', code: '0x5a' });
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
