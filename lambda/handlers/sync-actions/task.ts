import { SYNC_TASK } from '../../core/limits';
import { METRIC } from '../../core/metrics';
import { stoppedMessage, type SyncTaskRunner, SyncTaskStoppedError } from '../../core/sync/task';
import { decideCatchUp } from '../../core/traffic/catch-up';
import { type Direction, formatLsn, SyncLagError, syncNames } from '../../engine/sync';
import { connect } from '../../engine/db';
import { appliedPositionWith, insertPosition } from '../../engine/sync/positions';
import { parseLsn } from '../../engine/sync';
import type { PhaseDeps } from '../support/deps';
import { ConfigurationError } from '../support/input';
import type { InvocationContext } from '../support/phase';
import { budgetMs, endpoints } from './budget';
import type { ActionContext } from './context';
import type { ActionInput } from './input';

/**
 * `sync.runner: ecs`: the Sync phase starts the long-running task, observes it (CatchUp, Bake: the
 * lag between the source and the stored position, and that the task still runs) and stops it
 * before any bounded run that needs a slot.
 */
function runner(deps: PhaseDeps): SyncTaskRunner {
  if (!deps.syncTasks)
    throw new ConfigurationError(
      'this stage runs the sync in Lambda (sync.runner: lambda): there is no sync task to start or observe; ' +
        'deploy the stage with sync.runner: ecs',
    );
  return deps.syncTasks;
}

/** Before a bounded run (or a capture change) on a stage with a sync task: none of this migration's tasks runs. */
export async function stopSyncTasks(deps: PhaseDeps, migrationId: string): Promise<void> {
  if (!deps.syncTasks) return;
  const stopped = await deps.syncTasks.stopAll(migrationId);
  if (stopped.length > 0) deps.log.info('sync task stopped', { migrationId, stopped });
}

/** Stop any earlier task of this migration, then start one for the given directions. */
export async function startTask(i: ActionInput<'startTask'>, deps: PhaseDeps, { fence }: ActionContext) {
  const tasks = runner(deps);
  const replaced = await tasks.stopAll(i.migrationId);
  const { taskArn } = await tasks.start({
    migrationId: i.migrationId,
    executionId: i.executionId,
    fenceToken: fence?.token,
    directions: i.directions,
    conflicts: i.conflicts,
  });
  deps.log.info('sync task started', { migrationId: i.migrationId, taskArn, directions: i.directions });
  return { taskArn, directions: i.directions, conflicts: i.conflicts, replaced: replaced.length };
}

async function assertRunning(deps: PhaseDeps, migrationId: string, taskArn: string): Promise<void> {
  const s = await runner(deps).status(taskArn);
  if (!s.running) throw new SyncTaskStoppedError(stoppedMessage(migrationId, s));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Wait (at most until `untilMs`) for the task to apply the source's position of now. Reached: the
 * lag is at most the time that took. Not reached: it is at least the time waited.
 */
async function observeLag(deps: PhaseDeps, migrationId: string, taskArn: string, d: Direction, untilMs: number) {
  const { source, target } = await endpoints(deps, d);
  const slot = syncNames(migrationId, d).slot;
  const [src, dst] = await Promise.all([
    connect(source, { applicationName: 'switchyard-sync-watch' }),
    connect(target, { applicationName: 'switchyard-sync-watch' }),
  ]);
  try {
    const sourceLsn = await insertPosition(src);
    const goal = parseLsn(sourceLsn);
    const t0 = deps.now();
    // The position is read every poll; the task's state (an ECS API call) every bakeCheckSeconds.
    let checkedAt = -Infinity;
    for (;;) {
      if (deps.now() - checkedAt >= SYNC_TASK.bakeCheckSeconds * 1000) {
        await assertRunning(deps, migrationId, taskArn);
        checkedAt = deps.now();
      }
      const applied = await appliedPositionWith(src, dst, slot);
      const done = applied >= goal;
      if (done || deps.now() >= untilMs) {
        const lagSeconds = (deps.now() - t0) / 1000;
        const lagBytes = done ? 0 : Number(goal - applied);
        return { direction: d, done, lagSeconds, lagBytes, sourceLsn, appliedLsn: formatLsn(applied) };
      }
      await sleep(SYNC_TASK.observePollMs);
    }
  } finally {
    await Promise.all([src.end(), dst.end()]).catch(() => undefined);
  }
}

/** CatchUp with a task: the task applies; this call only watches the forward lag (the catch-up policy decides). */
export async function observeDrain(
  i: ActionInput<'drain'>,
  deps: PhaseDeps,
  context: InvocationContext | undefined,
  taskArn: string,
) {
  const t0 = deps.now();
  const window = budgetMs(context, SYNC_TASK.observeWindowSeconds * 1000);
  const r = await observeLag(deps, i.migrationId, taskArn, i.direction, t0 + window);
  deps.log.metric(
    i.direction === 'forward' ? METRIC.syncLagSeconds : METRIC.reverseSyncLagSeconds,
    r.lagSeconds,
    'Seconds',
  );
  const catchUp = i.catchUp ? decideCatchUp(i.catchUp, { ...r, changes: 0 }, t0, deps.now()) : undefined;
  if (catchUp?.giveUp) throw new SyncLagError(catchUp.giveUp);
  return {
    ...r,
    changes: 0,
    caughtUp: r.done,
    drainedTo: r.sourceLsn,
    observed: taskArn,
    ...(catchUp ? { catchUpStartedAt: catchUp.startedAt } : {}),
  };
}

/** The bake with a task: for the bake time, check that the task runs; then read each direction's lag. */
export async function observeBake(
  i: ActionInput<'bake'>,
  deps: PhaseDeps,
  context: InvocationContext | undefined,
  taskArn: string,
) {
  const t0 = deps.now();
  const ms = i.seconds === 0 ? 0 : budgetMs(context, i.seconds * 1000);
  await assertRunning(deps, i.migrationId, taskArn);
  while (deps.now() - t0 < ms) {
    await sleep(Math.min(SYNC_TASK.bakeCheckSeconds * 1000, Math.max(0, ms - (deps.now() - t0))));
    await assertRunning(deps, i.migrationId, taskArn);
  }
  const lagUntil = deps.now() + Math.min(SYNC_TASK.observeWindowSeconds * 1000, budgetMs(context, 60_000));
  const forward = await observeLag(deps, i.migrationId, taskArn, 'forward', lagUntil);
  const reverse = i.reverse ? await observeLag(deps, i.migrationId, taskArn, 'reverse', lagUntil) : undefined;
  deps.log.metric(METRIC.syncLagSeconds, forward.lagSeconds, 'Seconds');
  if (reverse) deps.log.metric(METRIC.reverseSyncLagSeconds, reverse.lagSeconds, 'Seconds');
  const bakedSeconds = (deps.now() - t0) / 1000;
  return {
    forward,
    reverse,
    bakedSeconds,
    remainingSeconds: Math.max(0, i.seconds - Math.ceil(bakedSeconds)),
    conflicts: 0,
    maxLagSeconds: Math.max(forward.lagSeconds, reverse?.lagSeconds ?? 0),
    observed: taskArn,
  };
}
