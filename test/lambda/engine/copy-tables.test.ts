import {
  ChunkDataError,
  copyTables,
  type DbEndpoint,
  describeTableWith,
  type MigrationSpec,
  parseSpec,
  prepareTarget,
  validateTable,
} from '../../../lambda/engine';
import { freshDatabase, query } from '../../support/pg';

const SMALL = 30;
const small = (i: number) => `s${String(i).padStart(2, '0')}`;

/** parent (3,000 rows) and child (6,000 rows, FK to parent on the target), and SMALL tables of 40 rows. */
async function schema(prefix: string): Promise<{ source: DbEndpoint; target: DbEndpoint; spec: MigrationSpec }> {
  const source = await freshDatabase(`${prefix}src`);
  const target = await freshDatabase(`${prefix}tgt`);
  const smallDdl = Array.from(
    { length: SMALL },
    (_x, i) => `CREATE TABLE ${small(i)} (id bigint PRIMARY KEY, v text NOT NULL)`,
  );
  await query(
    source,
    [
      'CREATE TABLE parent (id bigint PRIMARY KEY, v text NOT NULL)',
      'CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint NOT NULL, v text NOT NULL)',
      `INSERT INTO parent SELECT g, md5(g::text) FROM generate_series(1, 3000) g`,
      `INSERT INTO child SELECT g, 1 + g % 3000, md5(g::text) FROM generate_series(1, 6000) g`,
      ...smallDdl,
      ...Array.from(
        { length: SMALL },
        (_x, i) => `INSERT INTO ${small(i)} SELECT g, 'r' || g FROM generate_series(1, 40) g`,
      ),
      'ANALYZE',
    ].join('; '),
  );
  const spec = parseSpec({
    version: 1,
    name: 'many',
    targetDdl: [
      'CREATE TABLE parent (id bigint PRIMARY KEY, v text NOT NULL)',
      'CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint NOT NULL REFERENCES parent (id), v text NOT NULL)',
      ...smallDdl,
    ],
    tables: [
      {
        name: 'parent',
        source: { table: 'parent' },
        key: ['id'],
        target: { table: 'parent' },
        columns: { v: 's.v' },
        chunkSize: 500,
      },
      {
        name: 'child',
        source: { table: 'child' },
        key: ['id'],
        target: { table: 'child' },
        columns: { parent_id: 's.parent_id', v: 's.v' },
        chunkSize: 500,
      },
      ...Array.from({ length: SMALL }, (_x, i) => ({
        name: small(i),
        source: { table: small(i) },
        key: ['id'],
        target: { table: small(i) },
        columns: { v: 's.v' },
      })),
    ],
  });
  await prepareTarget(spec, source, target);
  return { source, target, spec };
}

describe('copyTables', () => {
  test('GIVEN many small tables and two FK-linked chunked ones WHEN copied with one pool of 2 THEN every row arrives, small tables share transactions, and the FK order holds', async () => {
    const { source, target, spec } = await schema('ct');
    const layouts = await Promise.all(spec.tables.map((t) => describeTableWith(t, source, target)));

    const results = await copyTables(
      layouts.map((layout) => ({ layout })),
      source,
      target,
      { runId: 'many', concurrency: 2 },
    );

    expect(results.map((r) => r.table)).toEqual(spec.tables.map((t) => t.name));
    expect(results.every((r) => r.complete)).toBe(true);
    expect(results[0]).toMatchObject({ chunks: 6, rowsTotal: 3_000 });
    expect(results[1]).toMatchObject({ chunks: 12, rowsTotal: 6_000 });
    for (const r of results.slice(2)) expect(r).toMatchObject({ chunks: 1, rowsTotal: 40 });
    // small tables: planned as one whole-range chunk each (no key scan), copied several to a transaction (now() is per transaction)
    const [batched] = await query<{ tables: string; transactions: string; whole: string }>(
      target,
      `SELECT count(*) AS tables, count(DISTINCT copied_at) AS transactions,
              count(*) FILTER (WHERE lower_key IS NULL AND upper_key IS NULL) AS whole
         FROM switchyard.copy_chunks WHERE run_id = 'many' AND table_name LIKE 's%'`,
    );
    expect(Number(batched.tables)).toBe(SMALL);
    expect(Number(batched.whole)).toBe(SMALL);
    expect(Number(batched.transactions)).toBeLessThan(SMALL / 2);
    for (const layout of layouts)
      expect((await validateTable(layout, source, target, { runId: 'many' })).match).toBe(true);

    // a rerun with the same run id copies nothing
    const again = await copyTables(
      layouts.map((layout) => ({ layout })),
      source,
      target,
      { runId: 'many', concurrency: 2 },
    );
    expect(again.reduce((n, r) => n + r.rowsCopied, 0)).toBe(0);
    expect(again.every((r) => r.complete)).toBe(true);
  });

  test('GIVEN a bad row in one small table of a batch WHEN copied THEN ChunkDataError names that table, and after the fix a rerun completes every table', async () => {
    const { source, target, spec } = await schema('cf');
    await query(target, `ALTER TABLE ${small(7)} ADD CONSTRAINT v_allowed CHECK (v <> 'r13')`);
    const layouts = await Promise.all(spec.tables.map((t) => describeTableWith(t, source, target)));
    const items = layouts.slice(2).map((layout) => ({ layout }));

    const err = (await copyTables(items, source, target, { runId: 'bad', concurrency: 1 }).catch(
      (e: unknown) => e,
    )) as ChunkDataError;

    expect(err).toBeInstanceOf(ChunkDataError);
    expect(err).toMatchObject({ table: small(7), chunkNo: 0, code: '23514' });
    expect(err.message).toContain('constraint v_allowed');
    expect(err.message).not.toContain('r13');
    await query(target, `ALTER TABLE ${small(7)} DROP CONSTRAINT v_allowed`);
    const results = await copyTables(items, source, target, { runId: 'bad', concurrency: 2 });
    expect(results.every((r) => r.complete && r.rowsTotal === 40)).toBe(true);
    const [{ n }] = await query<{ n: string }>(target, `SELECT count(*) AS n FROM ${small(7)}`);
    expect(Number(n)).toBe(40);
  });

  test('GIVEN a deadline already passed WHEN copied THEN nothing is taken and every table reports incomplete', async () => {
    const { source, target, spec } = await schema('cd');
    const layouts = await Promise.all(spec.tables.slice(0, 4).map((t) => describeTableWith(t, source, target)));
    const results = await copyTables(
      layouts.map((layout) => ({ layout })),
      source,
      target,
      { runId: 'late', concurrency: 2, deadline: Date.now() - 1 },
    );
    expect(results.map((r) => r.complete)).toEqual([false, false, false, false]);
    expect(results.reduce((n, r) => n + r.rowsCopied, 0)).toBe(0);
  });
});
