/**
 * RollbackTraffic, the operator's state machine: input { migrationId }. Checks the input, sets
 * the halt flag on the stage lock (a running Migrate stops before its next weight change), then
 * weights to 100 % old in one call, verified by read-back, the time taken in the notification.
 */
import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ERRORS } from '../../../lambda/core/errors';
import { PHASE } from '../../../lambda/phases';
import {
  chain,
  drainReverse,
  failWithCaught,
  notify,
  orElseContinue,
  phaseTask,
  type WorkflowContext,
} from './fragments';

const ID = { 'migrationId.$': '$.config.migrationId' };

export function rollbackTrafficDefinition(scope: Construct, ctx: WorkflowContext): sfn.IChainable {
  // Malformed input ({}, a number, ...): a named error and a notification, nothing touched.
  const invalidInput = chain(
    new sfn.Pass(scope, 'InvalidRollbackInput', {
      parameters: {
        Error: ERRORS.InvalidInputError,
        Cause: 'RollbackTraffic input must be {"migrationId": "<migration id>"} with the migration id as a string',
      },
      resultPath: '$.error',
    }),
    notify(
      scope,
      ctx,
      'NotifyInvalidRollbackInput',
      'rollback-failed',
      { 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' },
      null,
    ),
    failWithCaught(scope, 'RollbackInputRejected'),
  );
  const onError = chain(
    notify(scope, ctx, 'NotifyRollbackFailed', 'rollback-failed', {
      'error.$': '$.error.Error',
      'cause.$': '$.error.Cause',
    }),
    failWithCaught(scope, 'RollbackFailed'),
  );
  // The halt flag must not stand in the way of moving traffic: a failed halt is notified and the rollback goes on.
  const haltFailed = notify(scope, ctx, 'NotifyHaltFailed', 'halt-failed', {
    'error.$': '$.haltError.Error',
    'cause.$': '$.haltError.Cause',
  });
  const halt = phaseTask(scope, ctx, 'HaltMigration', PHASE.lock, {
    payload: { action: 'halt', ...ID, 'executionId.$': '$$.Execution.Id' },
    resultPath: '$.halt',
  });
  halt.addCatch(haltFailed, { resultPath: '$.haltError' });
  const rollback = phaseTask(scope, ctx, 'RollbackTraffic', PHASE.rollbackTraffic, {
    payload: ID,
    resultPath: '$.rollback',
  }).addCatch(onError, { resultPath: '$.error' });
  haltFailed.next(rollback);

  // Traffic is on old within the 5-minute budget; then the new side's writes are returned to the old database.
  const returned = drainReverse(scope, ctx, { prefix: '', ifCaptured: true });
  chain(
    returned.end,
    notify(scope, ctx, 'NotifyWritesReturned', 'new-side-writes-returned', { 'changes.$': '$.reverseDrain.changes' }),
    new sfn.Succeed(scope, 'TrafficOnOld'),
  );

  return chain(
    orElseContinue(
      new sfn.Choice(scope, 'ValidRollbackInput?').when(
        sfn.Condition.not(
          sfn.Condition.and(sfn.Condition.isPresent('$.migrationId'), sfn.Condition.isString('$.migrationId')),
        ),
        invalidInput,
      ),
    ),
    new sfn.Pass(scope, 'RollbackInput', { parameters: { 'migrationId.$': '$.migrationId' }, resultPath: '$.config' }),
    halt,
    rollback,
    notify(scope, ctx, 'NotifyRolledBack', 'traffic-rolled-back', {
      'rollbackMs.$': '$.rollback.elapsedMs',
      'weights.$': '$.rollback.weights',
    }),
    returned.start,
  );
}

/** Whole-execution timeout of RollbackTraffic: traffic is back within 5 minutes; draining the new side's writes may take longer. */
export const ROLLBACK_TRAFFIC_TIMEOUT = Duration.hours(2);
