/**
 * KeepOldCurrent: after Finalize and until Decommission, the reverse sync keeps the old database
 * current on a schedule, so a rollback inside the stability period has little to return. Each run:
 * read what Finalize recorded, drain the reverse sync of that migration (bounded; nothing to do once
 * Decommission or a rollback dropped the capture). Started by an EventBridge schedule.
 */
import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { PHASE } from '../../../lambda/phases';
import { chain, phaseTask, type WorkflowContext } from './fragments';

/** How often the old side is brought up to date after Finalize. */
export const KEEP_OLD_CURRENT_EVERY = Duration.minutes(5);
/** One run drains for at most this long (the next run continues). */
const DRAIN_SECONDS = 240;

export function keepOldCurrentDefinition(scope: Construct, ctx: WorkflowContext): sfn.IChainable {
  const completion = phaseTask(scope, ctx, 'ReadCompletion', PHASE.lock, {
    payload: { action: 'completion' },
    resultPath: '$.completion',
  });
  const drain = phaseTask(scope, ctx, 'DrainReverseAfterFinalize', PHASE.sync, {
    payload: {
      action: 'drain',
      direction: 'reverse',
      ifCaptured: true,
      maxSeconds: DRAIN_SECONDS,
      'migrationId.$': '$.completion.migrationId',
    },
    resultPath: '$.reverseDrain',
  });
  return chain(
    completion,
    new sfn.Choice(scope, 'FinishedMigration?')
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.completion.migrationId'),
          sfn.Condition.isString('$.completion.migrationId'),
        ),
        chain(drain, new sfn.Succeed(scope, 'OldSideCurrent')),
      )
      .otherwise(new sfn.Succeed(scope, 'NoFinishedMigration')),
  );
}

/** Whole-execution timeout of one KeepOldCurrent run: one bounded drain and its retries. */
export const KEEP_OLD_CURRENT_TIMEOUT = Duration.minutes(30);
