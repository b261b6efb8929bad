/**
 * Decommission (after the stability period): input { migrationId }. A final snapshot of the old
 * database (switchyard-<stage>-<migrationId>-final), then the old service scaled to zero.
 * Refused (DecommissionRefusedError, notified) unless the new side has served 100 % for the
 * stability period since Finalize and no migration holds the stage lock; holds the lock itself.
 */
import { Duration } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { ERRORS } from '../../../lambda/core/errors';
import { PHASE } from '../../../lambda/phases';
import {
  chain,
  dropCaptures,
  failWithCaught,
  notify,
  phaseTask,
  pollLoop,
  releaseLockThen,
  type WorkflowContext,
} from './fragments';

export interface DecommissionDefinitionProps {
  /** Polls of the final snapshot's status (30 s apart) before giving up. */
  readonly maxSnapshotPolls: number;
  /** How long the new side must have served 100 % (since Finalize), in seconds. @default - DEFAULT_STABILITY_SECONDS (24 h) */
  readonly stabilitySeconds?: number;
  /** The old side's service, scaled to zero. @default - none (imported old side: scale it down yourself) */
  readonly oldService?: ecs.FargateService;
}

export function decommissionDefinition(
  scope: Construct,
  ctx: WorkflowContext,
  props: DecommissionDefinitionProps,
): sfn.IChainable {
  const onError = chain(
    notify(scope, ctx, 'NotifyDecommissionFailed', 'decommission-failed', {
      'error.$': '$.error.Error',
      'cause.$': '$.error.Cause',
    }),
    releaseLockThen(scope, ctx, 'ReleaseLockOnFailure', 'decommission', failWithCaught(scope, 'DecommissionFailed')),
  );
  const id = { 'migrationId.$': '$.config.migrationId' };
  const lockTask = (name: string, payload: Record<string, unknown>) =>
    phaseTask(scope, ctx, name, PHASE.lock, { payload: { ...id, ...payload }, resultPath: '$.lock' }).addCatch(
      onError,
      { resultPath: '$.error' },
    );
  const finalId = { 'migrationId.$': '$.config.finalId' };
  const oldService = props.oldService;
  const scaleDown = oldService
    ? [
        new tasks.CallAwsService(scope, 'ScaleDownOldService', {
          service: 'ecs',
          action: 'updateService',
          parameters: { Cluster: oldService.cluster.clusterArn, Service: oldService.serviceName, DesiredCount: 0 },
          iamResources: [oldService.serviceArn],
          resultPath: sfn.JsonPath.DISCARD,
          taskTimeout: sfn.Timeout.duration(Duration.minutes(1)),
        }).addCatch(onError, { resultPath: '$.error' }),
      ]
    : [];

  return chain(
    new sfn.Pass(scope, 'DecommissionInput', {
      parameters: { 'migrationId.$': '$.migrationId', 'finalId.$': "States.Format('{}-final', $.migrationId)" },
      resultPath: '$.config',
    }),
    lockTask('GuardDecommission', {
      action: 'guardDecommission',
      ...(props.stabilitySeconds !== undefined ? { stabilitySeconds: props.stabilitySeconds } : {}),
    }),
    lockTask('AcquireLock', { action: 'acquire', workflow: 'decommission', 'executionId.$': '$$.Execution.Id' }),
    pollLoop(scope, {
      names: {
        init: 'InitFinalSnapshotPolls',
        wait: 'WaitForFinalSnapshot',
        count: 'CountFinalSnapshotPoll',
        choice: 'FinalSnapshotReady?',
        timedOut: 'FinalSnapshotTimedOut',
      },
      start: phaseTask(scope, ctx, 'FinalSnapshot', PHASE.backup, {
        payload: finalId,
        resultPath: '$.backup',
      }).addCatch(onError, { resultPath: '$.error' }),
      status: phaseTask(scope, ctx, 'FinalSnapshotStatus', PHASE.backupStatus, {
        payload: { ...finalId, 'snapshotId.$': '$.backup.snapshotId' },
        resultPath: '$.backup',
      }).addCatch(onError, {
        resultPath: '$.error',
      }),
      ready: sfn.Condition.stringEquals('$.backup.status', 'available'),
      maxPolls: props.maxSnapshotPolls,
      timeoutError: ERRORS.SnapshotTimeoutError,
      timeoutCause: "States.Format('snapshot {} was not available after {} polls', $.backup.snapshotId, $.polls.count)",
      onTimeout: onError,
    }),
    // The old side is kept current by the reverse capture until now; it goes before the old side does.
    dropCaptures(scope, ctx, 'DropReverseCapture', ['forward', 'reverse']).addCatch(onError, { resultPath: '$.error' }),
    ...scaleDown,
    notify(scope, ctx, 'NotifyDecommissioned', 'decommissioned', { 'snapshotId.$': '$.backup.snapshotId' }),
    releaseLockThen(scope, ctx, 'ReleaseLock', 'decommission', new sfn.Succeed(scope, 'Decommissioned')),
  );
}

/** Whole-execution timeout of Decommission. */
export const DECOMMISSION_TIMEOUT = Duration.hours(3);
