import { type DbEndpoint, parseSpec, prepareTarget, SchemaMismatchError } from '../../../../lambda/engine';
import { createSync, installTombstones, runSync, UnsupportedChangeError } from '../../../../lambda/engine/sync';
import { query } from '../../../support/pg';
import { copyAll, ITEMS_DDL, itemsSpec, rolePair, rowsOf } from './helpers';

/*
 * TRUNCATE and schema changes in the stream: every transaction committed before them is applied;
 * a TRUNCATE of a one-to-one mapped table is replicated (both directions); anything else stops
 * with a named error naming the table (or spec column) and what to do, having lost nothing.
 */

const sync = (id: string, direction: 'forward' | 'reverse', oldDb: DbEndpoint, newDb: DbEndpoint, spec = itemsSpec) =>
  runSync({
    migrationId: id,
    direction,
    spec,
    source: direction === 'forward' ? oldDb : newDb,
    target: direction === 'forward' ? newDb : oldDb,
    conflicts: true,
  });

/** Two old tables merged into one new table: a TRUNCATE of one of them cannot be replayed as a TRUNCATE. */
const mergedSpec = parseSpec({
  version: 1,
  name: 'merged',
  targetDdl: ['CREATE TABLE public.items (id bigint PRIMARY KEY, name text NOT NULL)'],
  tables: ['items_a', 'items_b'].map((t) => ({
    name: t,
    source: { table: t },
    key: ['id'],
    target: { table: 'items' },
    columns: { name: 's.name' },
    forwardOnly: true,
  })),
});

describe('TRUNCATE and dropped columns in the change stream', () => {
  test('GIVEN writes, a TRUNCATE and more writes on old WHEN synced forward THEN the target equals the source (the TRUNCATE replicated in order)', async () => {
    const { source, target } = await rolePair('sytr1');
    await query(source, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 20) g`);
    await createSync(source, itemsSpec, 'trunc1', 'forward');
    await copyAll(itemsSpec, source, target);
    await query(source, `INSERT INTO items VALUES (100, 'before', NULL, 0)`);
    await query(source, `UPDATE items SET n = -1 WHERE id = 1`);
    await query(source, `TRUNCATE items`);
    await query(source, `INSERT INTO items VALUES (2, 'after', NULL, 0)`);
    await sync('trunc1', 'forward', source, target);
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
    expect(await rowsOf(target, 'public.items')).toEqual(['(2,after,,0)']);
  });

  test('GIVEN both directions running WHEN new truncates and old writes a row afterwards THEN old is emptied except its later row, and both sides end equal', async () => {
    const { source: oldDb, target: newDb } = await rolePair('sytr2');
    await query(oldDb, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 20) g`);
    await createSync(oldDb, itemsSpec, 'trunc2', 'forward');
    await copyAll(itemsSpec, oldDb, newDb);
    await sync('trunc2', 'forward', oldDb, newDb);
    await createSync(newDb, itemsSpec, 'trunc2', 'reverse');
    await installTombstones(oldDb, itemsSpec, 'trunc2', 'reverse');
    await installTombstones(newDb, itemsSpec, 'trunc2', 'forward');
    await query(newDb, `INSERT INTO items VALUES (300, 'new before', NULL, 0)`);
    await query(newDb, `TRUNCATE items`);
    await query(oldDb, `INSERT INTO items VALUES (301, 'old after', NULL, 0)`);
    await sync('trunc2', 'reverse', oldDb, newDb);
    await sync('trunc2', 'forward', oldDb, newDb);
    await sync('trunc2', 'reverse', oldDb, newDb);
    expect(await rowsOf(oldDb, 'public.items')).toEqual(['(301,"old after",,0)']);
    expect(await rowsOf(newDb, 'public.items')).toEqual(await rowsOf(oldDb, 'public.items'));
  });

  test('fails when a truncated table is not mapped one-to-one: UnsupportedChangeError names it and says what to do, after every earlier transaction was applied', async () => {
    const ddl = ['items_a', 'items_b'].map(
      (t) => `CREATE TABLE public.${t} (id bigint PRIMARY KEY, name text NOT NULL)`,
    );
    const { source, target } = await rolePair('sytr3', ddl);
    await createSync(source, mergedSpec, 'trunc3', 'forward');
    await prepareTarget(mergedSpec, source, target);
    await query(source, `INSERT INTO items_a VALUES (1, 'a1')`);
    await query(source, `INSERT INTO items_b VALUES (1001, 'b1')`);
    // The truncating transaction changed a row before its TRUNCATE: it is not applied in part.
    await query(source, `BEGIN; INSERT INTO items_b VALUES (1002, 'b2'); TRUNCATE items_a; COMMIT`);
    await query(source, `INSERT INTO items_b VALUES (1003, 'b3')`);
    const err = await sync('trunc3', 'forward', source, target, mergedSpec).catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedChangeError);
    expect(err.message).toMatch(/TRUNCATE of items_a/);
    expect(err.message).toMatch(/items_b/); // the other table writing the same destination
    expect(await rowsOf(target, 'public.items')).toEqual(['(1,a1)', '(1001,b1)']);
    // Run again: the same error, nothing applied twice or lost.
    const again = await sync('trunc3', 'forward', source, target, mergedSpec).catch((e) => e);
    expect(again).toBeInstanceOf(UnsupportedChangeError);
    expect(await rowsOf(target, 'public.items')).toEqual(['(1,a1)', '(1001,b1)']);
  });

  test('GIVEN a refused TRUNCATE in a transaction larger than one flush WHEN synced THEN every earlier transaction is applied and nothing of that one', async () => {
    const ddl = ['items_a', 'items_b'].map(
      (t) => `CREATE TABLE public.${t} (id bigint PRIMARY KEY, name text NOT NULL)`,
    );
    const { source, target } = await rolePair('sytr9', ddl);
    await createSync(source, mergedSpec, 'trunc9', 'forward');
    await prepareTarget(mergedSpec, source, target);
    await query(source, `INSERT INTO items_a VALUES (1, 'a1')`);
    await query(source, `INSERT INTO items_b SELECT g, 'b' FROM generate_series(1001, 1030) g`);
    // 50 rows, then the TRUNCATE: with flushRows 20 part of it is written before the refusal is seen.
    await query(
      source,
      `BEGIN; INSERT INTO items_b SELECT g, 'big' FROM generate_series(2001, 2050) g; TRUNCATE items_a; COMMIT`,
    );
    const run = () =>
      runSync({
        migrationId: 'trunc9',
        direction: 'forward',
        spec: mergedSpec,
        source,
        target,
        flushRows: 20,
      }).catch((e) => e);
    const want = ['(1,a1)', ...Array.from({ length: 30 }, (_, i) => `(${1001 + i},b)`)];
    expect(await run()).toBeInstanceOf(UnsupportedChangeError);
    expect(await rowsOf(target, 'public.items')).toEqual(want);
    expect(await run()).toBeInstanceOf(UnsupportedChangeError);
    expect(await rowsOf(target, 'public.items')).toEqual(want);
  });

  test('fails when a mapped source column is dropped: SchemaMismatchError names the spec column, after every earlier transaction was applied', async () => {
    const { source, target } = await rolePair('sytr4', [ITEMS_DDL]);
    await createSync(source, itemsSpec, 'trunc4', 'forward');
    await copyAll(itemsSpec, source, target);
    await query(source, `INSERT INTO items VALUES (1, 'before', NULL, 5)`);
    await query(source, `ALTER TABLE items DROP COLUMN n`);
    await query(source, `INSERT INTO items VALUES (2, 'after', NULL)`);
    const err = await sync('trunc4', 'forward', source, target).catch((e) => e);
    expect(err).toBeInstanceOf(SchemaMismatchError);
    expect(err.message).toMatch(/target column n\b/);
    expect(err.message).not.toMatch(/does not exist/);
    expect(await rowsOf(target, 'public.items')).toEqual(['(1,before,,5)']);
  });

  test('fails when a mapped column is dropped and the next transaction changed another table first: that transaction is taken back whole, every earlier one applied', async () => {
    const ddl = [ITEMS_DDL, 'CREATE TABLE public.notes (id bigint PRIMARY KEY, body text NOT NULL)'];
    const spec = parseSpec({
      version: 1,
      name: 'two-tables',
      targetDdl: ddl,
      tables: [
        ...itemsSpec.tables,
        {
          name: 'notes',
          source: { table: 'notes' },
          key: ['id'],
          target: { table: 'notes' },
          columns: { body: 's.body' },
        },
      ],
    });
    const { source, target } = await rolePair('sytr5', ddl);
    await createSync(source, spec, 'trunc5', 'forward');
    await copyAll(spec, source, target);
    await query(source, `INSERT INTO items VALUES (1, 'before', NULL, 5)`);
    await query(source, `ALTER TABLE items DROP COLUMN n`);
    await query(
      source,
      `BEGIN; INSERT INTO notes VALUES (1, 'same transaction'); INSERT INTO items VALUES (2, 'after', NULL); COMMIT`,
    );
    const err = await sync('trunc5', 'forward', source, target, spec).catch((e) => e);
    expect(err).toBeInstanceOf(SchemaMismatchError);
    expect(await rowsOf(target, 'public.items')).toEqual(['(1,before,,5)']);
    expect(await rowsOf(target, 'public.notes')).toEqual([]);
  });
});
