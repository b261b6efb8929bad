import { MemoryRouter, StaticAlarms } from '../../lambda/adapters/local/local-traffic';
import { freshWorld, run, sequenceLastValue, sourceFingerprint, targetCount } from './helpers';

describe('Migrate state machine (synthesized definition, local interpreter, real PostgreSQL)', () => {
  test('GIVEN a healthy new side WHEN migrated THEN traffic ends 100 % new and the data matches', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(2_000, { router });
    const before = await sourceFingerprint(world.source);
    const ex = await run('migrate', world, { migrationId: 'm-happy' });
    expect([ex.status, ex.error, ex.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(ex.status).toBe('SUCCEEDED');
    expect(router.history).toEqual([
      { old: 95, new: 5 },
      { old: 75, new: 25 },
      { old: 50, new: 50 },
      { old: 0, new: 100 },
    ]);
    expect(await targetCount(world.target, 'messages')).toBe(2_000);
    expect(await sourceFingerprint(world.source)).toBe(before);
    expect(ex.steps.filter((s) => s.phase === 'shiftTraffic')).toHaveLength(4);
    expect(ex.notifications.map((n) => n.event)).toEqual([
      'started',
      ...Array(4).fill(['traffic-step', 'health-gate']).flat(),
      'completed',
    ]);
    expect((await world.parameters.get('/chat/new/feature/streaming'))?.value).toBe('on');
    expect((await world.parameters.get('/chat/new/db/host'))?.value).toBe(world.target.host);
    // Rollback safety was checked before the copy: a sample of every table went forward and back, and the
    // example spec's lossy columns are named (the owner's case, blank titles, role synonyms, NULL bodies, legacy metadata).
    const { prepared } = ex.output as {
      prepared: { roundTrip: { table: string; sampled: number; notSurviving: string[] }[] };
    };
    expect(prepared.roundTrip.map((r) => [r.table, r.sampled > 0, r.notSurviving])).toEqual([
      ['conversations', true, ['user_name', 'title']],
      ['messages', true, ['role', 'body', 'metadata']],
    ]);
  });
});

class InjectedFault extends Error {
  public readonly name = 'InjectedFault';
}

/** Alarms that go to ALARM once the new side gets `atPercent` or more. */
class AlarmAtWeight extends StaticAlarms {
  constructor(
    private readonly router: MemoryRouter,
    private readonly atPercent: number,
  ) {
    super();
  }
  async read() {
    const w = await this.router.getWeights();
    return [
      {
        name: 'switchyard-wf-new-5xx',
        state: w.new >= this.atPercent ? ('ALARM' as const) : ('OK' as const),
        since: new Date(0),
      },
    ];
  }
}

describe('Migrate failure paths', () => {
  const beforeTraffic = [
    'Preflight',
    'Backup',
    'BackupStatus',
    'TransferConfig',
    'PrepareTarget',
    'StartCapture',
    'CopyTable',
    'BuildIndexes',
    'CatchUp',
    'ValidateConstraints',
    'Validate',
    'Smoke',
    'StartReverseCapture',
  ];
  test.each(beforeTraffic)(
    'a failure in %s ends FAILED with its error, traffic never moved, source untouched',
    async (state) => {
      const router = new MemoryRouter();
      const world = await freshWorld(300, { router });
      const before = await sourceFingerprint(world.source);
      const ex = await run(
        'migrate',
        world,
        { migrationId: 'm-fault' },
        {
          beforeTask: (s) => {
            if (s === state) throw new InjectedFault(`injected into ${s}`);
          },
        },
      );
      expect([ex.status, ex.error, ex.cause]).toEqual(['FAILED', 'InjectedFault', `injected into ${state}`]);
      expect(router.history).toEqual([]);
      expect(await sourceFingerprint(world.source)).toBe(before);
      expect(ex.notifications.map((n) => n.event)).toEqual(['started', 'failed']);
      expect(ex.steps.some((s) => s.phase === 'rollbackTraffic')).toBe(false);
    },
  );

  const afterTraffic = ['SetWeights', 'Bake', 'HealthGate', 'FinalDrain', 'FinalValidate', 'Finalize'];
  test.each(afterTraffic)(
    'a failure in %s after traffic moved rolls traffic back to 100 %% old, then fails with the original error',
    async (state) => {
      const router = new MemoryRouter();
      const world = await freshWorld(300, { router });
      const before = await sourceFingerprint(world.source);
      let seen = 0;
      // Fail at the second traffic step (or at Finalize), so some traffic has moved.
      const ex = await run(
        'migrate',
        world,
        { migrationId: `m-late-${state.toLowerCase()}` },
        {
          beforeTask: (s) => {
            if (s === state && (['FinalDrain', 'FinalValidate', 'Finalize'].includes(state) || ++seen === 2))
              throw new InjectedFault(`injected into ${s}`);
          },
        },
      );
      expect([ex.status, ex.error, ex.cause]).toEqual(['FAILED', 'InjectedFault', `injected into ${state}`]);
      expect(await router.getWeights()).toEqual({ old: 100, new: 0 });
      expect(router.history.length).toBeGreaterThanOrEqual(2);
      expect(ex.notifications.map((n) => n.event)).toContain('rolled-back');
      expect(await sourceFingerprint(world.source)).toBe(before);
    },
  );

  test.each([5, 25, 50, 100])(
    'an unhealthy new side at %i %% ends at 100 %% old with NewSideUnhealthy',
    async (pct) => {
      const router = new MemoryRouter();
      const world = await freshWorld(300, { router, alarms: new AlarmAtWeight(router, pct) });
      const ex = await run('migrate', world, { migrationId: `m-unhealthy-${pct}` });
      expect(ex.status).toBe('FAILED');
      expect(ex.error).toBe('NewSideUnhealthy');
      expect(ex.cause).toMatch(/alarm switchyard-wf-new-5xx is in ALARM/);
      expect(router.history[router.history.length - 2]).toEqual({ old: 100 - pct, new: pct });
      expect(await router.getWeights()).toEqual({ old: 100, new: 0 });
      const rollback = ex.notifications.find((n) => n.event === 'rolled-back')!;
      expect(rollback.error).toBe('NewSideUnhealthy');
      // The old side takes every insert again: its keys start past every key the new side could have handed out.
      const newSide = await sequenceLastValue(world.target, 'messages', 'message_id');
      expect(newSide).toBeGreaterThan(300n);
      expect(await sequenceLastValue(world.source, 'chat_messages', 'id')).toBeGreaterThan(newSide);
    },
  );

  test.each([
    [{}, /migrationId/],
    [{ migrationId: 'Bad Id' }, /migrationId must be lowercase/],
    [{ migrationId: 'm1', schedule: [5, 50] }, /schedule must end at 100/],
    [{ migrationId: 'm1', surprise: true }, /Unrecognized key/],
  ])('malformed input %j fails in the first state and changes nothing', async (input, message) => {
    const router = new MemoryRouter();
    const world = await freshWorld(100, { router });
    const ex = await run('migrate', world, input);
    expect(ex.status).toBe('FAILED');
    expect(ex.error).toBe('InvalidInputError');
    expect(ex.cause).toMatch(message);
    expect(ex.steps.map((s) => s.state)).toEqual(['ValidateInput']);
    expect(router.history).toEqual([]);
    expect(await targetCount(world.target, 'messages')).toBe(-1);
    expect(await world.parameters.list('/chat/new')).toEqual([]);
  });

  test('a dry run evaluates the gate and stops with "go", writing nothing', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(100, { router });
    const ex = await run('migrate', world, { migrationId: 'm-dry', dryRun: true });
    expect(ex.status).toBe('SUCCEEDED');
    expect(ex.steps.map((s) => s.state)).toEqual(['ValidateInput', 'Preflight']);
    expect(ex.notifications.map((n) => n.event)).toEqual(['started', 'gate-go']);
    expect(await targetCount(world.target, 'messages')).toBe(-1);
    expect(world.snapshots.snapshots.size).toBe(1);
  });

  test('re-running a failed migration with the same id is safe and completes', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(500, { router });
    const first = await run(
      'migrate',
      world,
      { migrationId: 'm-rerun' },
      {
        beforeTask: (s) => {
          if (s === 'Validate') throw new InjectedFault('crash');
        },
      },
    );
    expect(first.status).toBe('FAILED');
    const second = await run('migrate', world, { migrationId: 'm-rerun' });
    expect(second.status).toBe('SUCCEEDED');
    expect(await targetCount(world.target, 'messages')).toBe(500);
    expect(second.steps.find((s) => s.state === 'Validate')?.ok).toBe(true);
  });
});

describe('RollbackTraffic and RestoreData state machines', () => {
  test('RollbackTraffic moves 50/50 back to 100 % old and reports the time taken', async () => {
    const router = new MemoryRouter({ old: 50, new: 50 });
    const world = await freshWorld(10, { router });
    const ex = await run('rollback-traffic', world, { migrationId: 'm-rb' });
    expect(ex.status).toBe('SUCCEEDED');
    expect(await router.getWeights()).toEqual({ old: 100, new: 0 });
    const n = ex.notifications.find((x) => x.event === 'traffic-rolled-back')!;
    expect(n.weights).toEqual({ old: 100, new: 0 });
    expect(typeof n.rollbackMs).toBe('number');
  });

  test('RestoreData restores the snapshot, repoints the old database and restores config versions', async () => {
    const world = await freshWorld(10);
    const migrate = await run('migrate', world, { migrationId: 'm-restore' });
    expect(migrate.status).toBe('SUCCEEDED');
    const applied = (migrate.output as { configTransfer: { applied: unknown[] } }).configTransfer.applied;
    const ex = await run('restore-data', world, {
      migrationId: 'm-restore',
      snapshotId: 'switchyard-wf-m-restore',
      applied,
    });
    expect(ex.status).toBe('SUCCEEDED');
    expect(world.snapshots.restored.has('chat-old-db-restored-m-restore')).toBe(true);
    expect(await world.parameters.get('/chat/new/feature/streaming')).toBeUndefined();
    expect(ex.notifications.map((n) => n.event)).toEqual(['data-restored']);
  });

  test('RestoreData fails with a named error when the snapshot does not exist', async () => {
    const world = await freshWorld(10);
    const ex = await run('restore-data', world, { migrationId: 'm-x', snapshotId: 'switchyard-wf-nope' });
    expect(ex.status).toBe('FAILED');
    expect(ex.cause).toMatch(/snapshot switchyard-wf-nope not found/);
    expect(ex.notifications.map((n) => n.event)).toEqual(['restore-failed']);
  });
});

describe('Decommission state machine', () => {
  test('GIVEN 100 % new for longer than the stability period WHEN decommissioned THEN a final snapshot of the old database, then the old service scaled to zero', async () => {
    const world = await freshWorld(10, { router: new MemoryRouter({ old: 0, new: 100 }) });
    await world.lock.recordCompletion('wf', {
      migrationId: 'm-done',
      finishedAt: new Date(Date.now() - 25 * 3600_000),
    });
    const ex = await run('decommission', world, { migrationId: 'm-done' });
    expect([ex.status, ex.error, ex.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(world.snapshots.snapshots.has('switchyard-wf-m-done-final')).toBe(true);
    expect(ex.awsCalls).toEqual([
      { resource: 'ecs:updateService', input: expect.objectContaining({ DesiredCount: 0 }) },
    ]);
    expect(ex.notifications.map((n) => n.event)).toEqual(['decommissioned']);
  });
});
