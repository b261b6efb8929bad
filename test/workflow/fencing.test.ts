import { MemoryRouter } from '../../lambda/adapters/local/local-traffic';
import { ERRORS } from '../../lambda/core/errors';
import { acquireLock } from '../../lambda/core/lock/lock';
import { slotStatus } from '../../lambda/engine/sync';
import { query } from '../support/pg';
import { freshWorld, run } from './helpers';

const OTHER = 'arn:aws:states:eu-west-1:111111111111:execution:switchyard-wf-migrate:the-live-one';

describe('Migrate: a stale execution stops and touches nothing (fencing)', () => {
  test('GIVEN its lease ended and another execution took the stage and finished the shift WHEN the stale one bakes THEN StaleExecutionError: no write applied, weights left at 100 % new, no rollback, captures and lock kept', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(100, { router });
    let bakes = 0;
    const ex = await run(
      'migrate',
      world,
      { migrationId: 'm-stale' },
      {
        beforeTask: async (state) => {
          if (state !== 'Bake' || ++bakes !== 2) return;
          // The lease ends (a frozen execution) and another execution of the same migration takes the stage.
          const held = world.lock.locks.get('wf')!;
          world.lock.locks.set('wf', { ...held, leaseUntil: new Date(0) });
          await acquireLock(world.lock, {
            stage: 'wf',
            workflow: 'migrate',
            migrationId: 'm-stale',
            executionId: OTHER,
            now: new Date(),
          });
          await query(
            world.source,
            `UPDATE chat_messages SET body = 'after takeover', updated_at = now() WHERE id = 1`,
          );
          await router.setWeights({ old: 0, new: 100 });
        },
      },
    );
    expect([ex.status, ex.error]).toEqual(['FAILED', ERRORS.StaleExecutionError]);
    expect(ex.cause).toMatch(/no longer owns the lock of stage wf: the stage is held by migrate m-stale/);
    expect(await router.getWeights()).toEqual({ old: 0, new: 100 });
    const events = ex.notifications.map((n) => n.event);
    expect(events).toContain('stale-execution');
    expect(events).not.toContain('rolled-back');
    expect(ex.steps.some((s) => /Rollback|DropCaptures|ReleaseLock/.test(s.state))).toBe(false);
    const row = await query<{ content: string }>(world.target, `SELECT content FROM messages WHERE message_id = 1`);
    expect(row[0].content).not.toBe('after takeover');
    expect(world.lock.locks.get('wf')?.executionId).toBe(OTHER);
    expect((await slotStatus(world.source, 'm-stale', 'forward')).exists).toBe(true);
  });

  test('GIVEN a Migrate running WHEN a second execution of the same migration id starts THEN it is a different owner: MigrationLockedError, and the first completes', async () => {
    const world = await freshWorld(50);
    let second: Awaited<ReturnType<typeof run>> | undefined;
    const first = await run(
      'migrate',
      world,
      { migrationId: 'm-twice' },
      {
        beforeTask: async (state) => {
          if (state === 'CopyTable' && !second) second = await run('migrate', world, { migrationId: 'm-twice' });
        },
      },
    );
    expect([second!.status, second!.error]).toEqual(['FAILED', ERRORS.MigrationLockedError]);
    expect(second!.cause).toMatch(/locked by migrate m-twice \(execution arn:aws:states:.*:m-twice-\d+\)/);
    expect(first.status).toBe('SUCCEEDED');
    expect(world.lock.locks.size).toBe(0);
  });
});
