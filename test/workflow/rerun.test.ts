import { MemoryRouter } from '../../lambda/adapters/local/local-traffic';
import { query } from '../support/pg';
import { freshWorld, run, targetCount } from './helpers';

class InjectedFault extends Error {
  public readonly name = 'InjectedFault';
}

describe('Migrate rerun with the same id after a failure before traffic', () => {
  test('GIVEN a Migrate that copied, failed and dropped its capture, and writes on the old side after that WHEN rerun with the same id THEN it copies again (the old checkpoints are void) and ends with every row on the new side', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(300, { router });
    const failed = await run(
      'migrate',
      world,
      { migrationId: 'm-rerun-copy' },
      {
        beforeTask: (s) => {
          if (s === 'Smoke') throw new InjectedFault('injected into Smoke');
        },
      },
    );
    expect([failed.status, failed.error]).toEqual(['FAILED', 'InjectedFault']);
    // Written while no capture exists: only a new copy can bring these to the new side.
    await query(
      world.source,
      `INSERT INTO chat_messages (id, session_id, role, body, metadata, created_at)
       SELECT g, 1, 'human', 'after the failure', NULL, now() FROM generate_series(100001, 100020) g`,
    );
    await query(world.source, `UPDATE chat_messages SET body = 'edited after the failure' WHERE id <= 5`);
    const rerun = await run('migrate', world, { migrationId: 'm-rerun-copy' });
    expect([rerun.status, rerun.error, rerun.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(await targetCount(world.target, 'messages')).toBe(320);
    const edited = await query<{ n: number }>(
      world.target,
      `SELECT count(*)::int AS n FROM messages WHERE content = 'edited after the failure'`,
    );
    expect(edited[0].n).toBe(5);
    expect(router.history.at(-1)).toEqual({ old: 0, new: 100 });
  });
});
