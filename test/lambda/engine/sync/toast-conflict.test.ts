import type { DbEndpoint } from '../../../../lambda/engine/db';
import { createSync, installTombstones, runSync } from '../../../../lambda/engine/sync';
import { query } from '../../../support/pg';
import { copyAll, itemsSpec, rolePair, rowsOf } from './helpers';

/*
 * An incoming UPDATE that did not carry an unchanged TOAST value wins a conflict (later commit
 * wins): the value it did not carry must come from its own source, never stay the loser's.
 * Real embedded PostgreSQL, as the non-superuser migration login.
 */

const id = 'toastcf';
const big = (seed: string) => `(SELECT string_agg(md5(${seed} || g), '') FROM generate_series(1, 320) g)`; // ~10 KB, stored out of line
const sync = (direction: 'forward' | 'reverse', oldDb: DbEndpoint, newDb: DbEndpoint) =>
  runSync({
    migrationId: id,
    direction,
    spec: itemsSpec,
    source: direction === 'forward' ? oldDb : newDb,
    target: direction === 'forward' ? newDb : oldDb,
    conflicts: true,
  });

describe('unchanged TOAST values of a row that wins a conflict', () => {
  let oldDb: DbEndpoint;
  let newDb: DbEndpoint;

  beforeAll(async () => {
    ({ source: oldDb, target: newDb } = await rolePair('sytc'));
    await query(oldDb, `INSERT INTO items SELECT g, 'toast ' || g, ${big("'a'")}, 0 FROM generate_series(1, 4) g`);
    await createSync(oldDb, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, oldDb, newDb);
    await sync('forward', oldDb, newDb);
    await createSync(newDb, itemsSpec, id, 'reverse');
    await installTombstones(oldDb, itemsSpec, id, 'reverse');
    await installTombstones(newDb, itemsSpec, id, 'forward');
  });

  const bigOf = async (db: DbEndpoint, key: number) =>
    (await query<{ h: string }>(db, `SELECT md5(big) AS h FROM items WHERE id = $1`, [key]))[0].h;

  test.each([
    ['reverse first', ['reverse', 'forward'] as const, 1],
    ['forward first', ['forward', 'reverse'] as const, 2],
  ])(
    'GIVEN old rewrites the TOASTed value, then new updates another column of the row WHEN synced (%s) THEN the later row wins whole on both sides: its TOASTed value is read from new, not kept from old',
    async (_n, order, key) => {
      const original = await bigOf(newDb, key);
      await query(oldDb, `UPDATE items SET big = ${big("'loser'")} WHERE id = $1`, [key]);
      await query(newDb, `UPDATE items SET n = 7 WHERE id = $1`, [key]);
      let conflicts = 0;
      for (const d of order) conflicts += (await sync(d, oldDb, newDb)).conflicts;
      expect(conflicts).toBe(1);
      expect(await bigOf(oldDb, key)).toBe(original);
      expect(await rowsOf(oldDb, 'public.items')).toEqual(await rowsOf(newDb, 'public.items'));
    },
  );

  test('GIVEN new rewrites the TOASTed value, then old updates another column WHEN synced THEN the later old row wins whole on new (the mirror)', async () => {
    const original = await bigOf(oldDb, 3);
    await query(newDb, `UPDATE items SET big = ${big("'loser2'")} WHERE id = 3`);
    await query(oldDb, `UPDATE items SET n = 8 WHERE id = 3`);
    const f = await sync('forward', oldDb, newDb);
    const r = await sync('reverse', oldDb, newDb);
    expect(f.conflicts + r.conflicts).toBe(1);
    expect(await bigOf(newDb, 3)).toBe(original);
    expect(await rowsOf(oldDb, 'public.items')).toEqual(await rowsOf(newDb, 'public.items'));
  });
});
