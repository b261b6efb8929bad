import type { Client } from 'pg';
import { connect, type DbEndpoint, parseSpec } from '../../../../lambda/engine';
import { Applier, type BoundRelation } from '../../../../lambda/engine/sync/apply';
import { ensureSyncBookkeeping } from '../../../../lambda/engine/sync/bookkeeping';
import { syncTables } from '../../../../lambda/engine/sync/tables';
import { query } from '../../../support/pg';
import { copyAll, ITEMS_DDL, itemsSpec, rolePair } from './helpers';

/** The items table as pgoutput describes it. */
const columns = [
  { name: 'id', typeOid: 20, typmod: -1, isKey: true },
  { name: 'name', typeOid: 25, typmod: -1, isKey: false },
  { name: 'big', typeOid: 25, typmod: -1, isKey: false },
  { name: 'n', typeOid: 23, typmod: -1, isKey: false },
];

/**
 * Round trips of one destination transaction of the applier (issue 23: on a remote database each is
 * a network wait): begin (BEGIN, applier lock, tombstone setting, loop mark, applied_xacts), the COPY
 * into the staging table, and the flush (conflicts, apply, staging emptied, position, COMMIT).
 */
describe('applier round trips per destination transaction', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  let src: Client;
  let dst: Client | undefined;
  let rel: BoundRelation;

  beforeAll(async () => {
    ({ source, target } = await rolePair('syrt'));
    await query(source, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 50) g`);
    await copyAll(itemsSpec, source, target);
    src = await connect(source);
    const c = await connect(target);
    await ensureSyncBookkeeping(c);
    await c.end();
  });

  afterAll(async () => {
    await Promise.all([src?.end(), dst?.end()]);
  });

  /** Queries sent on the destination connection while `fn` runs. */
  async function trips(fn: () => Promise<unknown>): Promise<number> {
    const spy = jest.spyOn(dst!, 'query');
    try {
      await fn();
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  }

  test.each([
    { name: 'one-way', conflicts: false, expected: 3 },
    { name: 'two-way (conflict check)', conflicts: true, expected: 3 },
  ])(
    'GIVEN a $name batch of an insert, an update and a delete WHEN committed THEN it takes $expected round trips',
    async ({ conflicts, expected }) => {
      await dst?.end(); // a connection of its own: its staging tables are its own
      dst = await connect(target);
      const applier = new Applier(dst, src, {
        direction: 'forward',
        slot: `sy_rt_${conflicts}`,
        conflicts,
        loopGuard: 'message',
        migrationId: 'rt',
      });
      const [table] = await syncTables(itemsSpec, 'forward', src, dst);
      rel = await applier.bind(table, columns, 'd');
      const ts = new Date().toISOString();
      const batch = async (id: number, gone: number) => {
        await applier.insert(rel, [String(id), 'new', null, '1'], ts);
        await applier.update(rel, null, ['3', `renamed ${id}`, null, '3'], ts);
        await applier.delete(rel, [String(gone), null, null, null], ts);
        await applier.commit([rel], '0/1', ts);
      };
      const base = conflicts ? 3000 : 2000;
      await batch(base, base === 2000 ? 10 : 20); // the first commit of an applier also prunes its bookkeeping
      expect(await trips(() => batch(base + 1, base === 2000 ? 11 : 21))).toBe(expected);
      const rows = await query<{ id: string; name: string }>(
        target,
        `SELECT id::text, name FROM items WHERE id IN (3, ${base}, ${base + 1}, ${base === 2000 ? '10, 11' : '20, 21'}) ORDER BY items.id`,
      );
      expect(rows).toEqual([
        { id: '3', name: `renamed ${base + 1}` },
        { id: String(base), name: 'new' },
        { id: String(base + 1), name: 'new' },
      ]);
    },
  );
});

describe('applier round trips with several tables', () => {
  const TAGS_DDL = `CREATE TABLE public.tags (id bigint PRIMARY KEY, label text NOT NULL)`;
  const spec = parseSpec({
    version: 1,
    name: 'items-tags',
    targetDdl: [ITEMS_DDL, TAGS_DDL],
    tables: [
      ...itemsSpec.tables, // the items table as the one-table tests sync it
      {
        name: 'tags',
        source: { table: 'tags' },
        key: ['id'],
        target: { table: 'tags' },
        columns: { label: 's.label' },
      },
    ],
  });
  const tagColumns = [
    { name: 'id', typeOid: 20, typmod: -1, isKey: true },
    { name: 'label', typeOid: 25, typmod: -1, isKey: false },
  ];

  test.each([
    { rows: 10, expected: 3, how: 'one statement stages both tables' },
    { rows: 600, expected: 4, how: 'more than 1,000 rows: a COPY per table' },
  ])(
    'GIVEN a batch of $rows rows in each of two tables WHEN committed THEN it takes $expected round trips ($how) and lands whole',
    async ({ rows, expected }) => {
      const { source, target } = await rolePair(`syr2${rows}`, [ITEMS_DDL, TAGS_DDL]);
      await copyAll(spec, source, target);
      const src = await connect(source);
      const dst = await connect(target);
      try {
        await ensureSyncBookkeeping(dst);
        const applier = new Applier(dst, src, {
          direction: 'forward',
          slot: `sy_rt2_${rows}`,
          conflicts: false,
          loopGuard: 'message',
          migrationId: 'rt2',
        });
        const [items, tags] = await syncTables(spec, 'forward', src, dst);
        const ri = await applier.bind(items, columns, 'd');
        const rt = await applier.bind(tags, tagColumns, 'd');
        const ts = new Date().toISOString();
        const batch = async (from: number) => {
          for (let i = from; i < from + rows; i++) {
            await applier.insert(ri, [String(i), `item\t${i}\n"q" \\`, null, String(i)], ts);
            await applier.insert(rt, [String(i), i % 2 ? 'NULL' : '{a,"b"}'], ts); // array-literal look-alikes stay text
          }
          await applier.commit([ri, rt], '0/1', ts);
        };
        await batch(1); // the first commit also prunes the bookkeeping
        const spy = jest.spyOn(dst, 'query');
        await batch(100_000);
        expect(spy.mock.calls.length).toBe(expected);
        spy.mockRestore();
        const n = await query<{ i: number; t: number }>(
          target,
          `SELECT (SELECT count(*)::int FROM items WHERE id >= 100000 AND name = 'item' || chr(9) || id || chr(10) || '"q" ' || chr(92)) AS i, (SELECT count(*)::int FROM tags WHERE id >= 100000 AND label = CASE WHEN id % 2 = 1 THEN 'NULL' ELSE '{a,"b"}' END) AS t`,
        );
        expect(n).toEqual([{ i: rows, t: rows }]);
      } finally {
        await Promise.all([src.end(), dst.end()]);
      }
    },
  );
});
