import type { SyncTaskSpec } from '../../core/sync/task';
import { getSpec } from '../../engine/specs';
import { runSync, type SyncRunResult } from '../../engine/sync';
import type { PhaseDeps } from '../support/deps';
import { raiseFences, inTransaction } from '../support/fence';
import { summary } from './budget';

/**
 * What the long-running sync task runs (bin/sync-task.ts in ECS, the in-process runner locally):
 * the same engine as the bounded runs, continuous, each direction of `spec.directions` at once,
 * until `signal` aborts (each run stops after the transaction it applies, committed). One direction
 * failing stops the other; the first failure is thrown (the process exits non-zero, the workflow
 * sees the task STOPPED and fails with SyncTaskStoppedError).
 */
export async function runSyncTask(
  deps: Pick<PhaseDeps, 'stage' | 'specName' | 'sourceDb' | 'targetDb' | 'log'>,
  task: SyncTaskSpec,
  signal: AbortSignal,
): Promise<SyncRunResult[]> {
  const spec = getSpec(deps.specName);
  const [old, neu] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
  const fence = task.fenceToken === undefined ? undefined : { stage: deps.stage, token: task.fenceToken };
  // Stale before it starts (another execution took the stage): fail here, apply nothing.
  await raiseFences(fence, ...(task.directions.includes('reverse') ? [neu, old] : [neu]));
  const stop = new AbortController();
  const onStop = () => stop.abort();
  signal.addEventListener('abort', onStop, { once: true });
  if (signal.aborted) stop.abort();
  try {
    const runs = task.directions.map((direction) =>
      runSync({
        migrationId: task.migrationId,
        direction,
        spec,
        source: direction === 'forward' ? old : neu,
        target: direction === 'forward' ? neu : old,
        conflicts: direction === 'reverse' ? true : task.conflicts,
        signal: stop.signal,
        fence: inTransaction(fence),
      }).catch((e: unknown) => {
        stop.abort();
        throw e;
      }),
    );
    const settled = await Promise.allSettled(runs);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const results = settled.map((r) => (r as PromiseFulfilledResult<SyncRunResult>).value);
    for (const r of results) deps.log.info('sync task run ended', summary(r));
    return results;
  } finally {
    signal.removeEventListener('abort', onStop);
  }
}
