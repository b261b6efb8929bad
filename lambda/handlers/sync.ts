import { getSpec } from '../engine/specs';
import { dropSync, pendingChanges } from '../engine/sync';
import { PHASE } from '../phases';
import { bake } from './sync-actions/bake';
import { endpoints } from './sync-actions/budget';
import { capture } from './sync-actions/capture';
import { drain } from './sync-actions/drain';
import { input } from './sync-actions/input';
import { observeBake, observeDrain, startTask, stopSyncTasks } from './sync-actions/task';
import { fenceToken, inTransaction, ownMigrateLock } from './support/fence';
import { definePhase } from './support/phase';

/**
 * Change capture and apply, old → new ("forward") and new → old ("reverse"), with the engine in
 * lambda/engine/sync: bounded runs sized to one Lambda invocation, looped by the state machine.
 * One action per call (sync-actions/): capture, drain, bake, pending, cleanup; with `sync.runner:
 * ecs` also startTask, and drain/bake that only observe the task. Every other action that touches a
 * slot stops this migration's task first (a slot has one applier at a time).
 */
export const sync = definePhase(PHASE.sync, input, async (i, deps, context) => {
  // Fencing (a Migrate execution): prove the lock before anything, raise the token on the databases the
  // action writes (a stale execution fails there), and check it again inside every apply transaction.
  const fence = fenceToken(deps, await ownMigrateLock(deps, i.migrationId, i.executionId));
  const ctx = { spec: getSpec(deps.specName), fence, fenced: inTransaction(fence) };
  switch (i.action) {
    case 'capture':
      await stopSyncTasks(deps, i.migrationId);
      return capture(i, deps, ctx);
    case 'drain':
      if (i.observe) return observeDrain(i, deps, context, i.observe.taskArn);
      await stopSyncTasks(deps, i.migrationId);
      return drain(i, deps, context, ctx);
    case 'bake':
      if (i.observe) return observeBake(i, deps, context, i.observe.taskArn);
      await stopSyncTasks(deps, i.migrationId);
      return bake(i, deps, context, ctx);
    case 'startTask':
      return startTask(i, deps, ctx);
    case 'pending': {
      const { source } = await endpoints(deps, i.direction);
      return pendingChanges(source, i.migrationId, i.direction);
    }
    case 'cleanup': {
      await stopSyncTasks(deps, i.migrationId);
      const [old, neu] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
      const dropped = [];
      for (const d of i.directions) {
        const r = await dropSync(d === 'forward' ? old : neu, i.migrationId, d, d === 'forward' ? neu : old);
        dropped.push({ direction: d, ...r });
      }
      return { dropped };
    }
  }
});
