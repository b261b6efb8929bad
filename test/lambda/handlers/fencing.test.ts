import { MemoryLockStore } from '../../../lambda/adapters/local/memory-lock';
import { MemoryRouter } from '../../../lambda/adapters/local/local-traffic';
import { ERRORS } from '../../../lambda/core/errors';
import { acquireLock } from '../../../lambda/core/lock/lock';
import { PHASE_HANDLERS } from '../../../lambda/handlers/registry';
import { localDeps, localWorld } from '../../../lambda/rehearsal/local-deps';
import { testServer } from '../../support/pg';

const ME = 'arn:aws:states:eu-west-1:1:execution:m:me';
const OTHER = 'arn:aws:states:eu-west-1:1:execution:m:other';

async function world(holder: string, lease = 3600_000) {
  const lock = new MemoryLockStore();
  const router = new MemoryRouter({ old: 75, new: 25 });
  const now = new Date();
  await acquireLock(lock, { stage: 's', workflow: 'migrate', migrationId: 'm1', executionId: holder, now });
  const held = lock.locks.get('s')!;
  lock.locks.set('s', { ...held, leaseUntil: new Date(now.getTime() + lease) });
  const w = localWorld(testServer(), testServer(), { router, lock });
  const handler = (name: 'shiftTraffic' | 'rollbackTraffic' | 'finalize') =>
    PHASE_HANDLERS[name].make(() => localDeps(w, { stage: 's' }));
  return { router, lock, handler };
}

describe('fenced traffic changes', () => {
  test('GIVEN another execution holds the stage WHEN SetWeights runs for this one THEN StaleExecutionError and the weights never change', async () => {
    const { router, handler } = await world(OTHER);
    await expect(handler('shiftTraffic')({ migrationId: 'm1', executionId: ME, newPercent: 50 })).rejects.toMatchObject(
      {
        name: ERRORS.StaleExecutionError,
      },
    );
    expect(router.history).toEqual([]);
  });

  test('GIVEN its own lease ended WHEN SetWeights runs THEN StaleExecutionError (an ended lease is not revived)', async () => {
    const { router, handler } = await world(ME, -1000);
    await expect(handler('shiftTraffic')({ migrationId: 'm1', executionId: ME, newPercent: 50 })).rejects.toMatchObject(
      {
        name: ERRORS.StaleExecutionError,
      },
    );
    expect(router.history).toEqual([]);
  });

  test('GIVEN it owns the stage WHEN SetWeights runs THEN the weights move; halted THEN MigrationHaltedError and they do not', async () => {
    const { router, lock, handler } = await world(ME);
    await handler('shiftTraffic')({ migrationId: 'm1', executionId: ME, newPercent: 50 });
    expect(await router.getWeights()).toEqual({ old: 50, new: 50 });
    await lock.halt('s', 'rollback', new Date());
    await expect(
      handler('shiftTraffic')({ migrationId: 'm1', executionId: ME, newPercent: 100 }),
    ).rejects.toMatchObject({
      name: ERRORS.MigrationHaltedError,
    });
    expect(await router.getWeights()).toEqual({ old: 50, new: 50 });
  });

  test("GIVEN another execution holds the stage WHEN a Migrate's own rollback runs THEN it refuses (StaleExecutionError); the operator's rollback (no execution) always moves to 100 % old", async () => {
    const { router, handler } = await world(OTHER);
    await expect(handler('rollbackTraffic')({ migrationId: 'm1', executionId: ME })).rejects.toMatchObject({
      name: ERRORS.StaleExecutionError,
    });
    expect(router.history).toEqual([]);
    await handler('rollbackTraffic')({ migrationId: 'M1 typo!' });
    expect(await router.getWeights()).toEqual({ old: 100, new: 0 });
  });

  test('Finalize of a stale execution records nothing', async () => {
    const { lock, handler } = await world(OTHER);
    await expect(handler('finalize')({ migrationId: 'm1', executionId: ME })).rejects.toMatchObject({
      name: ERRORS.StaleExecutionError,
    });
    expect(lock.completions.size).toBe(0);
  });
});
