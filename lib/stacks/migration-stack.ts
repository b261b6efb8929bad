import { ALB_DEREGISTRATION_SECONDS } from '../../lambda/core/limits';
import { rollbackSettleSeconds } from '../../lambda/core/traffic/settle';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config';
import { HealthAlarms } from '../constructs/health-alarms';
import { loadBalancerByArn } from '../constructs/imported-resources';
import { MigrationDashboard } from '../constructs/migration-dashboard';
import { MigrationFunctions, type MigrationFunctionsProps } from '../constructs/migration-functions';
import { MigrationWorkflows, type MigrationWorkflowsProps } from '../constructs/workflows';
import { StageLockTable } from '../constructs/workflows/lock-table';
import { SyncTask } from '../constructs/sync-task';
import type { IServiceEnvironment } from '../constructs/service-environment';
import type { WeightedAlbRouting, WeightedDnsRecords } from '../constructs/weighted-routing';

export interface MigrationStackProps extends StackProps {
  readonly config: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly oldEnvironment: IServiceEnvironment;
  readonly newEnvironment: IServiceEnvironment;
  /** The stage's load balancer: the LoadBalancer dimension of the canary's metrics (the new side, and a provisioned old side). */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The stage listener's base URL: where smoke requests go unless `verification.smokeBaseUrl` names a domain. */
  readonly listenerUrl: string;
  readonly alb?: WeightedAlbRouting;
  readonly dns?: WeightedDnsRecords;
}

/** The migration's phase functions and the health alarms that gate traffic steps. */
export class MigrationStack extends Stack {
  public readonly functions: MigrationFunctions;
  public readonly healthAlarms: HealthAlarms;
  public readonly workflows: MigrationWorkflows;
  public readonly lockTable: StageLockTable;
  /** `sync.runner: ecs`: the long-running sync task. @default - none (bounded Lambda runs) */
  public readonly syncTask?: SyncTask;

  constructor(scope: Construct, id: string, props: MigrationStackProps) {
    super(scope, id, props);
    const { config } = props;
    const prefix = `switchyard-${config.stageName}-new-`;
    this.healthAlarms = new HealthAlarms(this, 'HealthAlarms', {
      targetGroup: props.newEnvironment.targetGroup,
      prefix,
      max5xxPerMinute: config.alarms.new5xxPerMinute,
      maxP99LatencySeconds: config.alarms.newP99LatencySeconds,
      minRequestsPerBake: config.alarms.newMinRequestsPerBake,
      bake: Duration.seconds(config.migration.bakeSeconds),
    });
    const removalPolicy = config.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.lockTable = new StageLockTable(this, 'Lock', { stageName: config.stageName, removalPolicy });
    this.functions = new MigrationFunctions(this, 'Phases', phaseFunctionProps(props, this.lockTable, prefix));
    // sync.runner ecs: the long-running sync task; Sync starts, watches and stops it, ValidateData stops it.
    if (config.sync.runner === 'ecs') {
      this.syncTask = new SyncTask(this, 'SyncTask', {
        stageName: config.stageName,
        vpc: props.vpc,
        securityGroup: this.functions.databaseClientSecurityGroup,
        oldEnvironment: props.oldEnvironment,
        newEnvironment: props.newEnvironment,
        cpu: config.sync.cpu,
        memoryMiB: config.sync.memoryMiB,
        specName: config.migration.specName,
        databaseTls: config.migration.databaseTls,
        logRemovalPolicy: removalPolicy,
      });
      for (const fn of [this.functions.functions.sync, this.functions.functions.validateData])
        this.syncTask.grantControl(fn);
    }
    this.workflows = new MigrationWorkflows(this, 'Workflows', workflowProps(props, this.functions));
    new MigrationDashboard(this, 'Dashboard', {
      stageName: config.stageName,
      oldTargetGroup: props.oldEnvironment.imported ? undefined : props.oldEnvironment.targetGroup,
      newTargetGroup: props.newEnvironment.targetGroup,
      migrate: this.workflows.migrate,
      rollback: this.workflows.rollbackTraffic,
      healthAlarms: this.healthAlarms.alarms,
      databases: [
        { label: 'old', instanceIdentifier: props.oldEnvironment.databaseIdentifier },
        { label: 'new', instanceIdentifier: props.newEnvironment.databaseIdentifier },
      ],
    });
    for (const [name, sm] of Object.entries({
      Migrate: this.workflows.migrate,
      RollbackTraffic: this.workflows.rollbackTraffic,
      RestoreData: this.workflows.restoreData,
      Decommission: this.workflows.decommission,
    })) {
      new CfnOutput(this, `${name}StateMachineArn`, {
        value: sm.stateMachineArn,
        description: `Start ${name} executions here`,
      });
    }
  }
}

/** The phase functions of a stage: environments, verification targets and the stage defaults. */
function phaseFunctionProps(
  props: MigrationStackProps,
  lockTable: StageLockTable,
  prefix: string,
): MigrationFunctionsProps {
  return {
    lockTable,
    stageName: props.config.stageName,
    vpc: props.vpc,
    oldEnvironment: props.oldEnvironment,
    newEnvironment: props.newEnvironment,
    alb: props.alb,
    dns: props.dns,
    healthAlarmPrefix: prefix,
    verification: {
      smokeBaseUrl: props.config.verification.smokeBaseUrl ?? props.listenerUrl,
      oldBaseUrl: props.config.verification.oldBaseUrl,
      newLoadBalancer: props.loadBalancer,
      // An imported old side keeps its own load balancer: only the config knows it (by ARN).
      oldLoadBalancer: props.oldEnvironment.imported
        ? props.config.verification.oldLoadBalancerArn
          ? loadBalancerByArn(props.config.verification.oldLoadBalancerArn)
          : undefined
        : props.loadBalancer,
    },
    specName: props.config.migration.specName,
    databaseTls: props.config.migration.databaseTls,
    logRemovalPolicy: props.config.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    defaults: {
      schedule: props.config.migration.weightSchedule,
      bakeSeconds: props.config.migration.bakeSeconds,
      maxCatchUpLagSeconds: props.config.migration.maxCatchUpLagSeconds,
      maxCatchUpMinutes: props.config.migration.maxCatchUpMinutes,
      copyConcurrency: props.config.migration.copyConcurrency,
      pauseAt: props.config.migration.pauseAt,
    },
  };
}

/** The state machines of a stage: notifications, copy mode, pause limit and the rollback's windows. */
function workflowProps(props: MigrationStackProps, functions: MigrationFunctions): MigrationWorkflowsProps {
  const { config } = props;
  return {
    stageName: config.stageName,
    functions: functions.functions,
    notificationEmail: config.alarms.notificationEmail,
    oldService: props.oldEnvironment.service,
    verification: config.verification,
    copy: config.migration.copy,
    maxPauseSeconds: config.migration.maxPauseSeconds,
    syncRunner: config.sync.runner,
    // The settle window after a traffic rollback: the slowest path to the new side (ALB deregistration, DNS TTL) + the longest request.
    rollback: {
      preDrainSeconds: config.migration.rollback.preDrainSeconds,
      settleSeconds: rollbackSettleSeconds({
        deregistrationSeconds: ALB_DEREGISTRATION_SECONDS,
        dnsTtlSeconds: config.routing.route53?.ttlSeconds,
        longestRequestSeconds: config.migration.rollback.longestRequestSeconds,
      }),
      quietSeconds: config.migration.rollback.quietSeconds,
    },
    logRemovalPolicy: config.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  };
}
