import { SyncLagError, moveSequencesPast, parseLsn, runSync, slotStatus } from '../../engine/sync';
import { assertNoOtherCapture } from '../../engine/sync/other-captures';
import { sourceInsertPosition } from '../../engine/sync/positions';
import { decideCatchUp } from '../../core/traffic/catch-up';
import { METRIC } from '../../core/metrics';
import type { PhaseDeps } from '../support/deps';
import { raiseFences } from '../support/fence';
import type { InvocationContext } from '../support/phase';
import { budgetMs, endpoints, hardDeadlineMs, summary } from './budget';
import type { ActionContext } from './context';
import type { ActionInput } from './input';

/** Apply one direction up to the source's position at the start of the call, then settle windows. */
export async function drain(
  i: ActionInput<'drain'>,
  deps: PhaseDeps,
  context: InvocationContext | undefined,
  { spec, fence, fenced }: ActionContext,
) {
  const { source, target, old, neu } = await endpoints(deps, i.direction);
  await raiseFences(fence, target);
  if (i.ifCaptured && !(await slotStatus(source, i.migrationId, i.direction)).exists) {
    await assertNoOtherCapture(source, i.migrationId, i.direction);
    return {
      direction: i.direction,
      done: true,
      skipped: `no ${i.direction} capture: nothing to drain`,
      changes: 0,
      transactions: 0,
      lagSeconds: 0,
    };
  }
  const t0 = deps.now();
  const budget = budgetMs(context, i.maxSeconds * 1000);
  // One run to the source's position now; then, with settle windows, again after each window until one brings nothing.
  const runTo = async (maxMs: number) => {
    const untilLsn = await sourceInsertPosition(source);
    const r = await runSync({
      ...{ migrationId: i.migrationId, direction: i.direction, spec, source, target, untilLsn },
      ...{ deadlineMs: hardDeadlineMs(context), maxMs, conflicts: i.conflicts, fence: fenced },
    });
    return { r, untilLsn, done: r.caughtUp || parseLsn(r.appliedLsn) >= parseLsn(untilLsn) };
  };
  let run = await runTo(budget);
  let changes = run.r.inserted + run.r.updated + run.r.deleted;
  // Settle (the invocation's time running out ends it: the state machine calls again).
  while (run.done && i.settleSeconds > 0 && deps.now() - t0 + i.settleSeconds * 1000 < budget) {
    await (deps.sleep ?? timer)(i.settleSeconds * 1000);
    run = await runTo(budget - (deps.now() - t0));
    const more = run.r.inserted + run.r.updated + run.r.deleted;
    changes += more;
    if (more === 0) break;
  }
  const { r, untilLsn, done } = run;
  deps.log.metric(
    i.direction === 'forward' ? METRIC.syncLagSeconds : METRIC.reverseSyncLagSeconds,
    r.lagSeconds,
    'Seconds',
  );
  deps.log.metric(METRIC.syncConflicts, r.conflicts, 'Count');
  deps.log.metric(METRIC.syncDrainChanges, changes, 'Count');
  // Logical replication carries no sequences: the old side now holds the new side's rows (keys
  // from the new side's range) and takes every insert again, so its sequences move past them.
  const sequences =
    i.direction === 'reverse' && done
      ? await moveSequencesPast(spec, { old, new: neu }, { moving: 'old', headroom: i.sequenceHeadroom })
      : [];
  const catchUp = i.catchUp
    ? decideCatchUp(i.catchUp, { ...r, direction: i.direction, done, changes }, t0, deps.now())
    : undefined;
  if (catchUp?.giveUp) throw new SyncLagError(catchUp.giveUp);
  const catchUpStartedAt = catchUp?.startedAt;
  return {
    ...summary(r),
    changes,
    drainedTo: untilLsn,
    done,
    ...(catchUpStartedAt ? { catchUpStartedAt } : {}),
    ...(sequences.length > 0
      ? { sequences: sequences.map((s) => ({ table: s.table, column: s.column, setTo: s.setTo })) }
      : {}),
  };
}

const timer = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));
