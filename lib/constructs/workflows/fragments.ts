/**
 * The pieces every state machine is built from, written once: a phase task whose retry class
 * comes from the phase manifest, a notification, a poll loop, the traffic rollback, and
 * `chain`, which strings sections together in the order they run.
 */
import { Duration } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { ERRORS, type ErrorName } from '../../../lambda/core/errors';
import { ALB_DEREGISTRATION_SECONDS, ROLLBACK } from '../../../lambda/core/limits';
import { rollbackSettleSeconds } from '../../../lambda/core/traffic/settle';
import { PHASE, PHASES, type PhaseName, type RetryClass } from '../../../lambda/phases';
import type { PhaseFunction } from '../phase-function';

/** What every definition builder needs: the phase functions and the notification topic. */
export interface WorkflowContext {
  readonly functions: Readonly<Record<PhaseName, PhaseFunction>>;
  readonly topic: sns.ITopic;
  /** The traffic rollback's drain timing. @default DEFAULT_ROLLBACK_TIMING */
  readonly rollback?: RollbackTiming;
}

/** The Retry of each retry class in the manifest (lambda/phases.ts). The SDK retries throttling inside the handlers. */
const RETRIES: Readonly<Record<RetryClass, sfn.RetryProps | undefined>> = {
  none: undefined,
  'transient-db': {
    errors: [ERRORS.DatabaseUnreachableError, ERRORS.ChunkCopyError],
    interval: Duration.seconds(5),
    maxAttempts: 3,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  },
  always: {
    errors: [sfn.Errors.ALL],
    interval: Duration.seconds(2),
    maxAttempts: 3,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  },
};

export interface PhaseTaskOptions {
  /** The Lambda payload; undefined passes the whole state input. @default - the whole state input */
  readonly payload?: Record<string, unknown>;
  /** Where the result lands in the state. */
  readonly resultPath: string;
  /** Fail the state with States.Timeout after this long (per attempt). @default - the phase's Lambda timeout plus STATE_TIMEOUT_MARGIN */
  readonly timeout?: Duration;
}

/** A task state outlives its function's own timeout by this much before States.Timeout. */
export const STATE_TIMEOUT_MARGIN = Duration.seconds(60);

/** The state timeout of one attempt of a phase task (Lambda timeout + margin). */
export const phaseStateTimeout = (phase: PhaseName) =>
  Duration.seconds(PHASES[phase].timeoutSeconds + STATE_TIMEOUT_MARGIN.toSeconds());

/** A notification gives up after this long (and the workflow carries on). */
export const NOTIFY_TIMEOUT = Duration.seconds(30);

/** A task that invokes one phase function, retried as the manifest says for that phase. */
export function phaseTask(
  scope: Construct,
  ctx: WorkflowContext,
  id: string,
  phase: PhaseName,
  opts: PhaseTaskOptions,
): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: ctx.functions[phase],
    payload: opts.payload && sfn.TaskInput.fromObject(opts.payload),
    payloadResponseOnly: true,
    resultPath: opts.resultPath,
    taskTimeout: sfn.Timeout.duration(opts.timeout ?? phaseStateTimeout(phase)),
  });
  const retry = RETRIES[PHASES[phase].retry];
  if (retry) task.addRetry(retry);
  return task;
}

/**
 * Publish `{ event, migrationId, execution, ...extra }` to the notification topic. A notification
 * never fails a workflow: any error (KMS, SNS, timeout) is kept in `$.notifyError`, the
 * `<id>Skipped` state shows it in the graph, and the workflow carries on with the next state.
 * `migrationIdPath` null leaves the migration id out (an input without one).
 */
export function notify(
  scope: Construct,
  ctx: WorkflowContext,
  id: string,
  event: string,
  extra: Record<string, unknown> = {},
  migrationIdPath: string | null = '$.config.migrationId',
): sfn.Chain {
  const publish = new tasks.SnsPublish(scope, id, {
    topic: ctx.topic,
    message: sfn.TaskInput.fromObject({
      event,
      ...(migrationIdPath ? { 'migrationId.$': migrationIdPath } : {}),
      'execution.$': '$$.Execution.Id',
      ...extra,
    }),
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: sfn.Timeout.duration(NOTIFY_TIMEOUT),
  });
  const skipped = new sfn.Pass(scope, `${id}Skipped`, {
    comment: 'The notification failed; the error is in $.notifyError. The workflow carries on.',
  });
  publish.addCatch(skipped, { errors: [sfn.Errors.ALL], resultPath: '$.notifyError' });
  return sfn.Chain.custom(publish, [publish, skipped], skipped);
}

/**
 * Release the stage lock, then `end` (a terminal state). A failed release does not change the
 * outcome: the error is kept in `$.unlockError` and the lock frees itself when its lease ends.
 */
export function releaseLockThen(
  scope: Construct,
  ctx: WorkflowContext,
  id: string,
  workflow: 'migrate' | 'restore-data' | 'decommission',
  end: sfn.State,
): sfn.Chain {
  const release = phaseTask(scope, ctx, id, PHASE.unlock, {
    payload: { action: 'release', workflow, 'migrationId.$': '$.config.migrationId', ...EXECUTION },
    resultPath: '$.unlock',
  });
  release.addCatch(end, { errors: [sfn.Errors.ALL], resultPath: '$.unlockError' });
  return chain(release, end);
}

/** This execution's id in a payload: its lock owner identity (fencing, lambda/handlers/support/fence.ts). */
export const EXECUTION = { 'executionId.$': '$$.Execution.Id' } as const;

/**
 * A stale execution (StaleExecutionError: its lease ended or another execution took the stage):
 * notify and stop. No traffic rollback, no capture dropped, no lock released: all of that belongs
 * to the execution that owns the stage now.
 */
export function staleStop(scope: Construct, ctx: WorkflowContext, prefix = ''): sfn.Chain {
  return chain(
    notify(scope, ctx, `${prefix}NotifyStaleExecution`, 'stale-execution', {
      'error.$': '$.error.Error',
      'cause.$': '$.error.Cause',
    }),
    failWithCaught(scope, `${prefix}StaleExecution`),
  );
}

/** `a → b → c …` as one chain; each part may itself be a chain or a Choice's `afterwards()`. */
export function chain(first: sfn.IChainable, ...rest: sfn.IChainable[]): sfn.Chain {
  return rest.reduce<sfn.Chain>((c, next) => c.next(next), sfn.Chain.start(first));
}

/** The `otherwise` of a Choice, set by the next `.next()`. */
class OtherwiseNext implements sfn.INextable {
  constructor(private readonly choice: sfn.Choice) {}
  next(state: sfn.IChainable): sfn.Chain {
    this.choice.otherwise(state);
    return sfn.Chain.sequence(this.choice, state);
  }
}

/**
 * A Choice whose branches leave the main path (loops back, failures) and which otherwise
 * continues with whatever is chained after it. Unlike `afterwards()`, it does not collect
 * the open ends reachable from the branches, so a loop may still be open when it is built.
 */
export function orElseContinue(choice: sfn.Choice): sfn.Chain {
  return sfn.Chain.custom(choice, [new OtherwiseNext(choice)], choice);
}

/** Names of the states of one poll loop. */
export interface PollLoopNames {
  readonly init: string;
  readonly wait: string;
  readonly count: string;
  readonly choice: string;
  readonly timedOut: string;
}

export interface PollLoopProps {
  readonly names: PollLoopNames;
  /** The task that starts the work, run once after the poll counter is set. @default - none */
  readonly start?: sfn.IChainable;
  /** The task that reads the status. */
  readonly status: sfn.IChainable;
  /** True when the work is done. */
  readonly ready: sfn.Condition;
  /** Polls before giving up. */
  readonly maxPolls: number;
  /** @default 30 seconds */
  readonly interval?: Duration;
  /** The error the loop fails with after `maxPolls`. */
  readonly timeoutError: ErrorName;
  /** An intrinsic (States.Format) for the cause; `$.polls.count` holds the number of polls. */
  readonly timeoutCause: string;
  /** Where a timed-out loop goes, with the error in `$.error`. */
  readonly onTimeout: sfn.IChainable;
}

/**
 * `init → start → wait → status → ready?` looping back to the wait until `ready`, at most
 * `maxPolls` times (then `timeoutError` in `$.error` → `onTimeout`). The returned chain
 * continues (`.next`) when ready.
 */
export function pollLoop(scope: Construct, props: PollLoopProps): sfn.Chain {
  if (!Number.isInteger(props.maxPolls) || props.maxPolls < 1)
    throw new Error(`maxPolls must be a positive integer, got: ${props.maxPolls}`);
  const { names } = props;
  const init = new sfn.Pass(scope, names.init, { result: sfn.Result.fromObject({ count: 0 }), resultPath: '$.polls' });
  const wait = new sfn.Wait(scope, names.wait, { time: sfn.WaitTime.duration(props.interval ?? Duration.seconds(30)) });
  const count = new sfn.Pass(scope, names.count, {
    parameters: { 'count.$': 'States.MathAdd($.polls.count, 1)' },
    resultPath: '$.polls',
  });
  const timedOut = new sfn.Pass(scope, names.timedOut, {
    parameters: { Error: props.timeoutError, 'Cause.$': props.timeoutCause },
    resultPath: '$.error',
  });
  const notReady = sfn.Condition.not(props.ready);
  const decide = new sfn.Choice(scope, names.choice)
    .when(
      sfn.Condition.and(notReady, sfn.Condition.numberGreaterThanEquals('$.polls.count', props.maxPolls)),
      timedOut.next(props.onTimeout),
    )
    .when(notReady, count.next(wait));
  return chain(init, ...(props.start ? [props.start] : []), wait, props.status, orElseContinue(decide));
}

/** A Fail state that ends the execution with the error caught into `$.error`. */
export function failWithCaught(scope: Construct, id: string): sfn.Fail {
  return new sfn.Fail(scope, id, { errorPath: '$.error.Error', causePath: '$.error.Cause' });
}

/** Inside each late drain: drain again after this long until a window brings nothing (requests committing right now). */
export const LATE_DRAIN_SETTLE_SECONDS = 2;

/** The timing of a traffic rollback's drains (stage config `migration.rollback`, lambda/core/limits.ts ROLLBACK). */
export interface RollbackTiming {
  /** Before the weights move: drain the reverse backlog for at most this long (RollbackTraffic only; 0: none). */
  readonly preDrainSeconds: number;
  /** After the weights moved: wait this long before draining (rollbackSettleSeconds: routing + longest request). */
  readonly settleSeconds: number;
  /** Keep the reverse slot until a window this long brings no new-side change. */
  readonly quietSeconds: number;
}

/** The defaults: the stage config's defaults over ALB routing (30 s deregistration + 30 s longest request). */
export const DEFAULT_ROLLBACK_TIMING: RollbackTiming = {
  preDrainSeconds: ROLLBACK.preDrainSeconds.default,
  settleSeconds: rollbackSettleSeconds({
    deregistrationSeconds: ALB_DEREGISTRATION_SECONDS,
    longestRequestSeconds: ROLLBACK.longestRequestSeconds.default,
  }),
  quietSeconds: ROLLBACK.quietSeconds.default,
};

export interface DrainReverseProps {
  /** State id prefix (ids must be unique in a state machine). */
  readonly prefix: string;
  /** Skip (done) when no reverse capture exists: an operator's rollback before any traffic moved. @default false */
  readonly ifCaptured?: boolean;
  /** Where a failed or unfinished return goes, with `ReverseDrainFailedError` in `$.error` (after the notification). */
  readonly onFailed: sfn.IChainable;
}

/**
 * Once traffic is back on old, return the new side's writes to the old database: wait the settle
 * window (requests still inside the new app, clients on the old DNS answer), drain the reverse sync
 * to the new side's position (looped until done), then keep the slot through quiet windows, draining
 * each, until one brings no change (a late write still arrives); then drop both captures. A drain
 * that fails, or a new side that never goes quiet, is never reported as writes returned: the
 * captures stay (the writes are still in the slot), `reverse-drain-failed` says how many changes at
 * most were not returned and how to recover, and the chain goes to `onFailed` (ReverseDrainFailedError).
 */
export function drainReverse(
  scope: Construct,
  ctx: WorkflowContext,
  props: DrainReverseProps,
): { start: sfn.IChainable; end: sfn.INextable & sfn.IChainable } {
  const p = props.prefix;
  const timing = ctx.rollback ?? DEFAULT_ROLLBACK_TIMING;
  const id = { 'migrationId.$': '$.config.migrationId' };
  const drainTask = (name: string, resultPath: string, settleSeconds = 0) =>
    phaseTask(scope, ctx, name, PHASE.sync, {
      payload: { action: 'drain', direction: 'reverse', ifCaptured: props.ifCaptured ?? false, settleSeconds, ...id },
      resultPath,
    });
  const settle = new sfn.Wait(scope, `${p}SettleWindow`, {
    time: sfn.WaitTime.duration(Duration.seconds(timing.settleSeconds)),
  });
  const drain = drainTask(`${p}DrainReverseSync`, '$.reverseDrain');
  const initQuiet = new sfn.Pass(scope, `${p}InitQuietWindows`, {
    parameters: { rounds: 0, 'changes.$': '$.reverseDrain.changes' },
    resultPath: '$.returned',
  });
  const quiet = new sfn.Wait(scope, `${p}QuietWindow`, {
    time: sfn.WaitTime.duration(Duration.seconds(timing.quietSeconds)),
  });
  // Each late drain also settles inside the call (drain, LATE_DRAIN_SETTLE_SECONDS, drain until a window brings nothing).
  const late = drainTask(`${p}DrainLateWrites`, '$.lateDrain', LATE_DRAIN_SETTLE_SECONDS);
  const countLate = new sfn.Pass(scope, `${p}CountLateWrites`, {
    parameters: {
      'rounds.$': 'States.MathAdd($.returned.rounds, 1)',
      'changes.$': 'States.MathAdd($.returned.changes, $.lateDrain.changes)',
    },
    resultPath: '$.returned',
  });
  const cleanup = phaseTask(scope, ctx, `${p}DropCaptures`, PHASE.sync, {
    payload: { action: 'cleanup', directions: ['forward', 'reverse'], ...id },
    resultPath: '$.syncCleanup',
  });
  const end = new sfn.Pass(scope, `${p}SyncDone`, {
    parameters: { 'changes.$': '$.returned.changes', done: true },
    resultPath: '$.reverseDrain',
  });
  // Failed: count what is still in the slot (best effort), notify with the recovery, fail by name.
  const pending = phaseTask(scope, ctx, `${p}CountNotReturned`, PHASE.sync, {
    payload: { action: 'pending', direction: 'reverse', ...id },
    resultPath: '$.notReturned',
  });
  const notifyFailed = chain(
    notify(scope, ctx, `${p}NotifyDrainFailed`, 'reverse-drain-failed', {
      'error.$': '$.drainError.Error',
      'cause.$': '$.drainError.Cause',
      'notReturned.$': '$.notReturned',
      'recovery.$':
        "States.Format('Traffic is on the old side. The new side writes not returned are kept in reverse slot " +
        '{}: run RollbackTraffic again with migration id {} once the cause is fixed to return them; if the slot ' +
        'is invalidated (changes null), copy the rows changed on the new side since the rollback by hand, or run ' +
        "RestoreData.', $.notReturned.slot, $.config.migrationId)",
    }),
    new sfn.Pass(scope, `${p}ReverseDrainFailed`, {
      parameters: {
        Error: ERRORS.ReverseDrainFailedError,
        'Cause.$':
          "States.Format('the new side writes were not all returned to the old side ({}: {}); traffic is on " +
          "old, the reverse capture is kept', $.drainError.Error, $.drainError.Cause)",
      },
      resultPath: '$.error',
    }),
    props.onFailed,
  );
  pending.next(notifyFailed);
  pending.addCatch(
    new sfn.Pass(scope, `${p}NotReturnedUnknown`, {
      result: sfn.Result.fromObject({ slot: 'unknown', exists: null, changes: null }),
      resultPath: '$.notReturned',
    }).next(notifyFailed),
    { resultPath: '$.pendingError' },
  );
  const failed = pending;
  for (const t of [drain, late]) t.addCatch(failed, { resultPath: '$.drainError' });
  const stillWriting = new sfn.Pass(scope, `${p}NewSideStillWriting`, {
    parameters: {
      Error: ERRORS.ReverseDrainFailedError,
      'Cause.$': "States.Format('the new side still took writes after {} quiet windows', $.returned.rounds)",
    },
    resultPath: '$.drainError',
  }).next(failed);
  cleanup.addCatch(end, { resultPath: '$.cleanupError' });
  chain(
    settle,
    drain,
    orElseContinue(
      new sfn.Choice(scope, `${p}ReverseDrained?`).when(
        sfn.Condition.booleanEquals('$.reverseDrain.done', false),
        drain,
      ),
    ),
    initQuiet,
    quiet,
    late,
    orElseContinue(
      new sfn.Choice(scope, `${p}Quiet?`)
        .when(sfn.Condition.booleanEquals('$.lateDrain.done', false), late)
        .when(
          sfn.Condition.and(
            sfn.Condition.numberGreaterThan('$.lateDrain.changes', 0),
            sfn.Condition.numberGreaterThanEquals('$.returned.rounds', ROLLBACK.maxQuietRounds - 1),
          ),
          stillWriting,
        )
        .when(sfn.Condition.numberGreaterThan('$.lateDrain.changes', 0), countLate.next(quiet)),
    ),
    cleanup,
    end,
  );
  return { start: settle, end };
}

/** Drop the sync objects of the given directions; `fenced`: only while this execution owns the stage (Migrate). */
export function dropCaptures(
  scope: Construct,
  ctx: WorkflowContext,
  id: string,
  directions: readonly ('forward' | 'reverse')[],
  fenced = false,
): sfn.TaskStateBase {
  return phaseTask(scope, ctx, id, PHASE.sync, {
    payload: {
      action: 'cleanup',
      directions,
      'migrationId.$': '$.config.migrationId',
      ...(fenced ? EXECUTION : {}),
    },
    resultPath: '$.syncCleanup',
  });
}

/** Drop the captures on the way to `then`, whatever happens: a failure is recorded in `$.cleanupError` and the path goes on. */
export function dropCapturesThen(
  scope: Construct,
  ctx: WorkflowContext,
  id: string,
  directions: readonly ('forward' | 'reverse')[],
  then: sfn.IChainable & { readonly id?: string },
  fenced = false,
): sfn.Chain {
  const drop = dropCaptures(scope, ctx, id, directions, fenced);
  drop.addCatch(then, { resultPath: '$.cleanupError' });
  return chain(drop, then);
}

export interface TrafficRollbackProps {
  /** Where the rollback goes when it fails even after its retries (error in `$.rollbackError`). */
  readonly onRollbackFailed: sfn.IChainable;
  /** Where a stale execution goes (StaleExecutionError in `$.error`): another execution owns the stage. */
  readonly onStale: sfn.IChainable;
}

/**
 * After traffic moved: weights back to 100 % old first (retried, the manifest's `always`
 * class), notify `rolled-back`, release the lock, then fail with the original error kept in `$.error`.
 */
export function trafficRollback(
  scope: Construct,
  ctx: WorkflowContext,
  props: TrafficRollbackProps,
): sfn.TaskStateBase {
  // Fenced: refused (StaleExecutionError) when another execution holds the stage; its traffic is not ours.
  const rollback = phaseTask(scope, ctx, 'RollbackTrafficOnFailure', PHASE.rollbackTraffic, {
    payload: { 'migrationId.$': '$.config.migrationId', ...EXECUTION },
    resultPath: '$.rollback',
  });
  rollback.addCatch(props.onStale, { errors: [ERRORS.StaleExecutionError], resultPath: '$.error' });
  rollback.addCatch(props.onRollbackFailed, { resultPath: '$.rollbackError' });
  const returned = drainReverse(scope, ctx, {
    prefix: 'Rollback',
    onFailed: releaseLockThen(
      scope,
      ctx,
      'ReleaseLockAfterDrainFailed',
      'migrate',
      failWithCaught(scope, 'RolledBackWritesNotReturned'),
    ),
  });
  // An operator's RollbackTraffic may have halted this migration (its traffic move is often what made
  // the gate fail): that execution returns the new side's writes and drops the captures, so this
  // one must not drain beside it. Halted: notify and end as halted. Any other answer: drain.
  const haltCheck = phaseTask(scope, ctx, 'CheckHaltBeforeDrain', PHASE.lock, {
    payload: { action: 'check', 'migrationId.$': '$.config.migrationId', ...EXECUTION },
    resultPath: '$.lock',
  });
  haltCheck.addCatch(
    chain(
      notify(scope, ctx, 'NotifyHaltedDuringRollback', 'halted', {
        'error.$': '$.error.Error',
        'cause.$': '$.error.Cause',
      }),
      releaseLockThen(scope, ctx, 'ReleaseLockAfterHalt', 'migrate', failWithCaught(scope, 'HaltedDuringRollback')),
    ),
    { errors: [ERRORS.MigrationHaltedError], resultPath: '$.error' },
  );
  haltCheck.addCatch(returned.start, { resultPath: '$.haltCheckError' });
  chain(
    rollback,
    notify(scope, ctx, 'NotifyRollback', 'rolled-back', {
      'error.$': '$.error.Error',
      'rollbackMs.$': '$.rollback.elapsedMs',
    }),
    haltCheck,
    returned.start,
  );
  chain(
    returned.end,
    notify(scope, ctx, 'NotifyWritesReturned', 'new-side-writes-returned', { 'changes.$': '$.reverseDrain.changes' }),
    releaseLockThen(scope, ctx, 'ReleaseLockAfterRollback', 'migrate', failWithCaught(scope, 'RolledBack')),
  );
  return rollback;
}
