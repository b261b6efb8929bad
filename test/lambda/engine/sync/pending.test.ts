import type { DbEndpoint } from '../../../../lambda/engine';
import { createSync, pendingChanges } from '../../../../lambda/engine/sync';
import { query } from '../../../support/pg';
import { copyAll, itemsSpec, rolePair } from './helpers';

/**
 * What a failed drain reports as not returned (`pendingChanges`, the rollback's notification). The
 * test server commits asynchronously (`synchronous_commit = off`, allowed on RDS): a write is
 * acknowledged before its WAL is flushed, and a peek reads only flushed WAL.
 */
describe('pending changes of a direction', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'pending';

  beforeAll(async () => {
    ({ source, target } = await rolePair('sypd'));
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
  });

  test('GIVEN writes acknowledged just now WHEN the pending changes are counted THEN every one of them is', async () => {
    for (let i = 1; i <= 10; i++) {
      await query(source, `INSERT INTO items VALUES (${i}, 'acknowledged', NULL, 0)`);
      const p = await pendingChanges(source, id, 'forward');
      expect([p.exists, p.changes]).toEqual([true, i]);
    }
  });

  test('GIVEN an unknown migration id WHEN counted THEN the slot does not exist and nothing is counted', async () => {
    expect(await pendingChanges(source, 'nosuch', 'forward')).toMatchObject({ exists: false, changes: null });
  });
});
