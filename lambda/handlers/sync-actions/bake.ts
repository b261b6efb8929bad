import { runSync } from '../../engine/sync';
import { METRIC } from '../../core/metrics';
import type { PhaseDeps } from '../support/deps';
import { raiseFences } from '../support/fence';
import type { InvocationContext } from '../support/phase';
import { budgetMs, hardDeadlineMs, summary } from './budget';
import type { ActionContext } from './context';
import type { ActionInput } from './input';

/** Both directions at once for the bake time; one failing stops the other. */
export async function bake(
  i: ActionInput<'bake'>,
  deps: PhaseDeps,
  context: InvocationContext | undefined,
  { spec, fence, fenced }: ActionContext,
) {
  // A bake of 0 s (tests, dry rehearsals) is one pass in each direction.
  const ms = i.seconds === 0 ? 0 : budgetMs(context, i.seconds * 1000);
  const [old, neu] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
  await raiseFences(fence, neu, old);
  const t0 = deps.now();
  // One direction failing stops the other after its current batch (never left running, or frozen with the Lambda).
  const stop = new AbortController();
  const stopOnFailure = <T>(p: Promise<T>) =>
    p.catch((e: unknown) => {
      stop.abort();
      throw e;
    });
  const settled = await Promise.allSettled([
    // Both sides take writes now: a same-row write on both is resolved by the conflict rule in both directions.
    stopOnFailure(
      runSync({
        migrationId: i.migrationId,
        direction: 'forward',
        spec,
        source: old,
        target: neu,
        deadlineMs: hardDeadlineMs(context),
        maxMs: ms,
        conflicts: true,
        signal: stop.signal,
        fence: fenced,
      }),
    ),
    i.reverse
      ? stopOnFailure(
          runSync({
            migrationId: i.migrationId,
            direction: 'reverse',
            spec,
            source: neu,
            target: old,
            deadlineMs: hardDeadlineMs(context),
            maxMs: ms,
            conflicts: true,
            signal: stop.signal,
            fence: fenced,
          }),
        )
      : undefined,
  ]);
  const failedRun = settled.find((r) => r.status === 'rejected');
  if (failedRun) throw failedRun.reason;
  const runs = settled.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
  const [forward, reverse] = runs.map((r) => (r ? summary(r) : undefined));
  deps.log.metric(METRIC.syncLagSeconds, forward!.lagSeconds, 'Seconds');
  if (reverse) deps.log.metric(METRIC.reverseSyncLagSeconds, reverse.lagSeconds, 'Seconds');
  deps.log.metric(METRIC.syncConflicts, (forward?.conflicts ?? 0) + (reverse?.conflicts ?? 0), 'Count');
  const bakedSeconds = (deps.now() - t0) / 1000;
  // A bake longer than one invocation is looped by the state machine until nothing remains.
  const remainingSeconds = Math.max(0, i.seconds - Math.ceil(bakedSeconds));
  return {
    forward,
    reverse,
    bakedSeconds,
    remainingSeconds,
    conflicts: (forward?.conflicts ?? 0) + (reverse?.conflicts ?? 0),
    maxLagSeconds: Math.max(forward!.lagSeconds, reverse?.lagSeconds ?? 0),
  };
}
