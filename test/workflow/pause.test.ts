import { Template } from 'aws-cdk-lib/assertions';
import { MemoryRouter } from '../../lambda/adapters/local/local-traffic';
import type { PauseAnswer, PauseRecord } from '../../lambda/core/traffic/pause';
import { localDeps, type LocalWorld } from '../../lambda/rehearsal/local-deps';
import {
  answerLocalPause,
  type CfnTemplate,
  definitionFromTemplate,
  LocalTaskTokens,
  runLocally,
} from '../../lambda/rehearsal/workflow-runner';
import { parse, stageFrom } from '../lib/helpers';
import { freshWorld, run, sourceFingerprint } from './helpers';

/** Poll the pause store until the migration holds (never a fixed sleep). */
async function pausedRecord(world: LocalWorld, migrationId: string): Promise<PauseRecord> {
  for (;;) {
    const r = await world.pauses.read('wf', migrationId);
    if (r) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
}

const events = (ex: { notifications: Record<string, unknown>[] }) => ex.notifications.map((n) => n.event);

describe('Migrate pause at a step (synthesized definition, task token answered locally)', () => {
  test('GIVEN pauseAt [25] WHEN resumed THEN it held at 25 % and completes to 100 % new', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(300, { router });
    const tokens = new LocalTaskTokens();
    const execution = run('migrate', world, { migrationId: 'm-pause', pauseAt: [25] }, { taskTokens: tokens });
    const held = await pausedRecord(world, 'm-pause');
    expect([held.weight, held.healthy]).toEqual([25, true]);
    expect(router.history).toEqual([
      { old: 95, new: 5 },
      { old: 75, new: 25 },
    ]);
    const answer = await answerLocalPause(world.pauses, tokens, {
      stage: 'wf',
      migrationId: 'm-pause',
      action: 'resume',
      now: new Date(),
      by: 'test',
    });
    expect(answer.kind).toBe('resume');
    const ex = await execution;
    expect([ex.status, ex.error, ex.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(await router.getWeights()).toEqual({ old: 0, new: 100 });
    expect(router.history).toHaveLength(4);
    // Paused after the 25 % gate passed, resumed before the 50 % step.
    expect(events(ex)).toEqual([
      'started',
      'traffic-step',
      'health-gate',
      'traffic-step',
      'health-gate',
      'paused',
      'resumed',
      'traffic-step',
      'health-gate',
      'traffic-step',
      'health-gate',
      'completed',
    ]);
    const paused = ex.notifications.find((n) => n.event === 'paused')!;
    expect(paused).toMatchObject({ weight: 25, healthy: true, migrationId: 'm-pause' });
    expect(paused.resume).toMatch(/^switchyard resume --stage wf --migration-id m-pause \(or abort; after 14400 s/);
    expect(JSON.stringify(ex.notifications)).not.toContain(held.taskToken);
    expect(ex.notifications.find((n) => n.event === 'resumed')).toMatchObject({ weight: 25, by: 'test' });
    expect(await world.pauses.read('wf', 'm-pause')).toBeUndefined();
  });

  test('GIVEN a pause at 25 % WHEN aborted THEN traffic rolls back to 100 % old with MigrationAbortedError', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(300, { router });
    const before = await sourceFingerprint(world.source);
    const answers: (PauseAnswer | Error)[] = [];
    // The rehearsal's operator: abort each pause once it holds (the same read, decision and answer as the CLI).
    const ex = await run(
      'migrate',
      world,
      { migrationId: 'm-pause-abort', pauseAt: [25] },
      {
        answerPauses: {
          action: 'abort',
          afterMs: 0,
          store: world.pauses,
          stage: 'wf',
          onAnswer: (a) => answers.push(a),
        },
      },
    );
    expect([ex.status, ex.error]).toEqual(['FAILED', 'MigrationAbortedError']);
    expect(ex.cause).toMatch(/aborted by operator while paused at 25 % new/);
    expect(answers.map((a) => ('kind' in a ? a.kind : a.name))).toEqual(['abort']);
    expect(router.history.slice(0, 2)).toEqual([
      { old: 95, new: 5 },
      { old: 75, new: 25 },
    ]);
    expect(await router.getWeights()).toEqual({ old: 100, new: 0 });
    expect(ex.notifications.find((n) => n.event === 'rolled-back')).toMatchObject({ error: 'MigrationAbortedError' });
    expect(events(ex)).toContain('new-side-writes-returned');
    expect(await sourceFingerprint(world.source)).toBe(before);
    expect(await world.lock.read('wf')).toBeUndefined();
  });

  test('GIVEN a pause nobody answers WHEN maxPauseSeconds passes THEN the state times out and traffic rolls back', async () => {
    const template = Template.fromStack(
      stageFrom(parse({ stageName: 'wf', migration: { maxPauseSeconds: 1 } })).migration,
    ).toJSON() as CfnTemplate;
    const router = new MemoryRouter();
    const world = await freshWorld(300, { router });
    const tokens = new LocalTaskTokens();
    const ex = await runLocally(
      template,
      definitionFromTemplate(template, 'migrate'),
      () => localDeps(world, { stage: 'wf' }),
      { migrationId: 'm-expire', pauseAt: [5] },
      { taskTokens: tokens },
    );
    expect([ex.status, ex.error]).toEqual(['FAILED', 'States.Timeout']);
    expect(router.history[0]).toEqual({ old: 95, new: 5 });
    expect(await router.getWeights()).toEqual({ old: 100, new: 0 });
    expect(events(ex)).toEqual(expect.arrayContaining(['paused', 'rolled-back']));
    expect(events(ex)).not.toContain('resumed');
    // A late resume is refused by name: the pause ended (its record expired, its token answers nothing).
    await expect(
      answerLocalPause(world.pauses, tokens, {
        stage: 'wf',
        migrationId: 'm-expire',
        action: 'resume',
        now: new Date(),
      }),
    ).rejects.toMatchObject({ name: 'PauseExpiredError' });
  });

  test('GIVEN a paused Migrate stopped by hand WHEN the EventBridge rule starts RollbackTraffic THEN 100 % old, the stage free, a late resume refused by name', async () => {
    const router = new MemoryRouter();
    const world = await freshWorld(300, { router });
    const tokens = new LocalTaskTokens();
    const stop = new AbortController();
    const execution = run(
      'migrate',
      world,
      { migrationId: 'm-stopped', pauseAt: [25] },
      { taskTokens: tokens, stopSignal: stop.signal },
    );
    await pausedRecord(world, 'm-stopped');
    stop.abort();
    const migrate = await execution;
    expect(migrate.status).toBe('ABORTED');
    expect(await router.getWeights()).toEqual({ old: 75, new: 25 });
    const cleanup = await run('rollback-traffic', world, {
      endedExecution: { executionArn: migrate.executionArn, status: 'ABORTED' },
    });
    expect([cleanup.status, cleanup.error]).toEqual(['SUCCEEDED', undefined]);
    expect(await router.getWeights()).toEqual({ old: 100, new: 0 });
    expect(world.lock.locks.size).toBe(0);
    await expect(
      answerLocalPause(world.pauses, tokens, {
        stage: 'wf',
        migrationId: 'm-stopped',
        action: 'resume',
        now: new Date(),
      }),
    ).rejects.toMatchObject({ name: 'NotPausedError', message: expect.stringMatching(/has already ended/) });
    expect(await world.pauses.read('wf', 'm-stopped')).toBeUndefined();
  });

  test('a pauseAt step the schedule never sets is refused in the first state', async () => {
    const world = await freshWorld(50);
    const ex = await run('migrate', world, { migrationId: 'm-badpause', pauseAt: [30] });
    expect([ex.status, ex.error]).toEqual(['FAILED', 'InvalidInputError']);
    expect(ex.cause).toMatch(/pauseAt must be steps of the weight schedule \(5, 25, 50, 100\), got: 30/);
  });
});
