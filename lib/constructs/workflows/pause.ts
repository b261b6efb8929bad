/**
 * The operator pause of a Migrate traffic step (docs/workflows.md, "Pause, resume, abort"): after
 * the step's health gate passed, a step listed in `$.config.pauseAt` notifies `paused` with the
 * step's figures and holds in a `.waitForTaskToken` task (the Pause phase records the token). The
 * operator's resume (SendTaskSuccess) carries on with the next step; an abort (SendTaskFailure,
 * MigrationAbortedError) or the pause's maximum (States.Timeout) goes to the traffic rollback.
 */
import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { PAUSE_SECONDS } from '../../../lambda/core/limits';
import { chain, EXECUTION, notify, type WorkflowContext } from './fragments';

export interface PauseStepProps {
  /** The longest a step holds before the traffic rolls back. @default PAUSE_SECONDS.default */
  readonly maxPauseSeconds?: number;
  /** The stage, named in the notification's resume command. @default '<stage>' */
  readonly stageName?: string;
  /** Where an abort or an expired pause goes (error in `$.error`): the traffic rollback. */
  readonly onEnded: sfn.IChainable;
}

/** The seconds a pause holds at most, checked against the one limit (lambda/core/limits.ts). */
export function maxPauseSecondsOf(value: number | undefined): number {
  const s = value ?? PAUSE_SECONDS.default;
  if (!Number.isInteger(s) || s < PAUSE_SECONDS.min || s > PAUSE_SECONDS.max)
    throw new Error(
      `maxPauseSeconds must be a whole number between ${PAUSE_SECONDS.min} and ${PAUSE_SECONDS.max}, got: ${s}`,
    );
  return s;
}

/** `PauseAtThisStep?` → `Paused?` → (NotifyPaused → PauseAtStep → NotifyResumed) or straight on; both continue with the next `.next()`. */
export function pauseStep(scope: Construct, ctx: WorkflowContext, props: PauseStepProps): sfn.Chain {
  const maxPauseSeconds = maxPauseSecondsOf(props.maxPauseSeconds);
  const hold = new tasks.LambdaInvoke(scope, 'PauseAtStep', {
    lambdaFunction: ctx.functions.pause,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      taskToken: sfn.JsonPath.taskToken,
      'migrationId.$': '$.config.migrationId',
      ...EXECUTION,
      'weight.$': '$.step.newPercent',
      'healthy.$': '$.health.healthy',
      'summary.$': '$.health.summary',
      maxPauseSeconds,
    }),
    resultPath: '$.pause',
    // The pause's maximum: then States.Timeout, caught into the traffic rollback.
    taskTimeout: sfn.Timeout.duration(Duration.seconds(maxPauseSeconds)),
  });
  hold.addCatch(props.onEnded, { resultPath: '$.error' });
  const held = chain(
    notify(scope, ctx, 'NotifyPaused', 'paused', {
      'weight.$': '$.step.newPercent',
      'healthy.$': '$.health.healthy',
      'summary.$': '$.health.summary',
      'canary.$': '$.health.canary',
      maxPauseSeconds,
      'resume.$':
        `States.Format('switchyard resume --stage ${props.stageName ?? '<stage>'} --migration-id {} (or abort; ` +
        `after ${maxPauseSeconds} s the traffic rolls back)', $.config.migrationId)`,
    }),
    hold,
    notify(scope, ctx, 'NotifyResumed', 'resumed', { 'weight.$': '$.step.newPercent', 'by.$': '$.pause.by' }),
  );
  const here = new sfn.Pass(scope, 'PauseAtThisStep?', {
    parameters: { 'here.$': 'States.ArrayContains($.config.pauseAt, $.step.newPercent)' },
    resultPath: '$.pauseHere',
  });
  const decide = new sfn.Choice(scope, 'Paused?').when(sfn.Condition.booleanEquals('$.pauseHere.here', true), held);
  // Both ends (resumed, or not paused here) continue with whatever is chained next.
  return chain(here, decide.afterwards({ includeOtherwise: true }));
}
