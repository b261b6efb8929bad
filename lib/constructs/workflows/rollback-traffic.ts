/**
 * RollbackTraffic, the operator's state machine: input { migrationId }. Weights to 100 % old in
 * one call, verified by read-back, the time taken in the notification.
 */
import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { PHASE } from '../../../lambda/phases';
import { chain, failWithCaught, notify, phaseTask, type WorkflowContext } from './fragments';

export function rollbackTrafficDefinition(scope: Construct, ctx: WorkflowContext): sfn.IChainable {
  const onError = chain(notify(scope, ctx, 'NotifyRollbackFailed', 'rollback-failed', { 'error.$': '$.error.Error' }), failWithCaught(scope, 'RollbackFailed'));
  return chain(
    new sfn.Pass(scope, 'RollbackInput', { parameters: { 'migrationId.$': '$.migrationId' }, resultPath: '$.config' }),
    phaseTask(scope, ctx, 'RollbackTraffic', PHASE.rollbackTraffic, { payload: { 'migrationId.$': '$.config.migrationId' }, resultPath: '$.rollback' }).addCatch(onError, { resultPath: '$.error' }),
    notify(scope, ctx, 'NotifyRolledBack', 'traffic-rolled-back', { 'rollbackMs.$': '$.rollback.elapsedMs', 'weights.$': '$.rollback.weights' }),
    new sfn.Succeed(scope, 'TrafficOnOld'),
  );
}

/** Whole-execution timeout of RollbackTraffic (the budget is 5 minutes). */
export const ROLLBACK_TRAFFIC_TIMEOUT = Duration.minutes(10);
