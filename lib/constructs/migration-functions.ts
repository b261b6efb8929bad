import { ArnFormat, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { DEFAULT_SPEC_NAME } from '../../lambda/core/limits';
import { PHASE, PHASE_NAMES } from '../../lambda/phases';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { LoadBalancerRef } from './imported-resources';
import { PhaseFunction, type PhaseName } from './phase-function';
import type { IServiceEnvironment } from './service-environment';
import { StageLockTable } from './workflows/lock-table';
import type { WeightedAlbRouting, WeightedDnsRecords } from './weighted-routing';
import { acknowledgeWildcards } from './wildcard-acks';

/** Why each kind of wildcard resource the phase functions use cannot be narrower. */
function wildcardReason(resource: string): string | undefined {
  if (resource === '*')
    return (
      'Only actions without resource-level permissions use "*": cloudwatch:DescribeAlarms, ' +
      "cloudwatch:GetMetricData (the health gate's canary reads both target groups' ALB metrics; Preflight " +
      "reads both databases' FreeStorageSpace), " +
      'secretsmanager:ListSecrets, elasticloadbalancing:Describe*, X-Ray PutTraceSegments.'
    );
  if (resource.includes(':parameter/'))
    return "Every parameter under the environment's own SSM path: the names below it are the service's, not known at deploy time.";
  if (resource.includes(':secret:'))
    return "Every secret under the environment's own prefix: the names below it are the service's, not known at deploy time.";
  if (resource.includes(':snapshot:switchyard-'))
    return 'Migration snapshots are named switchyard-<stage>-<migration id>; the id is chosen per execution.';
  if (resource.endsWith(':snapshot:*'))
    return 'Preflight reads the age of the newest snapshot of the old database; automated snapshots have generated names.';
  if (resource.includes('-restored-'))
    return 'Restored instances are named <old db>-restored-<migration id>; the id is chosen per execution.';
  if (/:(subgrp|og|pg):\*$/.test(resource))
    return 'RestoreDBInstanceFromDBSnapshot authorizes the subnet, option and parameter groups the snapshot names; they are chosen outside this stack.';
  if (resource.includes(':route53:::change/'))
    return 'Route53 change ids exist only once the change is made; GetChange polls them.';
  return undefined;
}

/** Phases that open connections to the databases: they alone get the database client security group and credentials. */
export const DATABASE_PHASES: readonly PhaseName[] = [
  PHASE.preflight,
  PHASE.prepareTarget,
  PHASE.copyData,
  PHASE.buildIndexes,
  PHASE.validateData,
  PHASE.sync,
];

export interface MigrationFunctionsProps {
  readonly stageName: string;
  readonly vpc: ec2.IVpc;
  readonly oldEnvironment: IServiceEnvironment;
  readonly newEnvironment: IServiceEnvironment;
  /** Weighted ALB rule; exactly one of `alb` / `dns` drives the traffic phases (ALB preferred). */
  readonly alb?: WeightedAlbRouting;
  readonly dns?: WeightedDnsRecords;
  /** Prefix of the new side's health alarms. */
  readonly healthAlarmPrefix: string;
  /** Migration spec name (lambda/engine/specs). @default DEFAULT_SPEC_NAME (lambda/core/limits.ts) */
  readonly specName?: string;
  /**
   * TLS of the phases' database connections: `verify-full` checks the certificate against the Amazon
   * RDS CA bundle shipped with the functions; `require` encrypts without verifying.
   * @default 'verify-full'
   */
  readonly databaseTls?: 'verify-full' | 'require';
  /** @default RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Stage defaults for the execution input. */
  readonly defaults: {
    readonly schedule: readonly number[];
    readonly bakeSeconds: number;
    readonly maxCatchUpLagSeconds: number;
    readonly maxCatchUpMinutes: number;
    readonly copyConcurrency: number;
    /** Steps (weights) that hold for the operator after their gate passed (ValidateInput's default). @default [] */
    readonly pauseAt?: readonly number[];
  };
  /**
   * Service verification: where the Smoke phase sends its requests and which load balancers carry
   * each side's target group metrics (the health gate's canary).
   * @default - none: Smoke fails with ConfigurationError and the canary is skipped (reported)
   */
  readonly verification?: MigrationVerificationProps;
  /** The stage lock; only the phases that use it get its name and a grant. */
  readonly lockTable: StageLockTable;
}

/** The phases that write data or move traffic: they prove their execution owns the stage lock first (fencing). */
const FENCED_PHASES: readonly PhaseName[] = [PHASE.shiftTraffic, PHASE.rollbackTraffic, PHASE.sync, PHASE.copyData];
/** The phases that use the stage lock table. */
const LOCK_PHASES: readonly PhaseName[] = [
  PHASE.lock,
  PHASE.unlock,
  PHASE.preflight,
  PHASE.finalize,
  PHASE.pause,
  ...FENCED_PHASES,
];

export interface MigrationVerificationProps {
  /** Base URL of the smoke requests: the stage listener (`http://<ALB DNS name>:<port>`) or the service's domain when the listener has a certificate for it. */
  readonly smokeBaseUrl: string;
  /**
   * The old side's own entry point: Smoke sends its old-side requests there, without the side header.
   * @default - the stage listener with `x-switchyard-side: old`; for an imported old side (which the
   * listener cannot reach) none: Smoke's read checks are not compared, and its output says so
   */
  readonly oldBaseUrl?: string;
  /** The load balancer in front of the new side's target group (the LoadBalancer dimension of its metrics). */
  readonly newLoadBalancer: elbv2.IApplicationLoadBalancer;
  /**
   * The load balancer in front of the old side's target group (an imported one: `loadBalancerByArn`).
   * @default - none: the canary is skipped (reported)
   */
  readonly oldLoadBalancer?: LoadBalancerRef;
}

/** Each phase function's environment: ARNs, names and stage defaults only (never a secret value). */
function phaseEnvironments(
  props: MigrationFunctionsProps,
  newKeyArn: string,
): (phase: PhaseName) => Record<string, string> {
  const { oldEnvironment: oldEnv, newEnvironment: newEnv } = props;
  const environment: Record<string, string> = {
    SWITCHYARD_STAGE: props.stageName,
    SPEC_NAME: props.specName ?? DEFAULT_SPEC_NAME,
    DB_TLS: props.databaseTls ?? 'verify-full',
    SOURCE_DB_SECRET_ARN: oldEnv.databaseSecret.secretArn,
    TARGET_DB_SECRET_ARN: newEnv.databaseSecret.secretArn,
    OLD_DB_ID: oldEnv.databaseIdentifier,
    NEW_DB_ID: newEnv.databaseIdentifier,
    HEALTH_ALARM_PREFIX: props.healthAlarmPrefix,
    OLD_PARAMETER_PATH: oldEnv.parameterPath,
    NEW_PARAMETER_PATH: newEnv.parameterPath,
    OLD_SECRET_PREFIX: oldEnv.secretPrefix,
    NEW_SECRET_PREFIX: newEnv.secretPrefix,
    NEW_KMS_KEY_ARN: newKeyArn,
    DEFAULT_SCHEDULE: props.defaults.schedule.join(','),
    DEFAULT_BAKE_SECONDS: String(props.defaults.bakeSeconds),
    DEFAULT_MAX_LAG_SECONDS: String(props.defaults.maxCatchUpLagSeconds),
    DEFAULT_MAX_CATCH_UP_MINUTES: String(props.defaults.maxCatchUpMinutes),
    DEFAULT_COPY_CONCURRENCY: String(props.defaults.copyConcurrency),
    ...(props.verification
      ? {
          SMOKE_BASE_URL: props.verification.smokeBaseUrl,
          ...(props.verification.oldLoadBalancer
            ? {
                CANARY_OLD_TARGET_GROUP_ARN: oldEnv.targetGroup.targetGroupArn,
                CANARY_NEW_TARGET_GROUP_ARN: newEnv.targetGroup.targetGroupArn,
                CANARY_OLD_LOAD_BALANCER_ARN: props.verification.oldLoadBalancer.loadBalancerArn,
                CANARY_NEW_LOAD_BALANCER_ARN: props.verification.newLoadBalancer.loadBalancerArn,
              }
            : {}),
        }
      : {}),
    ...(oldEnv.serviceArns
      ? { OLD_SERVICE_ARN: oldEnv.serviceArns.serviceArn, OLD_CLUSTER_ARN: oldEnv.serviceArns.clusterArn }
      : {}),
    ...(props.alb
      ? {
          ROUTING_KIND: 'alb',
          ALB_RULE_ARN: props.alb.ruleArn,
          OLD_TARGET_GROUP_ARN: props.alb.oldTargetGroup.targetGroupArn,
          NEW_TARGET_GROUP_ARN: props.alb.newTargetGroup.targetGroupArn,
        }
      : {
          ROUTING_KIND: 'route53',
          HOSTED_ZONE_ID: props.dns!.zone.hostedZoneId,
          RECORD_NAME: `${props.dns!.recordName}.${props.dns!.zone.zoneName}`,
        }),
  };

  // Smoke alone: how it reaches the old side, decided here so the handler looks nothing up.
  // An imported old side is on its own load balancer (the stage listener answers 503 for it).
  const smokeEnvironment: Record<string, string> = props.verification
    ? {
        ...(props.verification.oldBaseUrl ? { SMOKE_OLD_BASE_URL: props.verification.oldBaseUrl } : {}),
        SMOKE_COMPARE_OLD: String(Boolean(props.verification.oldBaseUrl) || !oldEnv.imported),
      }
    : {};
  return (phase: PhaseName): Record<string, string> => ({
    ...environment,
    ...(LOCK_PHASES.includes(phase) ? { [StageLockTable.ENV_VAR]: props.lockTable.table.tableName } : {}),
    ...(phase === PHASE.smoke ? smokeEnvironment : {}),
    ...(phase === PHASE.validateInput && props.defaults.pauseAt?.length
      ? { DEFAULT_PAUSE_AT: props.defaults.pauseAt.join(',') }
      : {}),
  });
}

/**
 * One Lambda function per phase, each granted only what its phase does
 * (resource-scoped wherever the action supports it). Database credentials are
 * read from the environments' secrets at run time; the environment variables
 * carry ARNs and names only.
 */
export class MigrationFunctions extends Construct {
  /** Security group of the phase functions that never connect to a database (no database admits it). */
  public readonly securityGroup: ec2.SecurityGroup;
  /** Security group of the phases in {@link DATABASE_PHASES}: the only functions each database admits (besides its own service). */
  public readonly databaseClientSecurityGroup: ec2.SecurityGroup;
  public readonly functions: Readonly<Record<PhaseName, PhaseFunction>>;

  constructor(scope: Construct, id: string, props: MigrationFunctionsProps) {
    super(scope, id);
    if (!props.alb && !props.dns) throw new Error('MigrationFunctions needs alb or dns routing, got: neither');
    const { oldEnvironment: oldEnv, newEnvironment: newEnv } = props;
    if (!newEnv.dataKey)
      throw new Error(
        'newEnvironment must be provisioned (its key encrypts the transferred config), got: an imported environment',
      );

    // Two groups: only the phases that open database connections are in the one the databases admit.
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Switchyard ${props.stageName} phase functions without database access`,
    });
    this.databaseClientSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseClientSecurityGroup', {
      vpc: props.vpc,
      description: `Switchyard ${props.stageName} phase functions that connect to the databases`,
    });
    oldEnv.allowDatabaseFrom(
      this,
      'OldDatabaseIngress',
      this.databaseClientSecurityGroup,
      'Switchyard database phases (read-only source)',
    );
    newEnv.allowDatabaseFrom(
      this,
      'NewDatabaseIngress',
      this.databaseClientSecurityGroup,
      'Switchyard database phases',
    );

    this.functions = this.createFunctions(props, phaseEnvironments(props, newEnv.dataKey.keyArn));
    this.grantPhases(props);
    this.acknowledgeFindings();
  }

  private createFunctions(
    props: MigrationFunctionsProps,
    environmentOf: (phase: PhaseName) => Record<string, string>,
  ): Record<PhaseName, PhaseFunction> {
    const fns = {} as Record<PhaseName, PhaseFunction>;
    for (const phase of PHASE_NAMES) {
      fns[phase] = new PhaseFunction(this, phase[0].toUpperCase() + phase.slice(1), {
        phase,
        vpc: props.vpc,
        securityGroup: DATABASE_PHASES.includes(phase) ? this.databaseClientSecurityGroup : this.securityGroup,
        environment: environmentOf(phase),
        logRemovalPolicy: props.logRemovalPolicy,
      });
    }
    return fns;
  }

  /** Each phase gets what it does and nothing more (resource-scoped wherever the action supports it). */
  private grantPhases(props: MigrationFunctionsProps) {
    const fns = this.functions;
    const stack = Stack.of(this);
    const { oldEnvironment: oldEnv, newEnvironment: newEnv } = props;
    const rdsArn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'rds', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const dbArn = rdsArn('db', oldEnv.databaseIdentifier);
    const snapshotArn = rdsArn('snapshot', `switchyard-${props.stageName}-*`);
    const restoredDbArn = rdsArn('db', `${oldEnv.databaseIdentifier}-restored-*`);
    const allow = (fn: iam.IGrantable, actions: string[], resources: string[]) =>
      iam.Grant.addToPrincipal({ grantee: fn, actions, resourceArns: resources });
    const readDbSecrets = (fn: PhaseFunction) => {
      if (!DATABASE_PHASES.includes(fn.phase))
        throw new Error(
          `database credentials are only for DATABASE_PHASES (they alone reach the databases), got: ${fn.phase}`,
        );
      oldEnv.grantDatabaseSecretRead(fn);
      newEnv.grantDatabaseSecretRead(fn);
    };
    const shiftTraffic = (fn: iam.IGrantable) =>
      props.alb ? props.alb.grantShiftTraffic(fn) : props.dns!.grantShiftTraffic(fn);
    const readWeights = (fn: iam.IGrantable) =>
      props.alb ? props.alb.grantReadWeights(fn) : props.dns!.grantReadWeights(fn);
    const readAlarms = (fn: iam.IGrantable) => allow(fn, ['cloudwatch:DescribeAlarms'], ['*']);
    const listSecrets = (fn: iam.IGrantable) => allow(fn, ['secretsmanager:ListSecrets'], ['*']);

    // Every database phase (and only those) reads both databases' credentials.
    for (const phase of DATABASE_PHASES) readDbSecrets(fns[phase]);

    // Preflight: reads everything it checks, changes nothing.
    oldEnv.grantConfigRead(fns.preflight);
    listSecrets(fns.preflight);
    readAlarms(fns.preflight);
    readWeights(fns.preflight);
    allow(fns.preflight, ['rds:DescribeDBSnapshots'], [dbArn, rdsArn('snapshot', '*')]);

    // Backup: snapshots named switchyard-<stage>-* of the old database only.
    allow(fns.backup, ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'], [dbArn, snapshotArn]);
    allow(fns.backup, ['rds:DescribeDBSnapshots'], [dbArn, snapshotArn]);
    allow(fns.backupStatus, ['rds:DescribeDBSnapshots'], [dbArn, snapshotArn]);

    // Config transfer: read the old namespace, write the new one.
    oldEnv.grantConfigRead(fns.transferConfig);
    newEnv.grantConfigWrite(fns.transferConfig);
    listSecrets(fns.transferConfig);
    newEnv.grantDatabaseSecretRead(fns.transferConfig);

    for (const fn of [fns.shiftTraffic, fns.rollbackTraffic]) shiftTraffic(fn);
    readWeights(fns.finalize);

    // Stage lock: take/check/halt/release on the lock table only; Finalize records the end; the Decommission guard reads the weights.
    for (const fn of [fns.lock, fns.unlock, fns.preflight]) props.lockTable.grantLock(fn);
    props.lockTable.grantRecordCompletion(fns.finalize);
    props.lockTable.grantRecordPause(fns.pause);
    for (const p of [...FENCED_PHASES, PHASE.finalize]) props.lockTable.grantFence(fns[p]);
    readWeights(fns.lock);
    readAlarms(fns.healthGate);
    // Canary: both sides' ALB metrics over the bake window (GetMetricData has no resource-level permissions), and the weights (no old traffic at 100 %).
    allow(fns.healthGate, ['cloudwatch:GetMetricData'], ['*']);
    // Preflight: both databases' FreeStorageSpace (the retention a stalled slot may reach must fit).
    allow(fns.preflight, ['cloudwatch:GetMetricData'], ['*']);
    readWeights(fns.healthGate);

    // Data restore: a new instance from this stage's migration snapshots, then repoint the old secret.
    allow(
      fns.restoreData,
      ['rds:RestoreDBInstanceFromDBSnapshot', 'rds:AddTagsToResource'],
      [snapshotArn, restoredDbArn, rdsArn('subgrp', '*'), rdsArn('og', '*'), rdsArn('pg', '*')],
    );
    // The original instance is read to copy its settings (network, parameter group, class, tags) onto the restore.
    allow(fns.restoreData, ['rds:DescribeDBInstances'], [restoredDbArn, dbArn]);
    oldEnv.grantRestoreFromSnapshot(fns.restoreData);
    oldEnv.grantDatabaseSecretRead(fns.restoreData);
    oldEnv.grantDatabaseSecretWrite(fns.restoreData);
    oldEnv.grantRestartService(fns.restoreData);
  }

  private acknowledgeFindings() {
    for (const fn of Object.values(this.functions)) {
      Validations.of(fn).acknowledge(
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason: "AWS-managed minimal policy for writing the function's own CloudWatch logs.",
        },
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
          reason: 'AWS-managed minimal policy for the ENIs a VPC function needs to reach the databases.',
        },
      );
      const policy = fn.role?.node.tryFindChild('DefaultPolicy');
      if (policy) acknowledgeWildcards(policy, wildcardReason);
    }
  }
}
