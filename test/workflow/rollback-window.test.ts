import { MemoryRouter } from '../../lambda/adapters/local/local-traffic';
import { ERRORS } from '../../lambda/core/errors';
import { slotStatus } from '../../lambda/engine/sync';
import type { LocalWorld } from '../../lambda/rehearsal/local-deps';
import { query } from '../support/pg';
import { freshWorld, run } from './helpers';

/** A Migrate stopped by hand (StopExecution) during the 25 % bake: traffic split, captures and lock left behind. */
async function abortedAt25(world: LocalWorld, migrationId: string) {
  let gates = 0;
  const ex = await run('migrate', world, { migrationId }, { abortBefore: (s) => s === 'HealthGate' && ++gates === 2 });
  expect(ex.status).toBe('ABORTED');
  expect(await world.router.getWeights()).toEqual({ old: 75, new: 25 });
  return ex;
}

const newSideWrite = (world: LocalWorld, id: number, text: string) =>
  query(world.target, `UPDATE messages SET content = $1, updated_at = now() WHERE message_id = $2`, [text, id]);
const oldBody = async (world: LocalWorld, id: number) =>
  (await query<{ body: string }>(world.source, `SELECT body FROM chat_messages WHERE id = $1`, [id]))[0].body;

describe('Every end is clean: a Migrate that ends outside its own catch (EventBridge → RollbackTraffic)', () => {
  test('GIVEN a Migrate stopped during a bake WHEN the rule starts RollbackTraffic with the ended execution THEN 100 % old, the new side write returned, captures dropped, lock released', async () => {
    const world = await freshWorld(100, { router: new MemoryRouter() });
    const migrate = await abortedAt25(world, 'm-abort');
    await newSideWrite(world, 2, 'written on new before the stop');
    const ex = await run('rollback-traffic', world, {
      endedExecution: { executionArn: migrate.executionArn, status: 'ABORTED' },
    });
    expect([ex.status, ex.error]).toEqual(['SUCCEEDED', undefined]);
    expect(await world.router.getWeights()).toEqual({ old: 100, new: 0 });
    expect(await oldBody(world, 2)).toBe('written on new before the stop');
    expect(world.lock.locks.size).toBe(0);
    expect((await slotStatus(world.source, 'm-abort', 'forward')).exists).toBe(false);
    expect((await slotStatus(world.target, 'm-abort', 'reverse')).exists).toBe(false);
    expect(ex.notifications.map((n) => n.event)).toEqual(['traffic-rolled-back', 'new-side-writes-returned']);
  });

  test('GIVEN a Migrate that timed out during CatchUp (before any traffic) WHEN the rule fires THEN 100 % old, the forward capture dropped, the stage free', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(50, { router });
    const migrate = await run('migrate', world, { migrationId: 'm-timedout' }, { abortBefore: (s) => s === 'CatchUp' });
    expect(migrate.status).toBe('ABORTED');
    expect((await slotStatus(world.source, 'm-timedout', 'forward')).exists).toBe(true);
    expect(world.lock.locks.size).toBe(1);
    const ex = await run('rollback-traffic', world, {
      endedExecution: { executionArn: migrate.executionArn, status: 'TIMED_OUT' },
    });
    expect([ex.status, ex.error]).toEqual(['SUCCEEDED', undefined]);
    expect(await router.getWeights()).toEqual({ old: 100, new: 0 });
    expect((await slotStatus(world.source, 'm-timedout', 'forward')).exists).toBe(false);
    expect(world.lock.locks.size).toBe(0);
  });

  test('GIVEN a Migrate that failed through its own catch (lock released) WHEN the rule fires THEN nothing is touched', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(20, { router });
    const failed = await run(
      'migrate',
      world,
      { migrationId: 'm-caught' },
      {
        beforeTask: (s) => {
          if (s === 'Validate') throw Object.assign(new Error('injected'), { name: ERRORS.IntegrityMismatchError });
        },
      },
    );
    expect(failed.status).toBe('FAILED');
    const ex = await run('rollback-traffic', world, {
      endedExecution: { executionArn: failed.executionArn, status: 'FAILED' },
    });
    expect(ex.status).toBe('SUCCEEDED');
    expect(ex.steps.map((s) => s.state)).toEqual(['ClaimEndedExecution']);
    expect(router.history).toEqual([]);
  });
});

describe('RollbackTraffic: a rollback window that is real', () => {
  test('GIVEN a new-side write and a mistyped migration id WHEN rolled back THEN the backlog is drained before the weights move (holder id used), and a write after the drain still arrives', async () => {
    const world = await freshWorld(100, { router: new MemoryRouter() });
    await abortedAt25(world, 'm-window');
    await newSideWrite(world, 3, 'before the rollback');
    let bodyWhenTrafficMoved: string | undefined;
    let late = 0;
    const ex = await run(
      'rollback-traffic',
      world,
      { migrationId: 'm-windw' },
      {
        beforeTask: async (s) => {
          if (s === 'RollbackTraffic') bodyWhenTrafficMoved = await oldBody(world, 3);
          // A request still inside the new app commits after the first drain.
          if (s === 'DrainLateWrites' && ++late === 1) await newSideWrite(world, 4, 'late write');
        },
      },
    );
    expect([ex.status, ex.error]).toEqual(['SUCCEEDED', undefined]);
    const order = ex.steps.map((s) => s.state);
    expect(order.indexOf('PreDrainReverseSync')).toBeLessThan(order.indexOf('RollbackTraffic'));
    expect(bodyWhenTrafficMoved).toBe('before the rollback');
    expect(await world.router.getWeights()).toEqual({ old: 100, new: 0 });
    expect(await oldBody(world, 4)).toBe('late write');
    expect(order.filter((s) => s === 'DrainLateWrites').length).toBeGreaterThanOrEqual(2);
    const returned = ex.notifications.find((n) => n.event === 'new-side-writes-returned')!;
    expect(returned.changes).toBeGreaterThanOrEqual(1);
  });

  test('GIVEN the reverse drain fails WHEN rolled back THEN traffic still goes back, the execution fails with ReverseDrainFailedError, the notification counts what was not returned, captures kept', async () => {
    const world = await freshWorld(100, { router: new MemoryRouter() });
    await abortedAt25(world, 'm-drainfail');
    await newSideWrite(world, 5, 'not yet returned');
    const broken = Object.assign(new Error('slot unreadable'), { name: ERRORS.ReplicationSlotInvalidatedError });
    const ex = await run(
      'rollback-traffic',
      world,
      { migrationId: 'm-drainfail' },
      {
        beforeTask: (s) => {
          if (s === 'PreDrainReverseSync' || s === 'DrainReverseSync') throw broken;
        },
      },
    );
    expect([ex.status, ex.error]).toEqual(['FAILED', ERRORS.ReverseDrainFailedError]);
    expect(await world.router.getWeights()).toEqual({ old: 100, new: 0 });
    const events = ex.notifications.map((n) => n.event);
    expect(events).toContain('reverse-drain-failed');
    expect(events).not.toContain('new-side-writes-returned');
    const failed = ex.notifications.find((n) => n.event === 'reverse-drain-failed')!;
    expect((failed.notReturned as { changes: number }).changes).toBeGreaterThanOrEqual(1);
    expect(failed.recovery).toMatch(/run RollbackTraffic again with migration id m-drainfail/);
    expect((await slotStatus(world.target, 'm-drainfail', 'reverse')).exists).toBe(true);
    expect(await oldBody(world, 5)).not.toBe('not yet returned');
  });
});

describe('After Finalize: the old side is kept current until Decommission (KeepOldCurrent)', () => {
  test('GIVEN a finished migration and a write on the new side WHEN the schedule runs KeepOldCurrent THEN the write is on the old side, and a later rollback still ends at 100 % old', async () => {
    const world = await freshWorld(50, { router: new MemoryRouter() });
    const migrate = await run('migrate', world, { migrationId: 'm-after' });
    expect(migrate.status).toBe('SUCCEEDED');
    await newSideWrite(world, 6, 'after Finalize');
    const keep = await run('keep-old-current', world, {});
    expect([keep.status, keep.error]).toEqual(['SUCCEEDED', undefined]);
    expect(await oldBody(world, 6)).toBe('after Finalize');
    const rollback = await run('rollback-traffic', world, { migrationId: 'm-after' });
    expect(rollback.status).toBe('SUCCEEDED');
    expect(await world.router.getWeights()).toEqual({ old: 100, new: 0 });
    const pre = rollback.steps.find((s) => s.state === 'PreDrainReverseSync');
    expect(pre?.ok).toBe(true);
  });

  test('GIVEN a finished migration, a new-side write and a mistyped id WHEN rolled back THEN 100 % old, the execution fails naming the kept capture, and the right id returns the write', async () => {
    const world = await freshWorld(30, { router: new MemoryRouter() });
    expect((await run('migrate', world, { migrationId: 'm-final' })).status).toBe('SUCCEEDED');
    await newSideWrite(world, 7, 'after Finalize, before a mistyped rollback');
    const wrong = await run('rollback-traffic', world, { migrationId: 'm-fianl' });
    expect([wrong.status, wrong.error]).toEqual(['FAILED', ERRORS.ReverseDrainFailedError]);
    expect(await world.router.getWeights()).toEqual({ old: 100, new: 0 });
    const events = wrong.notifications.map((n) => n.event);
    expect(events).toContain('reverse-drain-failed');
    expect(events).not.toContain('new-side-writes-returned');
    const failed = wrong.notifications.find((n) => n.event === 'reverse-drain-failed')!;
    expect(String(failed.error)).toBe(ERRORS.UnknownMigrationIdError);
    expect(String(failed.cause)).toMatch(/sy_m_final\w*_rev/);
    expect((await slotStatus(world.target, 'm-final', 'reverse')).exists).toBe(true);
    const right = await run('rollback-traffic', world, { migrationId: 'm-final' });
    expect([right.status, right.error]).toEqual(['SUCCEEDED', undefined]);
    expect(await oldBody(world, 7)).toBe('after Finalize, before a mistyped rollback');
  });

  test('GIVEN no finished migration WHEN KeepOldCurrent runs THEN it does nothing', async () => {
    const world = await freshWorld(5);
    const keep = await run('keep-old-current', world, {});
    expect(keep.status).toBe('SUCCEEDED');
    expect(keep.steps.map((s) => s.state)).toEqual(['ReadCompletion']);
  });
});
