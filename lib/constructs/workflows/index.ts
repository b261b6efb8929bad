import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  type CopyConfig,
  DEFAULT_COPY,
  type SyncConfig,
  DEFAULT_VERIFICATION,
  type VerificationConfig,
} from '../../config/stage-config';
import type { PhaseFunction, PhaseName } from '../phase-function';
import { acknowledgeWildcards } from '../wildcard-acks';
import { RESTORE_WAIT } from '../../../lambda/core/backup/restore';
import { DECOMMISSION_TIMEOUT, decommissionDefinition } from './decommission';
import { KEEP_OLD_CURRENT_EVERY, KEEP_OLD_CURRENT_TIMEOUT, keepOldCurrentDefinition } from './keep-old-current';
import type { RollbackTiming, WorkflowContext } from './fragments';
import { MIGRATE_TIMEOUT, migrateDefinition } from './migrate';
import { RESTORE_DATA_TIMEOUT, restoreDataDefinition } from './restore-data';
import { ROLLBACK_TRAFFIC_TIMEOUT, rollbackTrafficDefinition } from './rollback-traffic';

export interface MigrationWorkflowsProps {
  readonly stageName: string;
  readonly functions: Readonly<Record<PhaseName, PhaseFunction>>;
  /** Subscribe this address to the notifications. @default - no subscription */
  readonly notificationEmail?: string;
  /** Polls of a snapshot's status (30 s apart) before giving up, in Migrate and Decommission. @default 240 (2 hours) */
  readonly maxSnapshotPolls?: number;
  /** Polls of a restored instance's status (30 s apart) before giving up. @default RESTORE_WAIT.maxPolls (inside the 1-hour restore budget) */
  readonly maxRestorePolls?: number;
  /** @default RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** The old side's service, scaled to zero by Decommission. @default - none (imported old side: scale it down yourself) */
  readonly oldService?: ecs.FargateService;
  /** The stage's smoke checks and canary tolerances. @default - the stage config's defaults (no smoke checks, default tolerances) */
  readonly verification?: Pick<VerificationConfig, 'smoke' | 'canary'>;
  /** How Migrate runs the chunk copy: inline Map, or PlanCopy + Distributed Map (docs/workflows.md). @default DEFAULT_COPY (inline) */
  readonly copy?: CopyConfig;
  /** The longest an operator pause holds before Migrate rolls the traffic back. @default PAUSE_SECONDS.default (lambda/core/limits.ts) */
  readonly maxPauseSeconds?: number;
  /** The traffic rollback's drain timing (pre-drain, settle window, quiet period). @default DEFAULT_ROLLBACK_TIMING */
  readonly rollback?: RollbackTiming;
  /** Where Migrate runs the change sync: bounded Lambda runs, or a long-running ECS task. @default 'lambda' */
  readonly syncRunner?: SyncConfig['runner'];
}

/**
 * The Step Functions state machines a person starts from the console: Migrate,
 * RollbackTraffic, RestoreData and Decommission (one file each beside this one), and the
 * notification topic they publish to. JSONPath, logging ALL, X-Ray on.
 */
export class MigrationWorkflows extends Construct {
  public readonly topic: sns.Topic;
  public readonly migrate: sfn.StateMachine;
  public readonly rollbackTraffic: sfn.StateMachine;
  public readonly restoreData: sfn.StateMachine;
  public readonly decommission: sfn.StateMachine;
  /** After Finalize, until Decommission: the reverse sync on a schedule (the rollback window stays real). */
  public readonly keepOldCurrent: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: MigrationWorkflowsProps) {
    super(scope, id);
    const key = new kms.Key(this, 'TopicKey', {
      enableKeyRotation: true,
      description: `Switchyard ${props.stageName} notifications`,
    });
    this.topic = new sns.Topic(this, 'Notifications', {
      masterKey: key,
      enforceSSL: true,
      displayName: `Switchyard ${props.stageName}`,
    });
    if (props.notificationEmail)
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.notificationEmail));
    const ctx: WorkflowContext = { functions: props.functions, topic: this.topic, rollback: props.rollback };

    // States of each machine live in their own scope (state names are unique per machine, not per stack).
    const states = (name: string) => new Construct(this, `${name}States`);
    const machine = (name: string, definition: sfn.IChainable, timeout: Duration) =>
      new sfn.StateMachine(this, `${name}Machine`, {
        stateMachineName: `switchyard-${props.stageName}-${name.replace(/[A-Z]/g, (c, i) => (i ? '-' : '') + c.toLowerCase())}`,
        definitionBody: sfn.DefinitionBody.fromChainable(definition),
        timeout,
        tracingEnabled: true,
        logs: {
          destination: new logs.LogGroup(this, `${name}Logs`, {
            retention: logs.RetentionDays.ONE_MONTH,
            removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
          }),
          level: sfn.LogLevel.ALL,
          includeExecutionData: true,
        },
      });
    const maxSnapshotPolls = props.maxSnapshotPolls ?? 240;
    this.migrate = machine(
      'Migrate',
      migrateDefinition(states('Migrate'), ctx, {
        maxSnapshotPolls,
        verification: props.verification ?? DEFAULT_VERIFICATION,
        copy: props.copy ?? DEFAULT_COPY,
        maxPauseSeconds: props.maxPauseSeconds,
        stageName: props.stageName,
        syncRunner: props.syncRunner,
      }),
      MIGRATE_TIMEOUT,
    );
    this.rollbackTraffic = machine(
      'RollbackTraffic',
      rollbackTrafficDefinition(states('RollbackTraffic'), ctx),
      ROLLBACK_TRAFFIC_TIMEOUT,
    );
    this.restoreData = machine(
      'RestoreData',
      restoreDataDefinition(states('RestoreData'), ctx, {
        maxRestorePolls: props.maxRestorePolls ?? RESTORE_WAIT.maxPolls,
      }),
      RESTORE_DATA_TIMEOUT,
    );
    this.decommission = machine(
      'Decommission',
      decommissionDefinition(states('Decommission'), ctx, { maxSnapshotPolls, oldService: props.oldService }),
      DECOMMISSION_TIMEOUT,
    );

    this.keepOldCurrent = machine(
      'KeepOldCurrent',
      keepOldCurrentDefinition(states('KeepOldCurrent'), ctx),
      KEEP_OLD_CURRENT_TIMEOUT,
    );
    new events.Rule(this, 'KeepOldCurrentSchedule', {
      description: 'After Finalize, until Decommission: the reverse sync keeps the old database current',
      schedule: events.Schedule.rate(KEEP_OLD_CURRENT_EVERY),
      targets: [new targets.SfnStateMachine(this.keepOldCurrent)],
    });
    this.cleanUpEndedMigrations();

    for (const sm of [this.migrate, this.rollbackTraffic, this.restoreData, this.decommission, this.keepOldCurrent]) {
      // Publishing to a KMS-encrypted topic needs the key too (kms:GenerateDataKey*, kms:Decrypt): grantPublish adds both.
      this.topic.grantPublish(sm);
      // copy.mode distributed: CDK's policy for the Distributed Map's child executions of this machine.
      const childExecutions = sm.node.tryFindChild('DistributedMapPolicy');
      if (childExecutions) {
        acknowledgeWildcards(childExecutions, (r) =>
          /:execution:.*:\*$/.test(r)
            ? 'The Distributed Map describes, stops and redrives the child executions of this one state machine; their names are generated at run time.'
            : undefined,
        );
      }
      const policy = sm.role.node.tryFindChild('DefaultPolicy');
      if (policy) {
        Validations.of(policy).acknowledge({
          id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
          reason:
            'SNS needs GenerateDataKey (with or without plaintext) on the topic key to publish to the encrypted topic; the resource is that one key.',
        });
        acknowledgeWildcards(policy, (r) =>
          r === '*'
            ? 'X-Ray tracing and CloudWatch Logs vended-log delivery actions have no resource-level permissions.'
            : /^<Phases[A-Za-z0-9]+\.Arn>:\*$/.test(r)
              ? 'LambdaInvoke grants invoking any version/alias of this one phase function.'
              : undefined,
        );
      }
    }
  }

  /**
   * Every end is clean: a Migrate execution that ends ABORTED (StopExecution), TIMED_OUT or FAILED
   * starts RollbackTraffic with `{ endedExecution }`. RollbackTraffic acts only when that execution
   * still holds the stage lock, i.e. it ended outside its own terminal states: traffic to 100 % old,
   * the new side's writes returned, captures dropped, and its lock released.
   */
  private cleanUpEndedMigrations(): void {
    new events.Rule(this, 'MigrateEndedRule', {
      description:
        'A Migrate execution ended ABORTED, TIMED_OUT or FAILED: RollbackTraffic cleans up if it still holds the lock',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: [this.migrate.stateMachineArn] },
      },
      targets: [
        new targets.SfnStateMachine(this.rollbackTraffic, {
          input: events.RuleTargetInput.fromObject({
            endedExecution: {
              executionArn: events.EventField.fromPath('$.detail.executionArn'),
              status: events.EventField.fromPath('$.detail.status'),
            },
          }),
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }
}
