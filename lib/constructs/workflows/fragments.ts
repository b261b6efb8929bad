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
import { PHASE, PHASES, type PhaseName, type RetryClass } from '../../../lambda/phases';
import type { PhaseFunction } from '../phase-function';

/** What every definition builder needs: the phase functions and the notification topic. */
export interface WorkflowContext {
  readonly functions: Readonly<Record<PhaseName, PhaseFunction>>;
  readonly topic: sns.ITopic;
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
    payload: { action: 'release', workflow, 'migrationId.$': '$.config.migrationId' },
    resultPath: '$.unlock',
  });
  release.addCatch(end, { errors: [sfn.Errors.ALL], resultPath: '$.unlockError' });
  return chain(release, end);
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

/**
 * After the weights moved to 100 % old, requests already inside the new app may still commit: the
 * reverse drain waits this long and drains again until a window brings nothing new (the ALB's
 * deregistration delay plays the same part for connections).
 */
export const ROLLBACK_SETTLE_SECONDS = 2;

export interface DrainReverseProps {
  /** State id prefix (ids must be unique in a state machine). */
  readonly prefix: string;
  /** The migration id in the state. @default $.config.migrationId */
  readonly migrationIdPath?: string;
  /** Skip (done) when no reverse capture exists: an operator's rollback before any traffic moved. @default false */
  readonly ifCaptured?: boolean;
}

/**
 * Once traffic is back on old: apply the new side's writes to the old database (the reverse sync,
 * drained to the new side's position at the start of each call, looped until done), then drop
 * both captures. A failed drain is notified (`reverse-drain-failed`, the new-side writes are still
 * in the slot) and the chain goes on: traffic stays on old either way.
 */
export function drainReverse(
  scope: Construct,
  ctx: WorkflowContext,
  props: DrainReverseProps,
): { start: sfn.IChainable; end: sfn.INextable & sfn.IChainable } {
  const id = { 'migrationId.$': props.migrationIdPath ?? '$.config.migrationId' };
  const drain = phaseTask(scope, ctx, `${props.prefix}DrainReverseSync`, PHASE.sync, {
    payload: {
      action: 'drain',
      direction: 'reverse',
      ifCaptured: props.ifCaptured ?? false,
      settleSeconds: ROLLBACK_SETTLE_SECONDS,
      ...id,
    },
    resultPath: '$.reverseDrain',
  });
  const cleanup = phaseTask(scope, ctx, `${props.prefix}DropCaptures`, PHASE.sync, {
    payload: { action: 'cleanup', directions: ['forward', 'reverse'], ...id },
    resultPath: '$.syncCleanup',
  });
  const end = new sfn.Pass(scope, `${props.prefix}SyncDone`);
  const failed = notify(scope, ctx, `${props.prefix}NotifyDrainFailed`, 'reverse-drain-failed', {
    'error.$': '$.drainError.Error',
    'cause.$': '$.drainError.Cause',
  });
  drain.addCatch(failed, { resultPath: '$.drainError' });
  // Keep the captures: the new side's writes are still in the reverse slot for the next drain.
  failed
    .next(
      new sfn.Pass(scope, `${props.prefix}DrainFailedResult`, {
        result: sfn.Result.fromObject({ done: false, failed: true, changes: 0 }),
        resultPath: '$.reverseDrain',
      }),
    )
    .next(end);
  cleanup.addCatch(end, { resultPath: '$.cleanupError' });
  chain(
    drain,
    orElseContinue(
      new sfn.Choice(scope, `${props.prefix}ReverseDrained?`).when(
        sfn.Condition.booleanEquals('$.reverseDrain.done', false),
        drain,
      ),
    ),
    cleanup,
    end,
  );
  return { start: drain, end };
}

/** Drop the sync objects of the given directions. */
export function dropCaptures(
  scope: Construct,
  ctx: WorkflowContext,
  id: string,
  directions: readonly ('forward' | 'reverse')[],
): sfn.TaskStateBase {
  return phaseTask(scope, ctx, id, PHASE.sync, {
    payload: { action: 'cleanup', directions, 'migrationId.$': '$.config.migrationId' },
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
): sfn.Chain {
  const drop = dropCaptures(scope, ctx, id, directions);
  drop.addCatch(then, { resultPath: '$.cleanupError' });
  return chain(drop, then);
}

export interface TrafficRollbackProps {
  /** Where the rollback goes when it fails even after its retries (error in `$.rollbackError`). */
  readonly onRollbackFailed: sfn.IChainable;
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
  const rollback = phaseTask(scope, ctx, 'RollbackTrafficOnFailure', PHASE.rollbackTraffic, {
    payload: { 'migrationId.$': '$.config.migrationId' },
    resultPath: '$.rollback',
  });
  rollback.addCatch(props.onRollbackFailed, { resultPath: '$.rollbackError' });
  const returned = drainReverse(scope, ctx, { prefix: 'Rollback' });
  // An operator's RollbackTraffic may have halted this migration (its traffic move is often what made
  // the gate fail): that execution returns the new side's writes and drops the captures, so this
  // one must not drain beside it. Halted: notify and end as halted. Any other answer: drain.
  const haltCheck = phaseTask(scope, ctx, 'CheckHaltBeforeDrain', PHASE.lock, {
    payload: { action: 'check', 'migrationId.$': '$.config.migrationId' },
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
