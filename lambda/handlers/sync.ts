import { z } from 'zod';
import { getSpec } from '../engine/specs';
import {
  createSync,
  dropSync,
  installTombstones,
  moveSequencesPast,
  parseLsn,
  pendingChanges,
  runSync,
  slotStatus,
  SyncLagError,
  type Direction,
  type SyncRunResult,
} from '../engine/sync';
import { assertNoOtherCapture } from '../engine/sync/other-captures';
import { sourceInsertPosition } from '../engine/sync/positions';
import { decideCatchUp } from '../core/traffic/catch-up';
import { BAKE_SECONDS, MAX_CATCH_UP_LAG_SECONDS, MAX_CATCH_UP_MINUTES } from '../core/limits';
import { METRIC } from '../core/metrics';
import { PHASE } from '../phases';
import { migrationId } from './support/input';
import { definePhase, type InvocationContext } from './support/phase';
import type { PhaseDeps } from './support/deps';
import { fencedBy, fenceToken, inTransaction, ownMigrateLock, raiseFences } from './support/fence';

/** Leave this much of the function's time for the last commit and the return. */
const SAFETY_MS = 30_000;
/** One bounded run never exceeds this (a Lambda invocation is at most 15 minutes). */
const MAX_RUN_MS = 10 * 60_000;

const direction = z.enum(['forward', 'reverse']);
const input = z.discriminatedUnion('action', [
  /** Publication + slot on the direction's source (forward: before the copy; reverse: before the first traffic step). */
  z.object({
    action: z.literal('capture'),
    migrationId,
    executionId: fencedBy,
    direction,
    sequenceHeadroom: z.number().int().min(0).default(1_000_000),
  }),
  /** Apply one direction up to the source's position at the start of the call (or until the function's time runs out). */
  z.object({
    action: z.literal('drain'),
    migrationId,
    executionId: fencedBy,
    direction,
    maxSeconds: z
      .number()
      .int()
      .min(1)
      .max(MAX_RUN_MS / 1000)
      .default(MAX_RUN_MS / 1000),
    /** An operator's rollback may come before any traffic moved: then there is no reverse capture and nothing to return. */
    ifCaptured: z.boolean().default(false),
    /**
     * Later-commit-wins conflict detection: on once both sides take writes (forward from the first
     * traffic step; reverse always). Off for the catch-up after the copy, whose own rows would look like newer local writes.
     * @default - on for reverse, off for forward
     */
    conflicts: z.boolean().optional(),
    /**
     * After traffic left a side, requests already inside its app may still commit. Wait this long
     * after reaching the position, then drain again, until a settle window brings nothing new.
     * @default 0
     */
    settleSeconds: z.number().int().min(0).max(300).default(0),
    /** Reverse only: once drained, the old side's sequences move past the new side's by this much (the old side takes every insert again). */
    sequenceHeadroom: z.number().int().min(0).default(1_000_000),
    /**
     * The catch-up before any traffic (the state machine calls drain again until the lag is below
     * `maxLagSeconds`): fail with SyncLagError once `minutes` have passed since `startedAt` (the
     * first call's own start, returned as `catchUpStartedAt`) without getting there.
     * @default - no limit (rollback drains must finish)
     */
    catchUp: z
      .object({
        maxLagSeconds: z.number().min(MAX_CATCH_UP_LAG_SECONDS.min).max(MAX_CATCH_UP_LAG_SECONDS.max),
        minutes: z.number().int().min(MAX_CATCH_UP_MINUTES.min).max(MAX_CATCH_UP_MINUTES.max),
        startedAt: z.string().datetime().optional(),
      })
      .optional(),
  }),
  /** Both directions at once for the bake time (the lag stays bounded while traffic is split). */
  z.object({
    action: z.literal('bake'),
    migrationId,
    executionId: fencedBy,
    seconds: z.number().int().min(BAKE_SECONDS.overrideMin).max(BAKE_SECONDS.max),
    reverse: z.boolean().default(true),
  }),
  /** What a direction still holds (slot state, an upper bound of the row changes not returned). Read-only. */
  z.object({ action: z.literal('pending'), migrationId, executionId: fencedBy, direction }),
  /** Drop the sync objects (slot, publication, origin) of the given directions. Idempotent. */
  z.object({ action: z.literal('cleanup'), migrationId, executionId: fencedBy, directions: z.array(direction).min(1) }),
]);

/** Names, counts, LSNs and lag only: never row data. */
function summary(r: SyncRunResult) {
  return {
    direction: r.direction,
    transactions: r.transactions,
    changes: r.inserted + r.updated + r.deleted,
    inserted: r.inserted,
    updated: r.updated,
    deleted: r.deleted,
    conflicts: r.conflicts,
    appliedLsn: r.appliedLsn,
    sourceLsn: r.sourceLsn,
    lagBytes: r.lagBytes,
    lagSeconds: r.lagSeconds,
    caughtUp: r.caughtUp,
  };
}

async function endpoints(deps: PhaseDeps, d: Direction) {
  const [old, neu] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
  return d === 'forward' ? { source: old, target: neu, old, neu } : { source: neu, target: old, old, neu };
}

function budgetMs(context: InvocationContext | undefined, wantMs: number): number {
  const left = context?.getRemainingTimeInMillis?.() ?? MAX_RUN_MS + SAFETY_MS;
  return Math.max(1_000, Math.min(wantMs, left - SAFETY_MS, MAX_RUN_MS));
}

/**
 * How long a run of this invocation may take at most, from now: half the safety margin before
 * Lambda ends it. Reached inside a source transaction, the run fails with
 * TransactionTooLargeError instead of being killed there (a retry would start it over).
 */
function hardDeadlineMs(context: InvocationContext | undefined): number {
  const left = context?.getRemainingTimeInMillis?.() ?? MAX_RUN_MS + SAFETY_MS;
  return Math.max(1_000, left - SAFETY_MS / 2);
}

/**
 * Change capture and apply, old → new ("forward") and new → old ("reverse"), with the engine in
 * lambda/engine/sync: bounded runs sized to one Lambda invocation, looped by the state machine.
 */
export const sync = definePhase(PHASE.sync, input, async (i, deps, context) => {
  const spec = getSpec(deps.specName);
  // Fencing (a Migrate execution): prove the lock before anything, raise the token on the databases the
  // action writes (a stale execution fails there), and check it again inside every apply transaction.
  const fence = fenceToken(deps, await ownMigrateLock(deps, i.migrationId, i.executionId));
  const fenced = inTransaction(fence);
  switch (i.action) {
    case 'capture': {
      const { source, old, neu } = await endpoints(deps, i.direction);
      const created = await createSync(source, spec, i.migrationId, i.direction);
      // Inserts on the two sides must never take the same key: the new side's sequences move past the old side's.
      const sequences =
        i.direction === 'forward'
          ? []
          : await moveSequencesPast(spec, { old, new: neu }, { moving: 'new', headroom: i.sequenceHeadroom });
      // Both sides take writes from the next traffic step: from now on each side records its local deletes
      // (tombstones), so that later commit wins also between a delete on one side and an update on the other.
      const tombstoneTriggers =
        i.direction === 'forward'
          ? 0
          : (await installTombstones(old, spec, i.migrationId, 'reverse')) +
            (await installTombstones(neu, spec, i.migrationId, 'forward'));
      deps.log.info('sync capture ready', {
        direction: i.direction,
        slot: created.slot,
        created: created.created,
        sequencesMoved: sequences.length,
        tombstoneTriggers,
      });
      return {
        direction: i.direction,
        slot: created.slot,
        startLsn: created.startLsn,
        sequences: sequences.map((s) => ({ table: s.table, column: s.column, setTo: s.setTo })),
      };
    }
    case 'drain': {
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
      const position = () => sourceInsertPosition(source);
      const t0 = deps.now();
      const budget = budgetMs(context, i.maxSeconds * 1000);
      let untilLsn = await position();
      let r = await runSync({
        migrationId: i.migrationId,
        direction: i.direction,
        spec,
        source,
        target,
        untilLsn,
        deadlineMs: hardDeadlineMs(context),
        maxMs: budget,
        conflicts: i.conflicts,
        fence: fenced,
      });
      let changes = r.inserted + r.updated + r.deleted;
      let done = r.caughtUp || parseLsn(r.appliedLsn) >= parseLsn(untilLsn);
      // Settle: drain again after the window until a window brings no change (or the invocation's time runs out: the state machine calls again).
      while (done && i.settleSeconds > 0 && deps.now() - t0 + i.settleSeconds * 1000 < budget) {
        await new Promise((res) => setTimeout(res, i.settleSeconds * 1000));
        untilLsn = await position();
        r = await runSync({
          migrationId: i.migrationId,
          direction: i.direction,
          spec,
          source,
          target,
          untilLsn,
          deadlineMs: hardDeadlineMs(context),
          maxMs: budget - (deps.now() - t0),
          conflicts: i.conflicts,
          fence: fenced,
        });
        const more = r.inserted + r.updated + r.deleted;
        changes += more;
        done = r.caughtUp || parseLsn(r.appliedLsn) >= parseLsn(untilLsn);
        if (more === 0) break;
      }
      deps.log.metric(i.direction === 'forward' ? 'SyncLagSeconds' : 'ReverseSyncLagSeconds', r.lagSeconds, 'Seconds');
      deps.log.metric('SyncConflicts', r.conflicts, 'Count');
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
    case 'bake': {
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
      deps.log.metric('SyncLagSeconds', forward!.lagSeconds, 'Seconds');
      if (reverse) deps.log.metric('ReverseSyncLagSeconds', reverse.lagSeconds, 'Seconds');
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
    case 'pending': {
      const { source } = await endpoints(deps, i.direction);
      return pendingChanges(source, i.migrationId, i.direction);
    }
    case 'cleanup': {
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
