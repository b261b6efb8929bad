import { InProcessSyncTasks } from '../../../lambda/adapters/local/in-process-sync-task';
import { ERRORS } from '../../../lambda/core/errors';
import type { SyncTaskRunner } from '../../../lambda/core/sync/task';
import type { DbEndpoint } from '../../../lambda/engine';
import { registerSpec } from '../../../lambda/engine/specs';
import { createSync, raiseFence } from '../../../lambda/engine/sync';
import type { PhaseDeps } from '../../../lambda/handlers/support/deps';
import { createLogger } from '../../../lambda/handlers/support/logger';
import { sync } from '../../../lambda/handlers/sync';
import { runSyncTask } from '../../../lambda/handlers/sync-actions/continuous';
import { query } from '../../support/pg';
import { copyAll, itemsSpec, rolePair, rowsOf } from '../engine/sync/helpers';

registerSpec(itemsSpec);

/** sync.runner ecs, one handler call at a time: start the task, watch it, stop it before a bounded run. */
describe('sync handler with a sync task (sync.runner ecs), as the migration login', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'task-actions';
  const base = () => ({
    stage: 'unit',
    log: createLogger({}, () => undefined),
    specName: itemsSpec.name,
    sourceDb: async () => source,
    targetDb: async () => target,
    now: () => Date.now(),
  });
  const call = (syncTasks: SyncTaskRunner | undefined, input: object) =>
    sync.make(() => ({ ...base(), syncTasks }) as unknown as PhaseDeps)(
      { migrationId: id, ...input },
      { getRemainingTimeInMillis: () => 900_000 },
    ) as Promise<Record<string, unknown>>;

  beforeAll(async () => {
    ({ source, target } = await rolePair('sytk'));
    await query(source, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 100) g`);
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
  });

  test('GIVEN the lambda runner WHEN asked to start a task THEN ConfigurationError says how to get one', async () => {
    await expect(
      call(undefined, { action: 'startTask', directions: ['forward'], conflicts: false }),
    ).rejects.toMatchObject({ name: ERRORS.ConfigurationError, message: expect.stringContaining('sync.runner: ecs') });
  });

  test('GIVEN a running task WHEN CatchUp watches THEN the task applied the writes and the call applied nothing; a drain then stops the task first', async () => {
    const tasks = new InProcessSyncTasks((spec, signal) => runSyncTask(base(), spec, signal));
    try {
      const started = await call(tasks, { action: 'startTask', directions: ['forward'], conflicts: false });
      await query(source, `INSERT INTO items SELECT g, 'later ' || g, NULL, 0 FROM generate_series(101, 300) g`);
      const watched = await call(tasks, {
        action: 'drain',
        direction: 'forward',
        catchUp: { maxLagSeconds: 60, minutes: 5 },
        observe: { taskArn: started.taskArn },
      });
      expect(watched).toMatchObject({ done: true, changes: 0, observed: started.taskArn });
      expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
      expect(tasks.running).toBe(1);
      // A bounded run needs the slot: the task is stopped (and waited for) before it starts.
      await query(source, `INSERT INTO items VALUES (301, 'after', NULL, 0)`);
      const drained = await call(tasks, { action: 'drain', direction: 'forward' });
      expect(tasks.running).toBe(0);
      expect(drained).toMatchObject({ done: true });
      expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
      expect(await tasks.status(String(started.taskArn))).toMatchObject({
        running: false,
        stoppedReason: 'stopped by the workflow (StopTask)',
      });
    } finally {
      await tasks.stopAll(id);
    }
  }, 120_000);

  test('GIVEN the task died WHEN CatchUp or the bake watch it THEN SyncTaskStoppedError names it and why', async () => {
    const tasks = new InProcessSyncTasks((spec, signal) => runSyncTask(base(), spec, signal));
    const { taskArn } = await tasks.start({ migrationId: id, directions: ['forward'], conflicts: false });
    await tasks.kill(taskArn, 'OutOfMemoryError: container killed');
    for (const input of [
      { action: 'drain', direction: 'forward', observe: { taskArn } },
      { action: 'bake', seconds: 0, reverse: false, observe: { taskArn } },
    ])
      await expect(call(tasks, input)).rejects.toMatchObject({
        name: ERRORS.SyncTaskStoppedError,
        message: expect.stringContaining(`${taskArn} of migration ${id} is not running (OutOfMemoryError`),
      });
  }, 60_000);

  test('GIVEN an idle task of an execution WHEN a later execution raises the fence THEN the task ends itself (StaleExecutionError)', async () => {
    const tasks = new InProcessSyncTasks((spec, signal) => runSyncTask(base(), spec, signal, { fenceCheckMs: 100 }));
    const { taskArn } = await tasks.start({
      migrationId: id,
      directions: ['forward'],
      conflicts: false,
      fenceToken: 1,
    });
    try {
      expect(await tasks.status(taskArn)).toMatchObject({ running: true });
      await raiseFence(target, { stage: 'unit', token: 2 });
      const end = Date.now() + 30_000;
      while ((await tasks.status(taskArn)).running && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect(await tasks.status(taskArn)).toMatchObject({
        running: false,
        // Its watchdog, or its next apply transaction, whichever sees the later token first.
        stoppedReason: expect.stringMatching(
          /StaleExecutionError: stage unit: this (sync task's|execution's) lock token 1 is older than token 2/,
        ),
      });
    } finally {
      await tasks.stopAll(id);
    }
  }, 60_000);
});
