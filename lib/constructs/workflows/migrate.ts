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
import { chain, failWithCaught, notify, orElseContinue, phaseTask, pollLoop, trafficRollback, type WorkflowContext } from './fragments';

export interface MigrateDefinitionProps {
  /** Polls of the snapshot status (30 s apart) before giving up. */
  readonly maxSnapshotPolls: number;
}

const ID = { 'migrationId.$': '$.config.migrationId' };

export function migrateDefinition(scope: Construct, ctx: WorkflowContext, props: MigrateDefinitionProps): sfn.IChainable {
  const task = (id: string, phase: PhaseName, resultPath: string, payload: Record<string, unknown> = ID) => phaseTask(scope, ctx, id, phase, { payload, resultPath });
  const note = (id: string, event: string, extra?: Record<string, unknown>) => notify(scope, ctx, id, event, extra);

  // ── Failure paths ────────────────────────────────────────────────────────────────────────
  // Before traffic moved: notify, then fail with the original error.
  const notifyFailure = chain(note('NotifyFailure', 'failed', { 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' }), failWithCaught(scope, 'MigrationFailed'));
  const failsBeforeTraffic = <T extends sfn.TaskStateBase | sfn.Map>(s: T): T => s.addCatch(notifyFailure, { resultPath: '$.error' }) as T;
  // After traffic moved: weights back to 100 % old first, notify, then fail with the original error.
  const rollback = trafficRollback(scope, ctx, { onRollbackFailed: notifyFailure });
  const failsAfterTraffic = <T extends sfn.TaskStateBase>(s: T): T => s.addCatch(rollback, { resultPath: '$.error' }) as T;

  // ── 1. Start: validate the input (a malformed one fails here, nothing changed), announce, preflight ──
  const start = chain(
    phaseTask(scope, ctx, 'ValidateInput', PHASE.validateInput, { resultPath: '$.config' }), // the whole execution input
    note('NotifyStart', 'started'),
    failsBeforeTraffic(task('Preflight', PHASE.preflight, '$.preflight')),
    orElseContinue(
      new sfn.Choice(scope, 'DryRun?').when(sfn.Condition.booleanEquals('$.config.dryRun', true), chain(note('NotifyGateGo', 'gate-go'), new sfn.Succeed(scope, 'GateDryRunGo'))),
    ),
  );

  // ── 2. Backup: a manual snapshot of the old database, polled until available ─────────────
  const backup = pollLoop(scope, {
    names: { init: 'InitSnapshotPolls', wait: 'WaitForSnapshot', count: 'CountSnapshotPoll', choice: 'SnapshotReady?', timedOut: 'SnapshotTimedOut' },
    start: failsBeforeTraffic(task('Backup', PHASE.backup, '$.backup')),
    status: failsBeforeTraffic(task('BackupStatus', PHASE.backupStatus, '$.backup', { ...ID, 'snapshotId.$': '$.backup.snapshotId' })),
    ready: sfn.Condition.stringEquals('$.backup.status', 'available'),
    maxPolls: props.maxSnapshotPolls,
    timeoutError: ERRORS.SnapshotTimeoutError,
    timeoutCause: "States.Format('snapshot {} was not available after {} polls', $.backup.snapshotId, $.polls.count)",
    onTimeout: notifyFailure,
  });

  // ── 3. Before traffic: config, target schema, copy, validate, catch up ───────────────────
  const copyTable = phaseTask(scope, ctx, 'CopyTable', PHASE.copyData, {
    payload: { 'migrationId.$': '$.migrationId', 'table.$': '$.table', 'concurrency.$': '$.concurrency' },
    resultPath: '$.copy',
  });
  const copyTables = new sfn.Map(scope, 'CopyTables', {
    itemsPath: '$.config.tables',
    maxConcurrency: 1, // tables in spec order (parents before children); chunks run in parallel inside each table
    itemSelector: { 'table.$': '$$.Map.Item.Value', 'migrationId.$': '$.config.migrationId', 'concurrency.$': '$.config.copyConcurrency' },
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(
    chain(copyTable, new sfn.Choice(scope, 'TableCopied?').when(sfn.Condition.booleanEquals('$.copy.complete', true), new sfn.Succeed(scope, 'TableDone')).otherwise(copyTable)),
  );
  const catchUp = failsBeforeTraffic(task('CatchUp', PHASE.catchUp, '$.sync', { ...ID, 'watermarks.$': '$.sync.watermarks' }));
  const beforeTraffic = chain(
    failsBeforeTraffic(task('TransferConfig', PHASE.transferConfig, '$.configTransfer', { ...ID, mode: 'apply' })),
    failsBeforeTraffic(task('PrepareTarget', PHASE.prepareTarget, '$.prepared')),
    failsBeforeTraffic(copyTables),
    failsBeforeTraffic(task('Validate', PHASE.validateData, '$.validation')),
    new sfn.Pass(scope, 'InitCatchUp', { parameters: { 'watermarks.$': '$.prepared.watermarks' }, resultPath: '$.sync' }),
    catchUp,
    orElseContinue(new sfn.Choice(scope, 'LagOk?').when(sfn.Condition.not(sfn.Condition.numberLessThanEqualsJsonPath('$.sync.maxLagSeconds', '$.config.maxCatchUpLagSeconds')), catchUp)),
  );

  // ── 4. Traffic steps: one step of the schedule at a time (weights, bake, health gate, catch up) ──
  const nextStep = new sfn.Pass(scope, 'NextTrafficStep', {
    parameters: { 'index.$': '$.step.index', 'count.$': '$.step.count', 'newPercent.$': 'States.ArrayGetItem($.config.schedule, $.step.index)' },
    resultPath: '$.step',
  });
  const unhealthy = chain(new sfn.Pass(scope, 'NewSideUnhealthy', { parameters: { Error: ERRORS.NewSideUnhealthy, 'Cause.$': '$.health.summary' }, resultPath: '$.error' }), rollback);
  const trafficSteps = chain(
    new sfn.Pass(scope, 'InitTrafficSteps', { parameters: { index: 0, 'count.$': 'States.ArrayLength($.config.schedule)' }, resultPath: '$.step' }),
    nextStep,
    failsAfterTraffic(task('SetWeights', PHASE.shiftTraffic, '$.shift', { ...ID, 'newPercent.$': '$.step.newPercent' })),
    note('NotifyStep', 'traffic-step', { 'weights.$': '$.shift.weights' }),
    new sfn.Wait(scope, 'Bake', { time: sfn.WaitTime.secondsPath('$.config.bakeSeconds') }),
    failsAfterTraffic(task('HealthGate', PHASE.healthGate, '$.health')),
    orElseContinue(new sfn.Choice(scope, 'Healthy?').when(sfn.Condition.not(sfn.Condition.booleanEquals('$.health.healthy', true)), unhealthy)),
    failsAfterTraffic(task('StepCatchUp', PHASE.catchUp, '$.sync', { ...ID, 'watermarks.$': '$.sync.watermarks' })),
    new sfn.Pass(scope, 'AdvanceTrafficStep', { parameters: { 'index.$': 'States.MathAdd($.step.index, 1)', 'count.$': '$.step.count' }, resultPath: '$.step' }),
    orElseContinue(new sfn.Choice(scope, 'MoreTrafficSteps?').when(sfn.Condition.numberLessThanJsonPath('$.step.index', '$.step.count'), nextStep)),
  );

  // ── 5. Finish: confirm 100 % new, record the end ─────────────────────────────────────────
  const finish = chain(
    failsAfterTraffic(task('Finalize', PHASE.finalize, '$.final')),
    note('NotifySuccess', 'completed'),
    new sfn.Succeed(scope, 'Migrated'),
  );

  return chain(start, backup, beforeTraffic, trafficSteps, finish);
}

/** Whole-execution timeout of Migrate. */
export const MIGRATE_TIMEOUT = Duration.days(2);
