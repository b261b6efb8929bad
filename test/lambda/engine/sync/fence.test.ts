import type { DbEndpoint } from '../../../../lambda/engine';
import { copyTable, describeTableWith, prepareTarget } from '../../../../lambda/engine';
import {
  assertFence,
  assertFenceShared,
  createSync,
  qualifiedTableSpec,
  raiseFence,
  runSync,
} from '../../../../lambda/engine/sync';
import { ERRORS } from '../../../../lambda/core/errors';
import { query } from '../../../support/pg';
import { copyAll, itemsSpec, rolePair, rowsOf } from './helpers';

/**
 * Fencing in the destination: each apply transaction raises `switchyard.fence` to its token or,
 * when a later execution already showed a higher one, fails with StaleExecutionError and applies nothing.
 */
describe('fence in the apply transaction', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'fence';

  beforeAll(async () => {
    ({ source, target } = await rolePair('syfe'));
    await query(source, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 20) g`);
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
  });

  test('GIVEN a later execution raised the fence to token 2 WHEN an execution with token 1 applies THEN StaleExecutionError and nothing of it is applied; token 2 applies it', async () => {
    await query(source, `UPDATE items SET name = 'edited' WHERE id = 7`);
    await raiseFence(target, { stage: 's', token: 2 });
    const sync = (token: number) =>
      runSync({
        migrationId: id,
        direction: 'forward',
        spec: itemsSpec,
        source,
        target,
        fence: (c) => assertFence(c, { stage: 's', token }),
      });
    await expect(sync(1)).rejects.toMatchObject({ name: ERRORS.StaleExecutionError });
    const stale = await query<{ name: string }>(target, `SELECT name FROM items WHERE id = 7`);
    expect(stale[0].name).toBe('item 7');
    const r = await sync(2);
    expect(r.updated).toBe(1);
    expect((await query<{ name: string }>(target, `SELECT name FROM items WHERE id = 7`))[0].name).toBe('edited');
    expect((await rowsOf(target, 'items')).length).toBe(20);
  });

  test('the fence only moves up: raising it to a lower token fails, to the same token passes', async () => {
    await raiseFence(target, { stage: 'up', token: 5 });
    await raiseFence(target, { stage: 'up', token: 5 });
    await expect(raiseFence(target, { stage: 'up', token: 4 })).rejects.toMatchObject({
      name: ERRORS.StaleExecutionError,
      message: expect.stringMatching(/token 4 is older than token 5/),
    });
  });

  test('GIVEN a later execution raised the fence WHEN a stale execution copies a chunk THEN StaleExecutionError and nothing of the chunk commits; the live one copies it', async () => {
    const { source: src, target: tgt } = await rolePair('syfc');
    await query(src, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 50) g`);
    await prepareTarget(itemsSpec, src, tgt);
    const layout = await describeTableWith(qualifiedTableSpec(itemsSpec.tables[0]), src, tgt);
    await raiseFence(tgt, { stage: 'copy', token: 2 });
    const stale = { stage: 'copy', token: 1 };
    const err = await copyTable(layout, src, tgt, {
      runId: 'fenced-copy',
      fence: (c) => assertFenceShared(c, stale),
    }).catch((e) => e);
    expect(err).toMatchObject({ name: ERRORS.StaleExecutionError, message: expect.stringMatching(/token 1 is older/) });
    expect(await rowsOf(tgt, 'public.items')).toEqual([]);
    const live = await copyTable(layout, src, tgt, {
      runId: 'fenced-copy',
      fence: (c) => assertFenceShared(c, { stage: 'copy', token: 2 }),
    });
    expect(live).toMatchObject({ complete: true, rowsTotal: 50 });
  });
});
