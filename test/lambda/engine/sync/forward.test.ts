import type { DbEndpoint } from '../../../../lambda/engine';
import { createSync, runSync, slotStatus } from '../../../../lambda/engine/sync';
import { query } from '../../../support/pg';
import { copyAll, countWrites, itemsSpec, rolePair, rowsOf, writes } from './helpers';

const big = `(SELECT string_agg(md5(random()::text || g), '') FROM generate_series(1, 320) g)`; // ~10 KB, barely compressible: stored out of line

describe('forward sync (old -> new) as the non-superuser login', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'fwd-basic';

  beforeAll(async () => {
    ({ source, target } = await rolePair('syf'));
    await query(source, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 200) g`);
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
    await countWrites(target, 'public.items');
  });

  test('GIVEN inserts, updates, deletes, a multi-row transaction and a key update WHEN synced THEN the target equals the source', async () => {
    await query(source, `INSERT INTO items VALUES (1001, 'new one', NULL, 1)`);
    await query(source, `UPDATE items SET name = 'renamed' WHERE id = 5`);
    await query(source, `DELETE FROM items WHERE id = 6`);
    await query(
      source,
      `BEGIN; INSERT INTO items SELECT g, 'batch', NULL, 0 FROM generate_series(2000, 2099) g; UPDATE items SET n = n + 100 WHERE id BETWEEN 10 AND 19; DELETE FROM items WHERE id BETWEEN 20 AND 24; COMMIT`,
    );
    await query(source, `UPDATE items SET id = 5000 WHERE id = 7`);
    await query(
      source,
      `BEGIN; INSERT INTO items VALUES (3000, 'short-lived', NULL, 0); UPDATE items SET name = 'x' WHERE id = 3000; DELETE FROM items WHERE id = 3000; COMMIT`,
    );
    const r = await runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source, target });
    expect(r).toMatchObject({
      transactions: 6,
      inserted: 102,
      updated: 13,
      deleted: 7,
      conflicts: 0,
      caughtUp: true,
      loopGuard: 'message',
    });
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
    const [gone] = await query<{ n: number }>(
      target,
      `SELECT count(*)::int AS n FROM items WHERE id IN (6, 7, 20, 3000)`,
    );
    expect(gone.n).toBe(0);
    const [pos] = await query<{ lsn: string }>(
      target,
      `SELECT lsn::text FROM switchyard.sync_position WHERE slot_name = $1`,
      [r.slot],
    );
    expect(pos.lsn).toBeTruthy();
    expect((await slotStatus(source, id, 'forward')).confirmedLsn).not.toBeNull();
  });

  test('GIVEN a 10 KB TOASTed value WHEN another column is updated THEN the target keeps the value (never NULL), also when the target row was missing', async () => {
    await query(source, `INSERT INTO items VALUES (7000, 'toast', ${big}, 0), (7001, 'toast2', ${big}, 0)`);
    await runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source, target });
    await query(target, `DELETE FROM items WHERE id = 7001`);
    await query(source, `UPDATE items SET n = 42, name = 'toast updated' WHERE id IN (7000, 7001)`);
    const r = await runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source, target });
    expect(r.updated).toBe(2);
    const t = await query<{ id: string; len: number; n: number }>(
      target,
      `SELECT id, length(big) AS len, n FROM items WHERE id IN (7000, 7001) ORDER BY id`,
    );
    expect(t.map((x) => [x.len, x.n])).toEqual([
      [10240, 42],
      [10240, 42],
    ]);
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  });

  test('GIVEN a crash after the apply commit and before the slot advance WHEN rerun THEN nothing is applied twice', async () => {
    await query(source, `UPDATE items SET n = n + 1 WHERE id BETWEEN 100 AND 149`);
    await query(source, `INSERT INTO items VALUES (8000, 'after crash', NULL, 0)`);
    const before = await writes(target);
    await expect(
      runSync({
        migrationId: id,
        direction: 'forward',
        spec: itemsSpec,
        source,
        target,
        faults: {
          afterApplyCommit: () => {
            throw new Error('injected crash');
          },
        },
      }),
    ).rejects.toThrow('injected crash');
    const afterCrash = await writes(target);
    expect(afterCrash - before).toBe(51);
    const rerun = await runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source, target });
    expect(rerun.transactions).toBe(0);
    expect(rerun.alreadyApplied).toBe(51);
    expect(await writes(target)).toBe(afterCrash);
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  });

  test('GIVEN the source truncated between writes WHEN synced THEN the TRUNCATE is replayed in order: the write before it is gone, the one after it is there', async () => {
    const { source: s2, target: t2 } = await rolePair('syt');
    await createSync(s2, itemsSpec, 'trunc', 'forward');
    await copyAll(itemsSpec, s2, t2);
    await query(s2, `INSERT INTO items VALUES (1, 'a', NULL, 0)`);
    await query(s2, `TRUNCATE items`);
    await query(s2, `INSERT INTO items VALUES (2, 'b', NULL, 0)`);
    await runSync({ migrationId: 'trunc', direction: 'forward', spec: itemsSpec, source: s2, target: t2 });
    expect(await rowsOf(t2, 'public.items')).toEqual(['(2,b,,0)']);
  });
});
