/**
 * RestoreData: input { migrationId, snapshotId, applied? }. Restore the pre-migration snapshot
 * into a new instance, wait until available, repoint the old side's database secret, restore
 * the previous config versions (when `applied` from the Migrate execution's TransferConfig is
 * given), notify. Holds the stage lock throughout (a running Migrate refuses it: MigrationLockedError),
 * released on every terminal path. A failed state ends the execution at once.
 */
import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { RESTORE_WAIT } from '../../../lambda/core/backup/restore';
import { ERRORS } from '../../../lambda/core/errors';
import { PHASE } from '../../../lambda/phases';
import {
  chain,
  dropCapturesThen,
  failWithCaught,
  notify,
  phaseTask,
  pollLoop,
  releaseLockThen,
  type WorkflowContext,
} from './fragments';

export interface RestoreDataDefinitionProps {
  /** Polls of the restored instance's status (30 s apart) before giving up. */
  readonly maxRestorePolls: number;
}

const ID = { 'migrationId.$': '$.config.migrationId' };

export function restoreDataDefinition(
  scope: Construct,
  ctx: WorkflowContext,
  props: RestoreDataDefinitionProps,
): sfn.IChainable {
  const onError = chain(
    notify(scope, ctx, 'NotifyRestoreFailed', 'restore-failed', {
      'error.$': '$.error.Error',
      'cause.$': '$.error.Cause',
    }),
    releaseLockThen(scope, ctx, 'ReleaseLockOnFailure', 'restore-data', failWithCaught(scope, 'RestoreFailed')),
  );
  const task = (
    id: string,
    payload: Record<string, unknown>,
    resultPath: string,
    phase: typeof PHASE.restoreData | typeof PHASE.transferConfig | typeof PHASE.lock = PHASE.restoreData,
  ) => phaseTask(scope, ctx, id, phase, { payload, resultPath }).addCatch(onError, { resultPath: '$.error' });
  const done = chain(
    notify(scope, ctx, 'NotifyRestored', 'data-restored'),
    releaseLockThen(scope, ctx, 'ReleaseLock', 'restore-data', new sfn.Succeed(scope, 'DataRestored')),
  );

  return chain(
    new sfn.Pass(scope, 'RestoreInput', {
      parameters: { 'migrationId.$': '$.migrationId', 'snapshotId.$': '$.snapshotId' },
      resultPath: '$.config',
    }),
    task(
      'AcquireLock',
      { action: 'acquire', workflow: 'restore-data', ...ID, 'executionId.$': '$$.Execution.Id' },
      '$.lock',
      PHASE.lock,
    ),
    // The data goes back to the snapshot: the migration's change captures go (a slot left behind holds WAL).
    dropCapturesThen(
      scope,
      ctx,
      'DropCaptures',
      ['forward', 'reverse'],
      pollLoop(scope, {
        names: {
          init: 'InitRestorePolls',
          wait: 'WaitForRestore',
          count: 'CountRestorePoll',
          choice: 'RestoreAvailable?',
          timedOut: 'RestoreTimedOut',
        },
        start: task('StartRestore', { ...ID, action: 'start', 'snapshotId.$': '$.config.snapshotId' }, '$.restore'),
        status: task('RestoreStatus', { ...ID, action: 'status' }, '$.restore'),
        ready: sfn.Condition.booleanEquals('$.restore.available', true),
        maxPolls: props.maxRestorePolls,
        timeoutError: ERRORS.RestoreNotReadyError,
        timeoutCause: "States.Format('the restored instance was not available after {} polls', $.polls.count)",
        onTimeout: onError,
      }),
    ),
    task('RepointOldDatabase', { ...ID, action: 'repoint' }, '$.restore'),
    new sfn.Choice(scope, 'HasConfigToRestore?')
      .when(
        sfn.Condition.isPresent('$.applied'),
        chain(
          task(
            'RestoreConfig',
            { ...ID, mode: 'rollback', 'applied.$': '$.applied' },
            '$.configRollback',
            PHASE.transferConfig,
          ),
          done,
        ),
      )
      .otherwise(done),
  );
}

/** Whole-execution timeout of RestoreData: the 1-hour budget (the wait loop itself is RESTORE_WAIT, under it). */
export const RESTORE_DATA_TIMEOUT = Duration.seconds(RESTORE_WAIT.budgetSeconds);
