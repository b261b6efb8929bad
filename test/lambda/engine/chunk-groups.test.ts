import { type Chunk, groupChunks, SpecError } from '../../../lambda/engine';
import { DISTRIBUTED_COPY } from '../../../lambda/core/limits';

/** A stored plan of `n` chunks, the first `copied` of them copied. */
const plan = (n: number, copied = 0): Chunk[] =>
  Array.from({ length: n }, (_x, i) => ({
    chunkNo: i,
    lower: i ? [String(i * 100)] : null,
    upper: i < n - 1 ? [String((i + 1) * 100)] : null,
    copiedRows: i < copied ? 100 : null,
    fresh: true,
    attempts: i < copied ? 1 : 0,
  }));

/** Every chunk number of every table, from the groups: each exactly once, in order. */
const covered = (items: { table: string; from: number; to: number }[]) =>
  items.flatMap((g) => Array.from({ length: g.to - g.from + 1 }, (_x, i) => `${g.table}#${g.from + i}`));

describe('groupChunks: the work items of a distributed copy', () => {
  test('GIVEN two tables WHEN grouped by 4 THEN consecutive groups of at most 4 chunks cover every chunk once, tables in the order given', () => {
    const r = groupChunks(
      [
        { table: 'conversations', chunks: plan(3) },
        { table: 'messages', chunks: plan(10) },
      ],
      { chunksPerItem: 4 },
    );
    expect(r).toEqual({
      chunksPerItem: 4,
      alreadyCopied: 0,
      items: [
        { table: 'conversations', from: 0, to: 2 },
        { table: 'messages', from: 0, to: 3 },
        { table: 'messages', from: 4, to: 7 },
        { table: 'messages', from: 8, to: 9 },
      ],
    });
  });

  test('GIVEN a resumed run WHEN grouped again THEN the groups are the same and fully copied ones are left out', () => {
    const first = groupChunks([{ table: 'messages', chunks: plan(10) }], { chunksPerItem: 4 });
    const resumed = groupChunks([{ table: 'messages', chunks: plan(10, 5) }], { chunksPerItem: 4 });
    expect(resumed.alreadyCopied).toBe(1);
    // chunks 0..3 are copied; 4 is copied but 5..7 are not, so that group stays
    expect(resumed.items).toEqual(first.items.slice(1));
  });

  test('GIVEN more chunks than the item cap WHEN grouped THEN groups grow until the list fits, still covering every chunk once', () => {
    const tables = [
      { table: 'a', chunks: plan(2_500) },
      { table: 'b', chunks: plan(7) },
      { table: 'c', chunks: plan(1) },
    ];
    const r = groupChunks(tables, { chunksPerItem: 1 });
    expect(r.items.length).toBeLessThanOrEqual(DISTRIBUTED_COPY.maxItems);
    expect(r.chunksPerItem).toBeGreaterThan(1);
    expect(covered(r.items)).toEqual(tables.flatMap((t) => t.chunks.map((c) => `${t.table}#${c.chunkNo}`)));
    expect(JSON.stringify(r.items).length).toBeLessThanOrEqual(DISTRIBUTED_COPY.maxItemsBytes);
  });

  test('GIVEN long table names WHEN grouped THEN the JSON of the list stays within the byte cap', () => {
    const long = 'x'.repeat(500);
    const r = groupChunks([{ table: long, chunks: plan(400) }], { chunksPerItem: 1, maxItemsBytes: 16 * 1024 });
    expect(JSON.stringify(r.items).length).toBeLessThanOrEqual(16 * 1024);
    expect(covered(r.items)).toHaveLength(400);
  });

  test('fails when even one group per table is more than a state may carry, with SpecError naming the counts', () => {
    const tables = Array.from({ length: 6 }, (_x, i) => ({ table: `t${i}`, chunks: plan(2) }));
    expect(() => groupChunks(tables, { chunksPerItem: 1, maxItems: 5 })).toThrow(SpecError);
    expect(() => groupChunks(tables, { chunksPerItem: 1, maxItems: 5 })).toThrow(
      'a distributed copy of 6 tables needs 6 items even at one per table: more than the 5 items',
    );
  });
});
