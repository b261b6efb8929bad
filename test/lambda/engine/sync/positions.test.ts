import type { DbEndpoint } from '../../../../lambda/engine';
import { connect } from '../../../../lambda/engine/db';
import { parseLsn } from '../../../../lambda/engine/sync';
import { sourceInsertPosition } from '../../../../lambda/engine/sync/positions';
import { asMigrationRole, freshDatabase } from '../../../support/pg';

/**
 * A drain's target (a switchover fence, a rollback drain) must lie at or past every commit the
 * source acknowledged. With `synchronous_commit = off` (allowed on RDS, and set on the test
 * server) a commit is acknowledged before its WAL is written, so the write position
 * (`pg_current_wal_lsn()`) can lie before it: a drain to it stops short and the switchover
 * reports writes as applied that were not.
 */
describe('drain target position', () => {
  let db: DbEndpoint;

  beforeAll(async () => {
    db = await asMigrationRole(await freshDatabase('positions'));
    const c = await connect(db);
    await c.query('CREATE TABLE t (id int PRIMARY KEY)');
    await c.end();
  });

  test('GIVEN transactions committed asynchronously WHEN the drain target is read right after THEN it lies past each commit', async () => {
    const writer = await connect(db);
    try {
      await writer.query('SET synchronous_commit = off');
      for (let i = 0; i < 20; i++) {
        await writer.query('INSERT INTO t VALUES ($1)', [i]);
        // The committing session's own insert position right after its COMMIT: the commit record's end.
        const committed = (await writer.query('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string;
        const target = await sourceInsertPosition(db);
        expect(parseLsn(target)).toBeGreaterThanOrEqual(parseLsn(committed));
      }
    } finally {
      await writer.end();
    }
  });
});
