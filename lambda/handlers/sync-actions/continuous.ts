import type { SyncTaskSpec } from '../../core/sync/task';
import { getSpec } from '../../engine/specs';
import type { DbEndpoint } from '../../engine/db';
import { type FenceToken, laterFenceToken, runSync, type SyncRunResult } from '../../engine/sync';
import { StaleExecutionError } from '../../core/lock/errors';
import { SYNC_TASK } from '../../core/limits';
import type { PhaseDeps } from '../support/deps';
import { raiseFences, inTransaction } from '../support/fence';
import { summary } from './budget';

/**
 * What the long-running sync task runs (bin/sync-task.ts in ECS, the in-process runner locally):
 * the same engine as the bounded runs, continuous, each direction of `spec.directions` at once,
 * until `signal` aborts (each run stops after the transaction it applies, committed). One direction
 * failing stops the other; the first failure is thrown (the process exits non-zero, the workflow
 * sees the task STOPPED and fails with SyncTaskStoppedError). With a fence token, the task also
 * ends itself (StaleExecutionError) once a later execution raised the fence on a destination, even
 * while no change arrives (an idle task would otherwise hold the slots until someone stops it).
 */
export async function runSyncTask(
  deps: Pick<PhaseDeps, 'stage' | 'specName' | 'sourceDb' | 'targetDb' | 'log'>,
  task: SyncTaskSpec,
  signal: AbortSignal,
  opts: { fenceCheckMs?: number } = {},
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
  let stale: StaleExecutionError | undefined;
  const dests = task.directions.map((d) => (d === 'forward' ? neu : old));
  const watchdog = fence
    ? setInterval(
        () => {
          void staleOn(dests, fence).then((e) => {
            if (e && !stale) {
              stale = e;
              stop.abort();
            }
          });
        },
        opts.fenceCheckMs ?? SYNC_TASK.fenceCheckSeconds * 1000,
      )
    : undefined;
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
    if (stale) throw stale;
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const results = settled.map((r) => (r as PromiseFulfilledResult<SyncRunResult>).value);
    for (const r of results) deps.log.info('sync task run ended', summary(r));
    return results;
  } finally {
    if (watchdog) clearInterval(watchdog);
    signal.removeEventListener('abort', onStop);
  }
}

/** A later execution's token on one of the destinations (a read that fails says nothing: checked again later). */
async function staleOn(dbs: readonly DbEndpoint[], f: FenceToken): Promise<StaleExecutionError | undefined> {
  for (const db of dbs) {
    const held = await laterFenceToken(db, f).catch(() => undefined);
    if (held !== undefined)
      return new StaleExecutionError(
        `stage ${f.stage}: this sync task's lock token ${f.token} is older than token ${held} a later execution ` +
          'showed: the task stops (everything it applied is committed with its position)',
      );
  }
  return undefined;
}
