import { type DbEndpoint, describeTableWith, parseSpec } from '../../lambda/engine';
import { createSync, qualifiedTableSpec, runSync } from '../../lambda/engine/sync';
import { validateUnderWrites } from '../../lambda/engine/validate-under-writes';
import { copyAll } from '../lambda/engine/sync/helpers';
import { query } from '../support/pg';
import { label, matrixPairs, type Pair, roleDb } from './matrix';

const SOURCE_DDL = `CREATE TABLE public.orders (id bigint PRIMARY KEY, customer text NOT NULL, amount_cents int NOT NULL,
  placed timestamptz NOT NULL, note text, tags text[])`;
/** A transforming spec: renamed table and columns, computed values, a narrower date. */
const spec = parseSpec({
  version: 1,
  name: 'versions-orders',
  targetDdl: [
    `CREATE TABLE public.orders_v2 (id bigint PRIMARY KEY, customer_name text NOT NULL, amount numeric NOT NULL,
       placed_on date NOT NULL, note text, tag_count int NOT NULL)`,
  ],
  tables: [
    {
      name: 'orders',
      source: { table: 'orders' },
      key: ['id'],
      target: { table: 'orders_v2' },
      columns: {
        customer_name: 'upper(s.customer)',
        amount: 's.amount_cents / 100.0',
        placed_on: "(s.placed AT TIME ZONE 'UTC')::date",
        note: 's.note',
        tag_count: 'coalesce(cardinality(s.tags), 0)',
      },
      forwardOnly: true,
      chunkSize: 250,
    },
  ],
});
const ROWS = 1500;

describe.each(matrixPairs().map((p) => [label(p), p] as const))('copy and validation, %s', (_l, pair: Pair) => {
  const id = `cv${pair.old}x${pair.new}`;
  let source: DbEndpoint;
  let target: DbEndpoint;

  beforeAll(async () => {
    source = await roleDb(pair.old, 'cv_old', [SOURCE_DDL]);
    target = await roleDb(pair.new, 'cv_new');
    await query(
      source,
      `INSERT INTO orders SELECT g, 'customer ' || g, g * 7, timestamptz '2024-01-01 00:00Z' + g * interval '1 hour',
         CASE WHEN g % 3 = 0 THEN repeat('n', 3000) END, CASE WHEN g % 2 = 0 THEN ARRAY['a', 'b'] END
       FROM generate_series(1, ${ROWS}) g`,
    );
    await createSync(source, spec, id, 'forward');
    await copyAll(spec, source, target);
  });

  test('GIVEN a transforming spec WHEN copied THEN the target holds the projected rows', async () => {
    const [t] = await query<{ n: number; amount: string; tags: number }>(
      target,
      `SELECT count(*)::int AS n, sum(amount)::text AS amount, sum(tag_count)::int AS tags FROM orders_v2`,
    );
    expect({ ...t, amount: Number(t.amount) }).toEqual({
      n: ROWS,
      amount: (7 * ROWS * (ROWS + 1)) / 2 / 100,
      tags: ROWS,
    });
    const [one] = await query(target, `SELECT customer_name, placed_on::text AS d FROM orders_v2 WHERE id = 30`);
    expect(one).toEqual({ customer_name: 'CUSTOMER 30', d: '2024-01-02' });
  });

  test('GIVEN a writer on the source WHEN validated under writes and synced THEN it matches, and a tampered row is named', async () => {
    let writing = true;
    let i = 0;
    const writer = (async () => {
      while (writing) {
        i++;
        await query(source, `INSERT INTO orders VALUES (${ROWS + i}, 'late ${i}', ${i}, now(), NULL, NULL)`);
        await query(source, `UPDATE orders SET amount_cents = amount_cents + 1 WHERE id = ${1 + (i % 200)}`);
        if (i % 4 === 0) await query(source, `DELETE FROM orders WHERE id = ${400 + i}`);
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const layout = await describeTableWith(qualifiedTableSpec(spec.tables[0]), source, target);
    const v = await validateUnderWrites(layout, source, target, { runId: id, migrationId: id, spec });
    writing = false;
    await writer;
    expect(v.mismatches).toEqual({ missing: [], extra: [], changed: [], truncated: false });
    await runSync({ migrationId: id, direction: 'forward', spec, source, target });
    await query(target, `UPDATE orders_v2 SET note = 'tampered' WHERE id = 7`);
    const after = await validateUnderWrites(layout, source, target, {
      runId: `${id}b`,
      migrationId: id,
      spec,
      rounds: 2,
    });
    expect(after.match).toBe(false);
    expect(after.mismatches.changed).toEqual([['7']]);
  });
});
