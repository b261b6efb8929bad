import { MemoryLockStore } from '../../../lambda/adapters/local/memory-lock';
import {
  acquireLock,
  assertDecommissionAllowed,
  assertLockFree,
  checkHalt,
  decommissionRefusals,
  LEASE_SECONDS,
} from '../../../lambda/core/lock/lock';
import { ERRORS } from '../../../lambda/core/errors';

const T0 = new Date('2030-01-01T00:00:00Z');
const later = (s: number) => new Date(T0.getTime() + s * 1000);

describe('stage lock', () => {
  test('GIVEN a free stage WHEN acquired THEN the owner holds it with a lease', async () => {
    const store = new MemoryLockStore();
    const l = await acquireLock(store, {
      stage: 's',
      workflow: 'migrate',
      migrationId: 'm1',
      executionId: 'exec-1',
      now: T0,
    });
    expect(l).toMatchObject({ owner: 'migrate:m1@exec-1', halted: false, leaseUntil: later(LEASE_SECONDS), token: 1 });
    expect((await store.read('s'))?.executionId).toBe('exec-1');
  });

  test('fails when another migration holds the stage: MigrationLockedError names the holder and since when', async () => {
    const store = new MemoryLockStore();
    await acquireLock(store, { stage: 's', workflow: 'migrate', migrationId: 'm1', now: T0 });
    const second = acquireLock(store, { stage: 's', workflow: 'migrate', migrationId: 'm2', now: later(60) });
    await expect(second).rejects.toMatchObject({
      name: ERRORS.MigrationLockedError,
      message: expect.stringContaining('locked by migrate m1 since 2030-01-01T00:00:00.000Z'),
    });
    await expect(assertLockFree(store, 's', 'migrate', 'm2', later(60))).rejects.toMatchObject({
      name: ERRORS.MigrationLockedError,
    });
    expect((await store.read('s'))?.owner).toBe('migrate:m1');
  });

  test("GIVEN the holder's lease ended WHEN another acquires THEN it takes the stage; the same owner may always re-take", async () => {
    const store = new MemoryLockStore();
    await acquireLock(store, { stage: 's', workflow: 'migrate', migrationId: 'm1', now: T0, leaseSeconds: 10 });
    await acquireLock(store, { stage: 's', workflow: 'migrate', migrationId: 'm1', now: later(5), leaseSeconds: 10 });
    await expect(
      acquireLock(store, { stage: 's', workflow: 'restore-data', migrationId: 'm1', now: later(14) }),
    ).rejects.toMatchObject({ name: ERRORS.MigrationLockedError });
    await acquireLock(store, { stage: 's', workflow: 'restore-data', migrationId: 'm1', now: later(16) });
    expect((await store.read('s'))?.owner).toBe('restore-data:m1');
  });

  test("release frees only the owner's lock", async () => {
    const store = new MemoryLockStore();
    await acquireLock(store, { stage: 's', workflow: 'migrate', migrationId: 'm1', now: T0 });
    expect(await store.release('s', 'migrate:m2')).toBe(false);
    expect(await store.release('s', 'migrate:m1')).toBe(true);
    expect(await store.read('s')).toBeUndefined();
  });

  test('checkHalt renews the lease while not halted, then fails with MigrationHaltedError once halted', async () => {
    const store = new MemoryLockStore();
    await acquireLock(store, { stage: 's', workflow: 'migrate', migrationId: 'm1', now: T0 });
    expect((await checkHalt(store, 's', 'm1', later(100), 50)).leaseUntil).toEqual(later(150));
    await store.halt('s', 'rb-1', later(120));
    await expect(checkHalt(store, 's', 'm1', later(130))).rejects.toMatchObject({
      name: ERRORS.MigrationHaltedError,
      message: expect.stringContaining('halted by traffic rollback rb-1'),
    });
  });

  test('fails when the lock is no longer held: checkHalt raises StaleExecutionError instead of moving traffic', async () => {
    const store = new MemoryLockStore();
    await expect(checkHalt(store, 's', 'm1', T0)).rejects.toMatchObject({ name: ERRORS.StaleExecutionError });
  });

  test('every acquisition gets a larger fencing token, also after a release; checkHalt returns it', async () => {
    const store = new MemoryLockStore();
    const take = (executionId: string) =>
      acquireLock(store, { stage: 's', workflow: 'migrate', migrationId: 'm1', executionId, now: T0 });
    const a = await take('a');
    await store.release('s', a.owner);
    const b = await take('b');
    expect(b.token).toBeGreaterThan(a.token!);
    expect((await checkHalt(store, 's', 'm1', T0, LEASE_SECONDS, 'b')).token).toBe(b.token);
    await expect(checkHalt(store, 's', 'm1', T0, LEASE_SECONDS, 'a')).rejects.toMatchObject({
      name: ERRORS.StaleExecutionError,
    });
  });
});

describe('decommission guard', () => {
  const base = {
    stage: 's',
    weights: { old: 0, new: 100 },
    completion: { migrationId: 'm1', finishedAt: T0 },
    now: later(7200),
    stabilitySeconds: 3600,
  };
  test('GIVEN 100 % new for longer than the stability period and a free stage THEN allowed', () => {
    expect(decommissionRefusals(base)).toEqual([]);
  });
  test('fails when the period has not passed, traffic is split, nothing finished or the stage is locked, listing every reason', () => {
    const holder = {
      owner: 'migrate:m2',
      workflow: 'migrate' as const,
      migrationId: 'm2',
      acquiredAt: T0,
      leaseUntil: later(99_999),
      halted: false,
    };
    const reasons = decommissionRefusals({ ...base, weights: { old: 10, new: 90 }, completion: undefined, holder });
    expect(reasons).toHaveLength(3);
    expect(() => assertDecommissionAllowed({ ...base, now: later(60) })).toThrow(
      expect.objectContaining({
        name: ERRORS.DecommissionRefusedError,
        message: expect.stringMatching(/60 s at 100 % new, the stability period is 3600 s/),
      }),
    );
  });
});
