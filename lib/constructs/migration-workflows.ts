import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { PhaseFunction, PhaseName } from './phase-function';
import { ERRORS } from '../../lambda/core/errors';
import { acknowledgeWildcards } from './wildcard-acks';

export interface MigrationWorkflowsProps {
  readonly stageName: string;
  readonly functions: Readonly<Record<PhaseName, PhaseFunction>>;
  /** Subscribe this address to the notifications. @default - no subscription */
  readonly notificationEmail?: string;
  /** Polls of the snapshot status (30 s apart) before giving up. @default 240 (2 hours) */
  readonly maxSnapshotPolls?: number;
  /** @default RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** The old side's service, scaled to zero by Decommission. @default - none (imported old side: scale it down yourself) */
  readonly oldService?: ecs.FargateService;
}

/** Errors worth a retry of the whole task (the handlers already retry AWS throttling inside). */
const TRANSIENT = [ERRORS.DatabaseUnreachableError, ERRORS.ChunkCopyError];

/**
 * The Step Functions state machines a person starts from the console:
 * Migrate, RollbackTraffic and RestoreData. JSONPath, logging ALL, X-Ray on.
 */
export class MigrationWorkflows extends Construct {
  public readonly topic: sns.Topic;
  public readonly migrate: sfn.StateMachine;
  public readonly rollbackTraffic: sfn.StateMachine;
  public readonly restoreData: sfn.StateMachine;
  public readonly decommission: sfn.StateMachine;
  private readonly fns: Readonly<Record<PhaseName, PhaseFunction>>;

  constructor(scope: Construct, id: string, props: MigrationWorkflowsProps) {
    super(scope, id);
    this.fns = props.functions;
    const key = new kms.Key(this, 'TopicKey', { enableKeyRotation: true, description: `Switchyard ${props.stageName} notifications` });
    this.topic = new sns.Topic(this, 'Notifications', { masterKey: key, enforceSSL: true, displayName: `Switchyard ${props.stageName}` });
    if (props.notificationEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.notificationEmail));

    const machine = (name: string, definition: sfn.IChainable, timeout: Duration) =>
      new sfn.StateMachine(this, `${name}Machine`, {
        stateMachineName: `switchyard-${props.stageName}-${name.replace(/[A-Z]/g, (c, i) => (i ? '-' : '') + c.toLowerCase())}`,
        definitionBody: sfn.DefinitionBody.fromChainable(definition),
        timeout,
        tracingEnabled: true,
        logs: {
          destination: new logs.LogGroup(this, `${name}Logs`, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN }),
          level: sfn.LogLevel.ALL,
          includeExecutionData: true,
        },
      });
    this.migrate = machine('Migrate', this.migrateDefinition(props.maxSnapshotPolls ?? 240), Duration.days(2));
    this.rollbackTraffic = machine('RollbackTraffic', this.rollbackDefinition(), Duration.minutes(10));
    this.restoreData = machine('RestoreData', this.restoreDefinition(), Duration.hours(2));
    this.decommission = machine('Decommission', this.decommissionDefinition(props.oldService), Duration.hours(3));
    for (const sm of [this.migrate, this.rollbackTraffic, this.restoreData, this.decommission]) {
      const policy = sm.role.node.tryFindChild('DefaultPolicy');
      if (policy) {
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

  /** A phase task; `payload` undefined passes the whole state input. */
  private invoke(id: string, phase: PhaseName, payload: Record<string, unknown> | undefined, resultPath: string, retry = false) {
    const t = new tasks.LambdaInvoke(this, id, {
      lambdaFunction: this.fns[phase],
      payload: payload && sfn.TaskInput.fromObject(payload),
      payloadResponseOnly: true,
      resultPath,
    });
    if (retry) t.addRetry({ errors: TRANSIENT, interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
    return t;
  }

  private notify(id: string, event: string, extra: Record<string, unknown> = {}) {
    return new tasks.SnsPublish(this, id, {
      topic: this.topic,
      message: sfn.TaskInput.fromObject({ event, 'migrationId.$': '$.config.migrationId', 'execution.$': '$$.Execution.Id', ...extra }),
      resultPath: sfn.JsonPath.DISCARD,
    });
  }

  private migrateDefinition(maxPolls: number): sfn.IChainable {
    const id = { 'migrationId.$': '$.config.migrationId' };
    const failed = new sfn.Fail(this, 'MigrationFailed', { errorPath: '$.error.Error', causePath: '$.error.Cause' });
    const notifyFailure = this.notify('NotifyFailure', 'failed', { 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' }).next(failed);
    const catchToFailure = <T extends sfn.TaskStateBase | sfn.Map>(s: T) => s.addCatch(notifyFailure, { resultPath: '$.error' });

    // After traffic has moved: weights back to 100 % old first, then fail with the original error.
    const rolledBack = new sfn.Fail(this, 'RolledBack', { errorPath: '$.error.Error', causePath: '$.error.Cause' });
    const rollback = this.invoke('RollbackTrafficOnFailure', 'rollbackTraffic', id, '$.rollback')
      .addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL })
      .addCatch(notifyFailure, { resultPath: '$.rollbackError' });
    rollback.next(this.notify('NotifyRollback', 'rolled-back', { 'error.$': '$.error.Error', 'rollbackMs.$': '$.rollback.elapsedMs' }).next(rolledBack));

    // Input validation is the first state: a malformed input fails here and changes nothing.
    const validate = this.invoke('ValidateInput', 'validateInput', undefined, '$.config');

    const preflight = catchToFailure(this.invoke('Preflight', 'preflight', id, '$.preflight'));
    const gateGo = this.notify('NotifyGateGo', 'gate-go').next(new sfn.Succeed(this, 'GateDryRunGo'));

    const initPolls = new sfn.Pass(this, 'InitSnapshotPolls', { result: sfn.Result.fromObject({ count: 0 }), resultPath: '$.polls' });
    const backup = catchToFailure(this.invoke('Backup', 'backup', id, '$.backup'));
    const wait = new sfn.Wait(this, 'WaitForSnapshot', { time: sfn.WaitTime.duration(Duration.seconds(30)) });
    const status = catchToFailure(this.invoke('BackupStatus', 'backupStatus', { ...id, 'snapshotId.$': '$.backup.snapshotId' }, '$.backup'));
    const countPoll = new sfn.Pass(this, 'CountSnapshotPoll', { parameters: { 'count.$': 'States.MathAdd($.polls.count, 1)' }, resultPath: '$.polls' });
    const snapshotTimeout = new sfn.Pass(this, 'SnapshotTimedOut', {
      parameters: { Error: ERRORS.SnapshotTimeoutError, 'Cause.$': "States.Format('snapshot {} was not available after {} polls', $.backup.snapshotId, $.polls.count)" },
      resultPath: '$.error',
    }).next(notifyFailure);

    const transfer = catchToFailure(this.invoke('TransferConfig', 'transferConfig', { ...id, mode: 'apply' }, '$.configTransfer'));
    const prepare = catchToFailure(this.invoke('PrepareTarget', 'prepareTarget', id, '$.prepared', true));

    const copyTable = this.invoke('CopyTable', 'copyData', { 'migrationId.$': '$.migrationId', 'table.$': '$.table', 'concurrency.$': '$.concurrency' }, '$.copy', true);
    const copyLoop = copyTable.next(
      new sfn.Choice(this, 'TableCopied?').when(sfn.Condition.booleanEquals('$.copy.complete', true), new sfn.Succeed(this, 'TableDone')).otherwise(copyTable),
    );
    const copyTables = catchToFailure(
      new sfn.Map(this, 'CopyTables', {
        itemsPath: '$.config.tables',
        maxConcurrency: 1, // tables in spec order (parents before children); chunks run in parallel inside each table
        itemSelector: { 'table.$': '$$.Map.Item.Value', 'migrationId.$': '$.config.migrationId', 'concurrency.$': '$.config.copyConcurrency' },
        resultPath: sfn.JsonPath.DISCARD,
      }).itemProcessor(copyLoop),
    );

    const validateData = catchToFailure(this.invoke('Validate', 'validateData', id, '$.validation', true));
    const initSync = new sfn.Pass(this, 'InitCatchUp', { parameters: { 'watermarks.$': '$.prepared.watermarks' }, resultPath: '$.sync' });
    const catchUp = catchToFailure(this.invoke('CatchUp', 'catchUp', { ...id, 'watermarks.$': '$.sync.watermarks' }, '$.sync', true));

    // Traffic steps as an explicit loop over the schedule (one step at a time, watermarks carried forward).
    const toRollback = <T extends sfn.TaskStateBase>(t: T) => t.addCatch(rollback, { resultPath: '$.error' });
    const initShift = new sfn.Pass(this, 'InitTrafficSteps', { parameters: { index: 0, 'count.$': 'States.ArrayLength($.config.schedule)' }, resultPath: '$.step' });
    const nextStep = new sfn.Pass(this, 'NextTrafficStep', {
      parameters: { 'index.$': '$.step.index', 'count.$': '$.step.count', 'newPercent.$': 'States.ArrayGetItem($.config.schedule, $.step.index)' },
      resultPath: '$.step',
    });
    const setWeights = toRollback(this.invoke('SetWeights', 'shiftTraffic', { ...id, 'newPercent.$': '$.step.newPercent' }, '$.shift'));
    const stepNotify = this.notify('NotifyStep', 'traffic-step', { 'weights.$': '$.shift.weights' });
    const bake = new sfn.Wait(this, 'Bake', { time: sfn.WaitTime.secondsPath('$.config.bakeSeconds') });
    const gate = toRollback(this.invoke('HealthGate', 'healthGate', id, '$.health'));
    const unhealthy = new sfn.Pass(this, 'NewSideUnhealthy', { parameters: { Error: ERRORS.NewSideUnhealthy, 'Cause.$': '$.health.summary' }, resultPath: '$.error' }).next(rollback);
    const stepCatchUp = toRollback(this.invoke('StepCatchUp', 'catchUp', { ...id, 'watermarks.$': '$.sync.watermarks' }, '$.sync', true));
    const advance = new sfn.Pass(this, 'AdvanceTrafficStep', { parameters: { 'index.$': 'States.MathAdd($.step.index, 1)', 'count.$': '$.step.count' }, resultPath: '$.step' });
    const finalize = this.invoke('Finalize', 'finalize', id, '$.final').addCatch(rollback, { resultPath: '$.error' });
    const done = this.notify('NotifySuccess', 'completed').next(new sfn.Succeed(this, 'Migrated'));

    const lagOk = new sfn.Choice(this, 'LagOk?')
      .when(sfn.Condition.numberLessThanEqualsJsonPath('$.sync.maxLagSeconds', '$.config.maxCatchUpLagSeconds'), initShift)
      .otherwise(catchUp);
    transfer.next(prepare).next(copyTables).next(validateData).next(initSync).next(catchUp).next(lagOk);
    initShift.next(nextStep).next(setWeights).next(stepNotify).next(bake).next(gate).next(
      new sfn.Choice(this, 'Healthy?').when(sfn.Condition.booleanEquals('$.health.healthy', true), stepCatchUp).otherwise(unhealthy),
    );
    stepCatchUp.next(advance).next(
      new sfn.Choice(this, 'MoreTrafficSteps?').when(sfn.Condition.numberLessThanJsonPath('$.step.index', '$.step.count'), nextStep).otherwise(finalize),
    );
    finalize.next(done);

    return validate
      .next(this.notify('NotifyStart', 'started'))
      .next(preflight)
      .next(
        new sfn.Choice(this, 'DryRun?')
          .when(sfn.Condition.booleanEquals('$.config.dryRun', true), gateGo)
          .otherwise(
            initPolls
              .next(backup)
              .next(wait)
              .next(status)
              .next(
                new sfn.Choice(this, 'SnapshotReady?')
                  .when(sfn.Condition.stringEquals('$.backup.status', 'available'), transfer)
                  .when(sfn.Condition.numberGreaterThanEquals('$.polls.count', maxPolls), snapshotTimeout)
                  .otherwise(countPoll.next(wait)),
              ),
          ),
      );
  }

  /** RollbackTraffic: input { migrationId }. Weights to 100 % old in one call, verified, notified. */
  private rollbackDefinition(): sfn.IChainable {
    const normalize = new sfn.Pass(this, 'RollbackInput', { parameters: { 'migrationId.$': '$.migrationId' }, resultPath: '$.config' });
    const failed = new sfn.Fail(this, 'RollbackFailed', { errorPath: '$.error.Error', causePath: '$.error.Cause' });
    const call = this.invoke('RollbackTraffic', 'rollbackTraffic', { 'migrationId.$': '$.config.migrationId' }, '$.rollback')
      .addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL })
      .addCatch(this.notify('NotifyRollbackFailed', 'rollback-failed', { 'error.$': '$.error.Error' }).next(failed), { resultPath: '$.error' });
    return normalize
      .next(call)
      .next(this.notify('NotifyRolledBack', 'traffic-rolled-back', { 'rollbackMs.$': '$.rollback.elapsedMs', 'weights.$': '$.rollback.weights' }))
      .next(new sfn.Succeed(this, 'TrafficOnOld'));
  }

  /**
   * RestoreData: input { migrationId, snapshotId, applied? }. Restore the pre-migration snapshot into
   * a new instance, wait until available, repoint the old side's database secret, restore the
   * previous config versions (when `applied` from the Migrate execution's TransferConfig is given).
   */
  private restoreDefinition(): sfn.IChainable {
    const normalize = new sfn.Pass(this, 'RestoreInput', { parameters: { 'migrationId.$': '$.migrationId', 'snapshotId.$': '$.snapshotId' }, resultPath: '$.config' });
    const failed = new sfn.Fail(this, 'RestoreFailed', { errorPath: '$.error.Error', causePath: '$.error.Cause' });
    const onError = this.notify('NotifyRestoreFailed', 'restore-failed', { 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' }).next(failed);
    const start = this.invoke('StartRestore', 'restoreData', { 'migrationId.$': '$.config.migrationId', action: 'start', 'snapshotId.$': '$.config.snapshotId' }, '$.restore').addCatch(onError, { resultPath: '$.error' });
    const wait = new sfn.Wait(this, 'WaitForRestore', { time: sfn.WaitTime.duration(Duration.seconds(30)) });
    const status = this.invoke('RestoreStatus', 'restoreData', { 'migrationId.$': '$.config.migrationId', action: 'status' }, '$.restore').addCatch(onError, { resultPath: '$.error' });
    const repoint = this.invoke('RepointOldDatabase', 'restoreData', { 'migrationId.$': '$.config.migrationId', action: 'repoint' }, '$.restore').addCatch(onError, { resultPath: '$.error' });
    const restoreConfig = this.invoke('RestoreConfig', 'transferConfig', { 'migrationId.$': '$.config.migrationId', mode: 'rollback', 'applied.$': '$.applied' }, '$.configRollback').addCatch(onError, { resultPath: '$.error' });
    const done = this.notify('NotifyRestored', 'data-restored').next(new sfn.Succeed(this, 'DataRestored'));
    return normalize
      .next(start)
      .next(wait)
      .next(status)
      .next(
        new sfn.Choice(this, 'RestoreAvailable?')
          .when(sfn.Condition.booleanEquals('$.restore.available', true), repoint.next(new sfn.Choice(this, 'HasConfigToRestore?').when(sfn.Condition.isPresent('$.applied'), restoreConfig.next(done)).otherwise(done)))
          .otherwise(wait),
      );
  }

  /**
   * Decommission (after the stability period): input { migrationId }. A final snapshot of the old
   * database (switchyard-<stage>-<migrationId>-final), then the old service scaled to zero.
   */
  private decommissionDefinition(oldService?: ecs.FargateService): sfn.IChainable {
    const normalize = new sfn.Pass(this, 'DecommissionInput', {
      parameters: { 'migrationId.$': '$.migrationId', 'finalId.$': "States.Format('{}-final', $.migrationId)" },
      resultPath: '$.config',
    });
    const failed = new sfn.Fail(this, 'DecommissionFailed', { errorPath: '$.error.Error', causePath: '$.error.Cause' });
    const onError = this.notify('NotifyDecommissionFailed', 'decommission-failed', { 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' }).next(failed);
    const snap = this.invoke('FinalSnapshot', 'backup', { 'migrationId.$': '$.config.finalId' }, '$.backup').addCatch(onError, { resultPath: '$.error' });
    const wait = new sfn.Wait(this, 'WaitForFinalSnapshot', { time: sfn.WaitTime.duration(Duration.seconds(30)) });
    const status = this.invoke('FinalSnapshotStatus', 'backupStatus', { 'migrationId.$': '$.config.finalId', 'snapshotId.$': '$.backup.snapshotId' }, '$.backup').addCatch(onError, {
      resultPath: '$.error',
    });
    const done = this.notify('NotifyDecommissioned', 'decommissioned', { 'snapshotId.$': '$.backup.snapshotId' }).next(new sfn.Succeed(this, 'Decommissioned'));
    const scaleDown = oldService
      ? new tasks.CallAwsService(this, 'ScaleDownOldService', {
          service: 'ecs',
          action: 'updateService',
          parameters: { Cluster: oldService.cluster.clusterArn, Service: oldService.serviceName, DesiredCount: 0 },
          iamResources: [oldService.serviceArn],
          resultPath: sfn.JsonPath.DISCARD,
        })
          .addCatch(onError, { resultPath: '$.error' })
          .next(done)
      : done;
    return normalize
      .next(snap)
      .next(wait)
      .next(status)
      .next(new sfn.Choice(this, 'FinalSnapshotReady?').when(sfn.Condition.stringEquals('$.backup.status', 'available'), scaleDown).otherwise(wait));
  }
}
