/**
 * Migrate: the whole move, old → new, in the order it runs. Failure paths come first (every
 * section's Catch targets them), then the sections: start, backup, before traffic, traffic
 * steps, finish. To add a state, insert it in its section's `chain(...)`.
 */
import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ERRORS } from '../../../lambda/core/errors';
import { PHASE, type PhaseName } from '../../../lambda/phases';
import { BAKE_SECONDS, MAX_BAKE_EXTENSIONS, PAUSE_SECONDS, SCHEDULE } from '../../../lambda/core/limits';
import { type CopyConfig, DEFAULT_COPY, type SyncConfig, type VerificationConfig } from '../../config/stage-config';
import {
  chain,
  dropCapturesThen,
  EXECUTION,
  failWithCaught,
  notify,
  orElseContinue,
  phaseStateTimeout,
  phaseTask,
  pollLoop,
  releaseLockThen,
  staleStop,
  trafficRollback,
  type WorkflowContext,
} from './fragments';
import { pauseStep } from './pause';

export interface MigrateDefinitionProps {
  /** Polls of the snapshot status (30 s apart) before giving up. */
  readonly maxSnapshotPolls: number;
  /** The stage's smoke checks and canary tolerances (put in the Smoke and HealthGate payloads). */
  readonly verification: Pick<VerificationConfig, 'smoke' | 'canary'>;
  /** The longest an operator pause (`pauseAt`) holds before the traffic rolls back. @default PAUSE_SECONDS.default */
  readonly maxPauseSeconds?: number;
  /** The stage (named in the `paused` notification's resume command). @default '<stage>' */
  readonly stageName?: string;
  /** How the chunk copy runs: an inline Map over the tables, or PlanCopy + a Distributed Map over chunk groups. @default DEFAULT_COPY (inline) */
  readonly copy?: CopyConfig;
  /**
   * Where the change sync runs: bounded Lambda runs, or (`ecs`) a long-running task started before the
   * catch-up, restarted for both directions once the reverse capture exists, observed by CatchUp and
   * the bake, and stopped by the Sync phase before any bounded run needs a slot. @default 'lambda'
   */
  readonly syncRunner?: SyncConfig['runner'];
}

const ID = { 'migrationId.$': '$.config.migrationId' };
/** The migration id and this execution's identity: the phases that write prove they still own the stage. */
const FENCED = { ...ID, ...EXECUTION };

export function migrateDefinition(
  scope: Construct,
  ctx: WorkflowContext,
  props: MigrateDefinitionProps,
): sfn.IChainable {
  const task = (id: string, phase: PhaseName, resultPath: string, payload: Record<string, unknown> = ID) =>
    phaseTask(scope, ctx, id, phase, { payload, resultPath });
  const note = (id: string, event: string, extra?: Record<string, unknown>) => notify(scope, ctx, id, event, extra);
  const copy = props.copy ?? DEFAULT_COPY;
  const ecsSync = props.syncRunner === 'ecs';

  // ── Failure paths ────────────────────────────────────────────────────────────────────────
  // Every terminal path notifies and releases the stage lock (only this migration's: a failed acquire frees nobody's).
  // Malformed input: notify (no migration id to name), fail; nothing was read or written, no lock taken.
  const inputRejected = chain(
    notify(
      scope,
      ctx,
      'NotifyInvalidInput',
      'failed',
      { 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' },
      null,
    ),
    failWithCaught(scope, 'InputRejected'),
  );
  // Before traffic moved: notify, release the lock, then fail with the original error.
  const releaseOnFailure = releaseLockThen(
    scope,
    ctx,
    'ReleaseLockOnFailure',
    'migrate',
    failWithCaught(scope, 'MigrationFailed'),
  );
  const notifyFailure = chain(
    note('NotifyFailure', 'failed', { 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' }),
    // No traffic moved: nothing to return; this execution's captures go (a slot left behind would hold
    // WAL on the old side). Only if it took them: a second execution with the same id, refused by the lock, touches nothing.
    new sfn.Choice(scope, 'CapturesTaken?')
      .when(
        sfn.Condition.isPresent('$.sync'),
        dropCapturesThen(scope, ctx, 'DropCapturesOnFailure', ['forward', 'reverse'], releaseOnFailure, true),
      )
      .otherwise(releaseOnFailure),
  );
  // A stale execution (lease ended, another execution took the stage) stops: no rollback, no cleanup, no release.
  const stale = staleStop(scope, ctx);
  const failsBeforeTraffic: FailsInto = (s) =>
    s
      .addCatch(stale, { errors: [ERRORS.StaleExecutionError], resultPath: '$.error' })
      .addCatch(notifyFailure, { resultPath: '$.error' }) as typeof s;
  // After traffic moved: weights back to 100 % old first, notify, then fail with the original error.
  const rollback = trafficRollback(scope, ctx, { onRollbackFailed: notifyFailure, onStale: stale });
  const failsAfterTraffic = <T extends sfn.TaskStateBase>(s: T): T =>
    s
      .addCatch(stale, { errors: [ERRORS.StaleExecutionError], resultPath: '$.error' })
      .addCatch(rollback, { resultPath: '$.error' }) as T;
  // An operator rollback (halt flag) while Migrate runs: traffic stays where the rollback put it; end as halted.
  const halted = chain(
    note('NotifyHalted', 'halted', { 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' }),
    // The operator's RollbackTraffic drains and drops the reverse capture; the forward one is no longer needed.
    dropCapturesThen(
      scope,
      ctx,
      'DropForwardCaptureOnHalt',
      ['forward'],
      releaseLockThen(scope, ctx, 'ReleaseLockOnHalt', 'migrate', failWithCaught(scope, 'MigrationHalted')),
    ),
  );
  // Renew the lease and stop if halted; before traffic moved, a halt or a lost lock is an ordinary failure.
  const lockCheck = (extra: Record<string, unknown> = {}) => ({
    action: 'check',
    ...FENCED,
    // The lease runs to this execution's own deadline: it never ends while the execution may still run.
    execution: { 'startTime.$': '$$.Execution.StartTime', timeoutSeconds: MIGRATE_TIMEOUT.toSeconds() },
    ...extra,
  });
  const renewLock = (id: string) => failsBeforeTraffic(task(id, PHASE.lock, '$.lock', lockCheck()));

  // ── 1. Start: validate the input (a malformed one fails here, nothing changed), announce, preflight ──
  const start = chain(
    phaseTask(scope, ctx, 'ValidateInput', PHASE.validateInput, { resultPath: '$.config' }).addCatch(inputRejected, {
      resultPath: '$.error',
    }), // the whole execution input
    note('NotifyStart', 'started'),
    // Takes the stage lock (a dry run only checks it is free): a second migration fails here with MigrationLockedError.
    // copyWorkers: how many copy workers hold copyConcurrency connection pairs at once (the connections check).
    failsBeforeTraffic(
      task('Preflight', PHASE.preflight, '$.preflight', {
        ...ID,
        'executionId.$': '$$.Execution.Id',
        'dryRun.$': '$.config.dryRun',
        'copyConcurrency.$': '$.config.copyConcurrency',
        copyWorkers: copy.mode === 'distributed' ? copy.maxConcurrency : 1,
      }),
    ),
    orElseContinue(
      new sfn.Choice(scope, 'DryRun?').when(
        sfn.Condition.booleanEquals('$.config.dryRun', true),
        chain(note('NotifyGateGo', 'gate-go'), new sfn.Succeed(scope, 'GateDryRunGo')),
      ),
    ),
  );

  // ── 2. Backup: a manual snapshot of the old database, polled until available ─────────────
  const backup = pollLoop(scope, {
    names: {
      init: 'InitSnapshotPolls',
      wait: 'WaitForSnapshot',
      count: 'CountSnapshotPoll',
      choice: 'SnapshotReady?',
      timedOut: 'SnapshotTimedOut',
    },
    start: failsBeforeTraffic(task('Backup', PHASE.backup, '$.backup')),
    status: failsBeforeTraffic(
      task('BackupStatus', PHASE.backupStatus, '$.backup', { ...ID, 'snapshotId.$': '$.backup.snapshotId' }),
    ),
    ready: sfn.Condition.stringEquals('$.backup.status', 'available'),
    maxPolls: props.maxSnapshotPolls,
    timeoutError: ERRORS.SnapshotTimeoutError,
    timeoutCause: "States.Format('snapshot {} was not available after {} polls', $.backup.snapshotId, $.polls.count)",
    onTimeout: notifyFailure,
  });

  // ── 3. Before traffic: config, target schema, copy, validate, catch up ───────────────────
  const copySection = copy.mode === 'distributed' ? distributedCopy(scope, ctx, copy) : inlineCopy(scope, ctx, copy);
  // Change capture: the forward slot exists before the copy, so every change the copy might miss is
  // replayed afterwards (upserts/deletes by key converge); the reverse slot on the new side exists
  // before the new side takes its first write.
  const syncTask = (id: string, payload: Record<string, unknown>) =>
    task(id, PHASE.sync, '$.sync', { ...FENCED, ...payload });
  // The catch-up loops until the lag is below maxCatchUpLagSeconds; after maxCatchUpMinutes (counted from the first call's start) it fails with SyncLagError.
  const catchUpLimits = {
    'maxLagSeconds.$': '$.config.maxCatchUpLagSeconds',
    'minutes.$': '$.config.maxCatchUpMinutes',
  };
  // sync.runner ecs: the task applies; CatchUp and the bake watch it (a task found stopped fails them).
  const observe = ecsSync ? { observe: { 'taskArn.$': '$.syncTask.taskArn' } } : {};
  const startSyncTask = (id: string, directions: string[], conflicts: boolean) =>
    failsBeforeTraffic(task(id, PHASE.sync, '$.syncTask', { ...FENCED, action: 'startTask', directions, conflicts }));
  const catchUp = failsBeforeTraffic(
    syncTask('CatchUp', { action: 'drain', direction: 'forward', catchUp: catchUpLimits, ...observe }),
  );
  const lagOk = new sfn.Choice(scope, 'LagOk?');
  const catchUpAgain = failsBeforeTraffic(
    syncTask('CatchUpAgain', {
      action: 'drain',
      direction: 'forward',
      catchUp: { ...catchUpLimits, 'startedAt.$': '$.sync.catchUpStartedAt' },
      ...observe,
    }),
  );
  catchUpAgain.next(lagOk);
  const beforeTraffic = chain(
    failsBeforeTraffic(task('TransferConfig', PHASE.transferConfig, '$.configTransfer', { ...ID, mode: 'apply' })),
    // Load first, index after: secondary indexes and non-key constraints are built after the copy.
    failsBeforeTraffic(task('PrepareTarget', PHASE.prepareTarget, '$.prepared', { ...ID, deferIndexes: true })),
    failsBeforeTraffic(syncTask('StartCapture', { action: 'capture', direction: 'forward' })),
    renewLock('RenewLockBeforeCopy'),
    ...copySection(failsBeforeTraffic),
    failsBeforeTraffic(task('BuildIndexes', PHASE.buildIndexes, '$.indexes', { ...ID, what: 'indexes' })),
    renewLock('RenewLockBeforeCatchUp'),
    // The catch-up applies the copy's backlog with conflicts off (the copy's own rows are no local writes).
    ...(ecsSync ? [startSyncTask('StartSyncTask', ['forward'], false)] : []),
    catchUp,
    orElseContinue(
      lagOk.when(
        sfn.Condition.or(
          sfn.Condition.booleanEquals('$.sync.done', false),
          sfn.Condition.not(
            sfn.Condition.numberLessThanEqualsJsonPath('$.sync.lagSeconds', '$.config.maxCatchUpLagSeconds'),
          ),
        ),
        catchUpAgain,
      ),
    ),
    // Foreign keys and unique constraints only now: writes during the copy break them until the sync caught up.
    failsBeforeTraffic(
      task('ValidateConstraints', PHASE.buildIndexes, '$.constraints', { ...ID, what: 'constraints' }),
    ),
    // Checksums while writes continue: differing keys are rechecked after the sync applied past the source position.
    failsBeforeTraffic(task('Validate', PHASE.validateData, '$.validation')),
    failsBeforeTraffic(task('Smoke', PHASE.smoke, '$.smoke', { ...ID, smoke: props.verification.smoke })),
    // (With a task: the capture stops it first; it restarts for both directions, conflicts on.)
    failsBeforeTraffic(syncTask('StartReverseCapture', { action: 'capture', direction: 'reverse' })),
    ...(ecsSync ? [startSyncTask('StartSyncTaskBothWays', ['forward', 'reverse'], true)] : []),
  );

  // ── 4. Traffic steps: one step of the schedule at a time (halt check, weights, bake, health gate, catch up) ──
  // CheckHalt runs before every weight change and before Finalize: it renews the lease (long enough
  // for the bake) and ends the execution as halted once an operator's RollbackTraffic set the flag.
  const checkHalt = task('CheckHalt', PHASE.lock, '$.lock', lockCheck({ 'bakeSeconds.$': '$.config.bakeSeconds' }))
    .addCatch(halted, { errors: [ERRORS.MigrationHaltedError], resultPath: '$.error' })
    .addCatch(stale, { errors: [ERRORS.StaleExecutionError], resultPath: '$.error' })
    .addCatch(rollback, { resultPath: '$.error' });
  const nextStep = new sfn.Pass(scope, 'NextTrafficStep', {
    parameters: {
      'index.$': '$.step.index',
      'count.$': '$.step.count',
      'newPercent.$': 'States.ArrayGetItem($.config.schedule, $.step.index)',
      extensions: 0,
      'windowSeconds.$': '$.config.bakeSeconds',
    },
    resultPath: '$.step',
  });
  const unhealthy = chain(
    new sfn.Pass(scope, 'NewSideUnhealthy', {
      parameters: { Error: ERRORS.NewSideUnhealthy, 'Cause.$': '$.health.summary' },
      resultPath: '$.error',
    }),
    rollback,
  );
  const trafficSteps = chain(
    new sfn.Pass(scope, 'InitTrafficSteps', {
      parameters: { index: 0, 'count.$': 'States.ArrayLength($.config.schedule)' },
      resultPath: '$.step',
    }),
    checkHalt,
    orElseContinue(
      new sfn.Choice(scope, 'MoreTrafficSteps?').when(
        sfn.Condition.numberLessThanJsonPath('$.step.index', '$.step.count'),
        nextStep,
      ),
    ),
  );
  // The bake is the sync: both directions apply for the bake time (looped when longer than one invocation).
  const bake = failsAfterTraffic(syncTask('Bake', { action: 'bake', 'seconds.$': '$.bakeLeft.seconds', ...observe }));
  const initBake = new sfn.Pass(scope, 'InitBake', {
    parameters: { 'seconds.$': '$.config.bakeSeconds' },
    resultPath: '$.bakeLeft',
  });
  // Too little traffic to compare, nothing wrong seen: bake once more (lease renewed, halt honoured), the window now spanning every bake of the step.
  const bakeLonger = chain(
    new sfn.Pass(scope, 'ExtendBake', {
      parameters: {
        'index.$': '$.step.index',
        'count.$': '$.step.count',
        'newPercent.$': '$.step.newPercent',
        'extensions.$': 'States.MathAdd($.step.extensions, 1)',
        'windowSeconds.$': 'States.MathAdd($.step.windowSeconds, $.config.bakeSeconds)',
      },
      resultPath: '$.step',
    }),
    task('RenewLockForLongerBake', PHASE.lock, '$.lock', lockCheck({ 'bakeSeconds.$': '$.config.bakeSeconds' }))
      .addCatch(halted, { errors: [ERRORS.MigrationHaltedError], resultPath: '$.error' })
      .addCatch(stale, { errors: [ERRORS.StaleExecutionError], resultPath: '$.error' })
      .addCatch(rollback, { resultPath: '$.error' }),
    initBake,
  );
  const notHealthy = new sfn.Choice(scope, 'MoreDataWouldDecide?')
    .when(
      sfn.Condition.and(
        sfn.Condition.booleanEquals('$.health.needsMoreData', true),
        sfn.Condition.numberLessThan('$.step.extensions', MAX_BAKE_EXTENSIONS),
      ),
      bakeLonger,
    )
    .otherwise(unhealthy);
  chain(
    nextStep,
    failsAfterTraffic(
      task('SetWeights', PHASE.shiftTraffic, '$.shift', {
        ...FENCED,
        'newPercent.$': '$.step.newPercent',
      }).addCatch(halted, { errors: [ERRORS.MigrationHaltedError], resultPath: '$.error' }),
    ),
    note('NotifyStep', 'traffic-step', { 'weights.$': '$.shift.weights' }),
    initBake,
    bake,
    new sfn.Pass(scope, 'CountBake', {
      parameters: { 'seconds.$': '$.sync.remainingSeconds' },
      resultPath: '$.bakeLeft',
    }),
    orElseContinue(
      new sfn.Choice(scope, 'BakeDone?').when(sfn.Condition.numberGreaterThan('$.bakeLeft.seconds', 0), bake),
    ),
    failsAfterTraffic(
      task('HealthGate', PHASE.healthGate, '$.health', {
        ...ID,
        'windowSeconds.$': '$.step.windowSeconds',
        canary: props.verification.canary,
      }),
    ),
    note('NotifyGate', 'health-gate', {
      'healthy.$': '$.health.healthy',
      'canary.$': '$.health.canary',
      'weights.$': '$.shift.weights',
    }),
    orElseContinue(
      new sfn.Choice(scope, 'Healthy?').when(
        sfn.Condition.not(sfn.Condition.booleanEquals('$.health.healthy', true)),
        notHealthy,
      ),
    ),
    // A step in `pauseAt` holds here for the operator (resume, abort, or the maximum → rollback).
    pauseStep(scope, ctx, { maxPauseSeconds: props.maxPauseSeconds, stageName: props.stageName, onEnded: rollback }),
    new sfn.Pass(scope, 'AdvanceTrafficStep', {
      parameters: { 'index.$': 'States.MathAdd($.step.index, 1)', 'count.$': '$.step.count' },
      resultPath: '$.step',
    }),
    checkHalt,
  );

  // ── 5. Finish: confirm 100 % new, record the end (Decommission's stability period counts from it), release ──
  // Drain old → new to the old side's current position, validate again, then finalize (a sync task is stopped first). The reverse
  // slot stays until Decommission (a rollback inside the stability period drains it).
  const finalDrain = failsAfterTraffic(
    syncTask('FinalDrain', { action: 'drain', direction: 'forward', conflicts: true }),
  );
  const finish = chain(
    finalDrain,
    orElseContinue(
      new sfn.Choice(scope, 'Drained?').when(sfn.Condition.booleanEquals('$.sync.done', false), finalDrain),
    ),
    failsAfterTraffic(task('FinalValidate', PHASE.validateData, '$.finalValidation')),
    failsAfterTraffic(task('Finalize', PHASE.finalize, '$.final', FENCED)),
    failsAfterTraffic(syncTask('DropForwardCapture', { action: 'cleanup', directions: ['forward'] })),
    note('NotifySuccess', 'completed'),
    releaseLockThen(scope, ctx, 'ReleaseLock', 'migrate', new sfn.Succeed(scope, 'Migrated')),
  );

  return chain(start, backup, beforeTraffic, trafficSteps, finish);
}

/** Where a state's failure goes: the Catch added where the state runs in its section. */
type FailsInto = <T extends sfn.TaskStateBase | sfn.Map | sfn.DistributedMap>(s: T) => T;
/** The copy states, in the order they run, given the section's failure path. */
type CopySection = (failsBeforeTraffic: FailsInto) => sfn.IChainable[];

/**
 * The default copy: `$.config.tables` cut into groups of `copy.tablesPerGroup` (spec order), an inline
 * Map over the groups, one group at a time. CopyTable copies a whole group in one invocation loop: its
 * tables at once on `copyConcurrency` connection pairs (the budget Preflight checks for one copy
 * worker), small tables several per transaction, foreign-key levels kept; it stops before its Lambda
 * times out and returns `complete: false`, and the next call resumes from the stored chunks (tables
 * already copied are skipped). Afterwards only the group count stays in the state.
 */
function inlineCopy(scope: Construct, ctx: WorkflowContext, copy: CopyConfig): CopySection {
  const groupTables = new sfn.Pass(scope, 'GroupTables', {
    parameters: {
      'groups.$': `States.ArrayPartition($.config.tables, ${copy.tablesPerGroup})`,
      tablesPerGroup: copy.tablesPerGroup,
    },
    resultPath: '$.copyGroups',
  });
  const copyTable = phaseTask(scope, ctx, 'CopyTable', PHASE.copyData, {
    payload: {
      'migrationId.$': '$.migrationId',
      'executionId.$': '$.executionId',
      'tables.$': '$.tables',
      'concurrency.$': '$.concurrency',
    },
    resultPath: '$.copy',
  });
  const copyTables = new sfn.Map(scope, 'CopyTables', {
    itemsPath: '$.copyGroups.groups',
    // One group at a time: each holds the whole connection budget; groups in spec order (parents first).
    maxConcurrency: 1,
    itemSelector: {
      'tables.$': '$$.Map.Item.Value',
      'migrationId.$': '$.config.migrationId',
      ...EXECUTION,
      'concurrency.$': '$.config.copyConcurrency',
    },
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(
    chain(
      copyTable,
      new sfn.Choice(scope, 'TableCopied?')
        .when(sfn.Condition.booleanEquals('$.copy.complete', true), new sfn.Succeed(scope, 'TableDone'))
        .otherwise(copyTable),
    ),
  );
  // The group list would otherwise ride along in every later state: keep the counts only.
  const groupsDone = new sfn.Pass(scope, 'CopyTablesDone', {
    parameters: {
      'groups.$': 'States.ArrayLength($.copyGroups.groups)',
      'tablesPerGroup.$': '$.copyGroups.tablesPerGroup',
    },
    resultPath: '$.copyGroups',
  });
  return (failsBeforeTraffic) => [groupTables, failsBeforeTraffic(copyTables), groupsDone];
}

/**
 * `copy.mode: distributed`: PlanCopy plans every table's chunks and returns chunk groups
 * (`$.copyPlan.items`, bounded); a Distributed Map runs one STANDARD child execution per group
 * (a group may loop on its cursor for longer than an Express execution lives), `maxConcurrency` at
 * once, no failure tolerated. Each child loops CopyChunkGroup until complete, retried like CopyTable
 * (the manifest's transient-db class); any failure fails the map into the before-traffic failure path.
 * Table order does not matter: PrepareTarget deferred the foreign keys, ValidateConstraints restores them after the catch-up.
 */
function distributedCopy(scope: Construct, ctx: WorkflowContext, copy: CopyConfig): CopySection {
  const plan = phaseTask(scope, ctx, 'PlanCopy', PHASE.copyData, {
    payload: { action: 'plan', 'migrationId.$': '$.config.migrationId', chunksPerItem: copy.chunksPerItem },
    resultPath: '$.copyPlan',
  });
  const copyGroup = phaseTask(scope, ctx, 'CopyChunkGroup', PHASE.copyData, {
    payload: {
      'migrationId.$': '$.migrationId',
      'executionId.$': '$.executionId',
      'table.$': '$.table',
      'concurrency.$': '$.concurrency',
      chunkNos: { 'from.$': '$.from', 'to.$': '$.to' },
    },
    resultPath: '$.copy',
  });
  // A child's output is collected into the map's result: keep it empty, so 1,000 of them stay small.
  const groupDone = new sfn.Pass(scope, 'ChunkGroupDone', { result: sfn.Result.fromObject({}) });
  const copyGroups = new sfn.DistributedMap(scope, 'CopyChunkGroups', {
    itemsPath: '$.copyPlan.items',
    itemSelector: {
      'table.$': '$$.Map.Item.Value.table',
      'from.$': '$$.Map.Item.Value.from',
      'to.$': '$$.Map.Item.Value.to',
      'migrationId.$': '$.config.migrationId',
      // The parent's execution (a child execution has its own id): the copy proves the parent owns the stage.
      ...EXECUTION,
      'concurrency.$': '$.config.copyConcurrency',
    },
    maxConcurrency: copy.maxConcurrency,
    mapExecutionType: sfn.StateMachineType.STANDARD,
    toleratedFailureCount: 0, // the default (CDK renders nothing): one failed group fails the map
    label: 'CopyChunkGroups',
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(
    chain(
      copyGroup,
      new sfn.Choice(scope, 'ChunkGroupCopied?')
        .when(sfn.Condition.booleanEquals('$.copy.complete', true), groupDone)
        .otherwise(copyGroup),
    ),
  );
  // The item list would otherwise ride along in every later state: keep the counts only.
  const forgetItems = new sfn.Pass(scope, 'CopyPlanDone', {
    parameters: {
      'tables.$': '$.copyPlan.tables',
      'chunks.$': '$.copyPlan.chunks',
      'chunksPerItem.$': '$.copyPlan.chunksPerItem',
      'items.$': 'States.ArrayLength($.copyPlan.items)',
    },
    resultPath: '$.copyPlan',
  });
  return (failsBeforeTraffic) => [failsBeforeTraffic(plan), failsBeforeTraffic(copyGroups), forgetItems];
}

/**
 * The time budget of Migrate (docs/workflows.md). Every task has a state timeout (its Lambda
 * timeout + a margin), so a hung step fails into its Catch (after traffic moved: the traffic
 * rollback) long before the execution timeout, which cannot be caught and would leave the
 * weights where they were. The execution timeout is the sum of the budgets, so it is never
 * the one that fires first.
 */
const stateBudget = (phase: PhaseName, attempts = 1) => phaseStateTimeout(phase).toSeconds() * attempts;
/** Before traffic: snapshot (240 polls of 30 s), copy/validate/catch-up of a large database. */
export const PRE_TRAFFIC_BUDGET = Duration.days(3);
/**
 * One traffic step at the largest bake: halt check, weights, notify, then up to 1 + MAX_BAKE_EXTENSIONS times
 * lease renewal, bake, gate, a sync invocation (3 attempts); then the longest operator pause and its notifications.
 */
export const STEP_BUDGET = Duration.seconds(
  stateBudget(PHASE.lock) +
    stateBudget(PHASE.shiftTraffic) +
    30 +
    PAUSE_SECONDS.max +
    2 * 30 +
    (1 + MAX_BAKE_EXTENSIONS) *
      (stateBudget(PHASE.lock) + BAKE_SECONDS.max + stateBudget(PHASE.healthGate) + stateBudget(PHASE.sync, 3)),
);
/** Finalize, the traffic rollback (4 attempts), notifications and the lock release. */
export const FINISH_BUDGET = Duration.seconds(
  stateBudget(PHASE.finalize) + stateBudget(PHASE.rollbackTraffic, 4) + stateBudget(PHASE.unlock, 4) + 3 * 30,
);
/** Whole-execution timeout of Migrate: larger than the sum of the state budgets above. */
export const MIGRATE_TIMEOUT = Duration.seconds(
  PRE_TRAFFIC_BUDGET.toSeconds() + SCHEDULE.maxSteps * STEP_BUDGET.toSeconds() + FINISH_BUDGET.toSeconds() + 3600,
);
