import { MemoryRouter } from '../../lambda/adapters/local/local-traffic';
import { PHASE_HANDLERS } from '../../lambda/handlers/registry';
import { localDeps } from '../../lambda/rehearsal/local-deps';
import { ERRORS } from '../../lambda/core/errors';
import { freshWorld, run } from './helpers';

class StateTimeout extends Error {
  public readonly name = 'States.Timeout';
}

describe('Migrate: the operator rollback halts it (halt flag)', () => {
  test('GIVEN a migration baking at 25 % WHEN RollbackTraffic runs THEN Migrate ends FAILED with MigrationHaltedError at 100/0 and never moves weights again', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(200, { router });
    const rollback = PHASE_HANDLERS.rollbackTraffic.make(() => localDeps(world, { stage: 'wf' }));
    const halt = PHASE_HANDLERS.lock.make(() => localDeps(world, { stage: 'wf' }));
    let gates = 0;
    const ex = await run(
      'migrate',
      world,
      { migrationId: 'm-halt' },
      {
        beforeTask: async (state) => {
          // The operator's RollbackTraffic during the second bake: halt flag, then 100 % old.
          if (state === 'HealthGate' && ++gates === 2) {
            await halt({ action: 'halt', migrationId: 'm-halt' });
            await rollback({ migrationId: 'm-halt' });
          }
        },
      },
    );
    expect([ex.status, ex.error]).toEqual(['FAILED', ERRORS.MigrationHaltedError]);
    expect(ex.cause).toMatch(/halted by traffic rollback m-halt/);
    expect(await router.getWeights()).toEqual({ old: 100, new: 0 });
    expect(router.history).toEqual([
      { old: 95, new: 5 },
      { old: 75, new: 25 },
      { old: 100, new: 0 },
    ]);
    expect(ex.notifications.map((n) => n.event)).toContain('halted');
    expect(ex.steps.some((s) => s.state === 'Finalize')).toBe(false);
    expect(world.lock.locks.size).toBe(0);
  });
});

describe('Migrate: one migration per stage', () => {
  test('GIVEN a migration holding the stage WHEN a second one starts THEN it fails fast with MigrationLockedError naming the holder, and the holder keeps the lock', async () => {
    const world = await freshWorld(50);
    let second: Awaited<ReturnType<typeof run>> | undefined;
    const first = await run(
      'migrate',
      world,
      { migrationId: 'm-first' },
      {
        beforeTask: async (state) => {
          if (state === 'CopyTable' && !second) second = await run('migrate', world, { migrationId: 'm-second' });
        },
      },
    );
    expect([second!.status, second!.error]).toEqual(['FAILED', ERRORS.MigrationLockedError]);
    expect(second!.cause).toMatch(/locked by migrate m-first .*since \d{4}-/);
    expect(second!.steps.map((s) => s.state)).toEqual(['ValidateInput', 'Preflight', 'ReleaseLockOnFailure']);
    expect(first.status).toBe('SUCCEEDED');
    expect(world.lock.locks.size).toBe(0);
  });

  test.each(['restore-data', 'decommission'] as const)(
    'GIVEN a migration holding the stage WHEN %s starts THEN it is refused with a named error and notified',
    async (machine) => {
      const world = await freshWorld(20);
      let other: Awaited<ReturnType<typeof run>> | undefined;
      await run(
        'migrate',
        world,
        { migrationId: 'm-busy' },
        {
          beforeTask: async (state) => {
            if (state === 'CopyTable' && !other)
              other = await run(machine, world, { migrationId: 'm-busy', snapshotId: 'switchyard-wf-m-busy' });
          },
        },
      );
      expect(other!.status).toBe('FAILED');
      expect(other!.error).toBe(
        machine === 'decommission' ? ERRORS.DecommissionRefusedError : ERRORS.MigrationLockedError,
      );
      expect(other!.notifications.map((n) => n.event)).toEqual([
        machine === 'decommission' ? 'decommission-failed' : 'restore-failed',
      ]);
    },
  );

  test('a dry run only checks the lock: it holds nothing afterwards', async () => {
    const world = await freshWorld(20);
    const ex = await run('migrate', world, { migrationId: 'm-dry-lock', dryRun: true });
    expect(ex.status).toBe('SUCCEEDED');
    expect(world.lock.locks.size).toBe(0);
  });
});

describe('Migrate: a timeout in the middle of the shift', () => {
  test.each(['SetWeights', 'Bake', 'HealthGate', 'CheckHalt'])(
    'GIVEN traffic at 25 %% WHEN %s times out (States.Timeout) THEN it ends at 100 %% old, rolled back, never split',
    async (state) => {
      const router = new MemoryRouter();
      const world = await freshWorld(100, { router });
      let seen = 0;
      const ex = await run(
        'migrate',
        world,
        { migrationId: 'm-timeout' },
        {
          beforeTask: (s) => {
            if (s === state && ++seen === 3) throw new StateTimeout('state timed out');
          },
        },
      );
      expect([ex.status, ex.error]).toEqual(['FAILED', 'States.Timeout']);
      expect(await router.getWeights()).toEqual({ old: 100, new: 0 });
      expect(ex.notifications.map((n) => n.event)).toContain('rolled-back');
      expect(world.lock.locks.size).toBe(0);
    },
  );
});

describe('RollbackTraffic: malformed input', () => {
  test.each([[{}], [{ migrationId: 5 }], [{ migrationId: null }]])(
    'GIVEN the input %j WHEN rolled back THEN traffic still goes to 100 %% old, then InvalidInputError, notified',
    async (input) => {
      const router = new MemoryRouter({ old: 50, new: 50 });
      const world = await freshWorld(5, { router });
      const ex = await run('rollback-traffic', world, input);
      expect([ex.status, ex.error]).toEqual(['FAILED', ERRORS.InvalidInputError]);
      expect(ex.cause).toMatch(/migrationId/);
      expect(ex.notifications.map((n) => n.event)).toEqual(['rollback-failed']);
      expect(ex.steps.map((s) => s.state)).toEqual(['RollbackTrafficAnyway']);
      expect(await router.getWeights()).toEqual({ old: 100, new: 0 });
    },
  );
});

describe('Decommission guard', () => {
  test('fails when the new side has not served 100 % for the stability period: DecommissionRefusedError, notified, nothing snapshotted', async () => {
    const world = await freshWorld(5, { router: new MemoryRouter({ old: 0, new: 100 }) });
    await world.lock.recordCompletion('wf', { migrationId: 'm-recent', finishedAt: new Date(Date.now() - 3600_000) });
    const ex = await run('decommission', world, { migrationId: 'm-recent' });
    expect([ex.status, ex.error]).toEqual(['FAILED', ERRORS.DecommissionRefusedError]);
    expect(ex.cause).toMatch(/stability period is 86400 s/);
    expect(ex.notifications.map((n) => n.event)).toEqual(['decommission-failed']);
    expect(world.snapshots.snapshots.has('switchyard-wf-m-recent-final')).toBe(false);
    expect(ex.awsCalls).toEqual([]);
  });

  test('fails when traffic is not 100 % new', async () => {
    const world = await freshWorld(5, { router: new MemoryRouter({ old: 50, new: 50 }) });
    await world.lock.recordCompletion('wf', { migrationId: 'm-split', finishedAt: new Date(0) });
    const ex = await run('decommission', world, { migrationId: 'm-split' });
    expect(ex.error).toBe(ERRORS.DecommissionRefusedError);
    expect(ex.cause).toMatch(/serves 50 %/);
  });
});

describe('Notifications never fail a workflow', () => {
  test('GIVEN a topic that refuses every publish WHEN migrated THEN the migration still SUCCEEDS and records the notify error', async () => {
    const world = await freshWorld(50);
    const ex = await run('migrate', world, { migrationId: 'm-nokey' }, { failNotifications: true });
    expect(ex.status).toBe('SUCCEEDED');
    expect((ex.output as { notifyError?: { Error: string } }).notifyError?.Error).toBe('KMS.KMSAccessDeniedException');
  });
});

describe('Migrate: a health gate with too little traffic to compare', () => {
  /** Canary figures: too few requests on the new side for the first `quiet` gates, plenty afterwards; the windows asked for are recorded. */
  const canary = (quiet: number) => {
    const windows: number[] = [];
    const side = (requests: number) => ({ requests, errors: 0, errorRate: 0, p50: 10, p90: 20, p99: 30 });
    return {
      windows,
      metrics: {
        description: 'test canary',
        window: async (fromMs: number, toMs: number) => {
          windows.push(Math.round((toMs - fromMs) / 1000));
          return { old: side(1_000), new: side(windows.length <= quiet ? 3 : 100) };
        },
      },
    };
  };

  test('GIVEN a quiet first gate WHEN it sees nothing wrong THEN the step bakes again over a longer window and the migration completes', async () => {
    const router = new MemoryRouter();
    const c = canary(1);
    const world = await freshWorld(200, { router, canaryMetrics: c.metrics });
    const ex = await run('migrate', world, { migrationId: 'm-quiet', bakeSeconds: 1 });
    expect([ex.status, ex.error]).toEqual(['SUCCEEDED', undefined]);
    expect(ex.steps.filter((s) => s.state === 'RenewLockForLongerBake')).toHaveLength(1);
    // the first step's second gate compares both bakes (2 s); each later step its own bake
    expect(c.windows.slice(0, 3)).toEqual([1, 2, 1]);
  });

  test('fails when the new side stays too quiet after every extra bake: NewSideUnhealthy, 100 % old', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(200, { router, canaryMetrics: canary(99).metrics });
    const ex = await run('migrate', world, { migrationId: 'm-silent', bakeSeconds: 1 });
    expect([ex.status, ex.error]).toEqual(['FAILED', 'NewSideUnhealthy']);
    expect(ex.cause).toMatch(/fewer than the minimum/);
    expect(ex.steps.filter((s) => s.state === 'HealthGate')).toHaveLength(3);
    expect(await router.getWeights()).toEqual({ old: 100, new: 0 });
  });
});
