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
  DEFAULT_ROLLBACK_TIMING,
  drainReverse,
  EXECUTION,
  failWithCaught,
  notify,
  orElseContinue,
  phaseTask,
  type WorkflowContext,
} from './fragments';

const ID = { 'migrationId.$': '$.config.migrationId' };

export function rollbackTrafficDefinition(scope: Construct, ctx: WorkflowContext): sfn.IChainable {
  const timing = ctx.rollback ?? DEFAULT_ROLLBACK_TIMING;
  // Malformed input ({}, a number, ...): traffic still goes back (availability first), then a named error and a notification.
  const invalidInput = chain(
    phaseTask(scope, ctx, 'RollbackTrafficAnyway', PHASE.rollbackTraffic, {
      payload: {},
      resultPath: '$.rollback',
    }).addCatch(new sfn.Pass(scope, 'RollbackAnywayFailed', { resultPath: sfn.JsonPath.DISCARD }), {
      resultPath: '$.rollbackError',
    }),
    new sfn.Pass(scope, 'InvalidRollbackInput', {
      parameters: {
        Error: ERRORS.InvalidInputError,
        Cause:
          'RollbackTraffic input must be {"migrationId": "<migration id>"} with the migration id as a string: ' +
          'traffic was moved to 100 % old, the new side writes were not returned (run it again with the ' +
          'migration id)',
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
    payload: { action: 'halt', ...ID, ...EXECUTION },
    resultPath: '$.halt',
  });
  halt.addCatch(haltFailed, { resultPath: '$.haltError' });
  // Drain the reverse backlog before the weights move, bounded (availability first: on any error or when the time is up, move anyway).
  const moveTraffic = phaseTask(scope, ctx, 'RollbackTraffic', PHASE.rollbackTraffic, {
    payload: ID,
    resultPath: '$.rollback',
  }).addCatch(onError, { resultPath: '$.error' });
  const preDrain =
    timing.preDrainSeconds > 0
      ? phaseTask(scope, ctx, 'PreDrainReverseSync', PHASE.sync, {
          payload: {
            action: 'drain',
            direction: 'reverse',
            ifCaptured: true,
            maxSeconds: timing.preDrainSeconds,
            ...ID,
          },
          resultPath: '$.preDrain',
        }).addCatch(moveTraffic, { resultPath: '$.preDrainError' })
      : moveTraffic;
  // A mistyped or stale migration id: the migration that holds the stage is the one whose writes come back.
  const useHolder = orElseContinue(
    new sfn.Choice(scope, 'HolderIsAMigration?').when(
      sfn.Condition.and(
        sfn.Condition.isPresent('$.halt.holder.migrationId'),
        sfn.Condition.stringEquals('$.halt.holder.workflow', 'migrate'),
      ),
      new sfn.Pass(scope, 'UseHolderMigrationId', {
        parameters: { 'migrationId.$': '$.halt.holder.migrationId', 'requestedMigrationId.$': '$.config.migrationId' },
        resultPath: '$.config',
      }).next(preDrain),
    ),
  );
  haltFailed.next(preDrain);

  // Traffic is on old within the 5-minute budget; then the new side's writes are returned to the old database.
  const returned = drainReverse(scope, ctx, {
    prefix: '',
    ifCaptured: true,
    onFailed: failWithCaught(scope, 'WritesNotReturned'),
  });
  // A Migrate that ended outside its own terminal states (EventBridge): its lock is released once traffic is on old.
  const releaseEnded = orElseContinue(
    new sfn.Choice(scope, 'EndedExecutionHeldLock?').when(
      sfn.Condition.isPresent('$.claim.executionId'),
      phaseTask(scope, ctx, 'ReleaseEndedExecutionLock', PHASE.unlock, {
        payload: { action: 'release', workflow: 'migrate', ...ID, 'executionId.$': '$.claim.executionId' },
        resultPath: '$.unlock',
      })
        .addCatch(returned.start, { resultPath: '$.unlockError' })
        .next(returned.start),
    ),
  );
  chain(
    returned.end,
    notify(scope, ctx, 'NotifyWritesReturned', 'new-side-writes-returned', { 'changes.$': '$.reverseDrain.changes' }),
    new sfn.Succeed(scope, 'TrafficOnOld'),
  );

  // Started by the EventBridge rule on a Migrate that ended ABORTED, TIMED_OUT or FAILED.
  const claim = phaseTask(scope, ctx, 'ClaimEndedExecution', PHASE.lock, {
    payload: {
      action: 'claimEnded',
      'executionArn.$': '$.endedExecution.executionArn',
      'status.$': '$.endedExecution.status',
    },
    resultPath: '$.claim',
  });
  const ended = chain(
    claim,
    new sfn.Choice(scope, 'EndedOutsideItsCatch?')
      .when(
        sfn.Condition.booleanEquals('$.claim.claimed', true),
        new sfn.Pass(scope, 'EndedExecutionInput', {
          parameters: { 'migrationId.$': '$.claim.migrationId' },
          resultPath: '$.config',
        }).next(halt),
      )
      // It released the lock in its own terminal states (or another execution holds the stage): nothing to do.
      .otherwise(new sfn.Succeed(scope, 'NothingToCleanUp')),
  );

  return chain(
    orElseContinue(
      new sfn.Choice(scope, 'ValidRollbackInput?')
        .when(sfn.Condition.isPresent('$.endedExecution'), ended)
        .when(
          sfn.Condition.not(
            sfn.Condition.and(sfn.Condition.isPresent('$.migrationId'), sfn.Condition.isString('$.migrationId')),
          ),
          invalidInput,
        ),
    ),
    new sfn.Pass(scope, 'RollbackInput', { parameters: { 'migrationId.$': '$.migrationId' }, resultPath: '$.config' }),
    halt,
    useHolder,
    preDrain,
    ...(preDrain === moveTraffic ? [] : [moveTraffic]),
    notify(scope, ctx, 'NotifyRolledBack', 'traffic-rolled-back', {
      'rollbackMs.$': '$.rollback.elapsedMs',
      'weights.$': '$.rollback.weights',
    }),
    releaseEnded,
    returned.start,
  );
}

/** Whole-execution timeout of RollbackTraffic: traffic is back within 5 minutes; draining the new side's writes may take longer. */
export const ROLLBACK_TRAFFIC_TIMEOUT = Duration.hours(2);
