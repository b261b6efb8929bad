import { Arn, ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, type IConstruct } from 'constructs';
import { SIDE_HEADER } from '../../lambda/core/verify/ports';
import type { ImportedEnvironmentConfig, ProvisionedEnvironmentConfig } from '../config/stage-config';

/**
 * Parameters of a database that takes part in sync (change capture in both directions):
 * logical decoding, commit timestamps (the later-commit-wins conflict rule) and a cap on the WAL a
 * stalled slot may hold back: a quarter of the storage, so a forgotten slot invalidates instead of
 * filling the disk. `rds.logical_replication` and `track_commit_timestamp` are static: they take
 * effect after a reboot (a new instance starts with them).
 */
export function syncParameters(allocatedStorageGiB: number): Record<string, string> {
  return {
    'rds.logical_replication': '1',
    track_commit_timestamp: '1',
    max_slot_wal_keep_size: String(Math.floor((allocatedStorageGiB * 1024) / 4)),
  };
}

/** Which side of the migration an environment is. */
export type Side = 'old' | 'new';

/** Listener rule priority of each side's direct-access rule (below the weighted rule's 100). */
export const DIRECT_ACCESS_PRIORITY: Readonly<Record<Side, number>> = { old: 10, new: 20 };

/**
 * The rule that reaches one side by header (`x-switchyard-side: <side>`, {@link SIDE_HEADER}),
 * outside the weights: the Smoke phase sends each check to the new side and compares with the old.
 */
function directAccessRule(
  scope: Construct,
  side: Side,
  listener: elbv2.IApplicationListener,
  action: elbv2.ListenerAction,
): elbv2.ApplicationListenerRule {
  return new elbv2.ApplicationListenerRule(scope, 'DirectAccessRule', {
    listener,
    priority: DIRECT_ACCESS_PRIORITY[side],
    conditions: [elbv2.ListenerCondition.httpHeader(SIDE_HEADER, [side])],
    action,
  });
}

/** What the stage listener answers, by header, for an imported side it cannot forward to. */
export const IMPORTED_SIDE_NOT_ROUTED =
  'switchyard: this side is imported and keeps its own load balancer; the stage listener cannot reach it (smoke: set verification.oldBaseUrl to compare answers)';

/** One side of the migration, whether Switchyard provisioned it or imported it. */
export interface IServiceEnvironment extends IConstruct {
  readonly side: Side;
  /** True for an environment referenced from existing resources (nothing created for it). */
  readonly imported: boolean;
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  readonly database: rds.IDatabaseInstance;
  /** Secret with the standard RDS JSON (host, port, username, password, dbname). */
  readonly databaseSecret: secretsmanager.ISecret;
  readonly databaseSecurityGroup: ec2.ISecurityGroup;
  readonly databasePort: number;
  readonly parameterPath: string;
  readonly secretPrefix: string;
  /** The Fargate service (provisioned environments only). */
  readonly service?: ecs.FargateService;
  /** The database identifier: a literal when it is known at synth time (fixed or imported), else a token. */
  readonly databaseIdentifier: string;
  /** Key encrypting the database, its secret and logs (provisioned environments). */
  readonly dataKey?: kms.IKey;
  /** ARN of the key encrypting the database's snapshots, when customer-managed and known. */
  readonly snapshotKeyArn?: string;
  /** The service's ECS ARNs, when Switchyard knows them. */
  readonly serviceArns?: { readonly clusterArn: string; readonly serviceArn: string };
  grantDatabaseSecretRead(grantee: iam.IGrantable): iam.Grant;
  grantDatabaseSecretWrite(grantee: iam.IGrantable): iam.Grant;
  grantRestoreFromSnapshot(grantee: iam.IGrantable): iam.Grant | undefined;
  grantRestartService(grantee: iam.IGrantable): iam.Grant | undefined;
  allowDatabaseFrom(
    scope: Construct,
    id: string,
    peer: ec2.ISecurityGroup,
    description?: string,
  ): ec2.CfnSecurityGroupIngress;
  parameterArnPattern(): string;
  secretArnPattern(): string;
  grantConfigRead(grantee: iam.IGrantable): iam.Grant;
  grantConfigWrite(grantee: iam.IGrantable): iam.Grant;
  denyDatabaseSecretWrite(grantee: iam.IGrantable): void;
}

/** @deprecated use {@link IServiceEnvironment}; kept so consumers typed `ServiceEnvironment` keep compiling. */
export type ServiceEnvironment = IServiceEnvironment;

export interface ProvisionedEnvironmentProps {
  /** Which side this environment is. */
  readonly side: Side;
  readonly config: ProvisionedEnvironmentConfig;
  /** The stage's VPC. */
  readonly vpc: ec2.IVpc;
  /**
   * The stage's listener. A direct-access rule (`x-switchyard-side: <side>`) is registered on it
   * so the target group is attached before the service starts.
   * @default - no direct-access rule
   */
  readonly listener?: elbv2.IApplicationListener;
  /** Deletion protection, snapshot on delete, retained keys. @default true */
  readonly protectData?: boolean;
  /**
   * Identifier of the database. A fixed name keeps snapshot and restore
   * permissions literal (no cross-stack tokens) and makes runbooks readable.
   * @default - generated by CloudFormation
   */
  readonly databaseInstanceIdentifier?: string;
}

export interface ImportedEnvironmentProps {
  /** Which side this environment is (in practice: old). */
  readonly side: Side;
  readonly config: ImportedEnvironmentConfig;
  /**
   * The stage's listener. An ALB target group serves one load balancer only, so the imported target
   * group (on its own load balancer) cannot be forwarded to from here. Its direct-access rule
   * (`x-switchyard-side: <side>`) answers 503 {@link IMPORTED_SIDE_NOT_ROUTED} instead: without it
   * the request would fall through to the catch-all rule and reach the other side, and a smoke
   * comparison would compare the new side with itself.
   * @default - no direct-access rule
   */
  readonly listener?: elbv2.IApplicationListener;
}

/** What both kinds of environment share: the grants, written once. */
abstract class EnvironmentBase extends Construct implements IServiceEnvironment {
  public abstract readonly side: Side;
  public abstract readonly imported: boolean;
  public abstract readonly targetGroup: elbv2.IApplicationTargetGroup;
  public abstract readonly database: rds.IDatabaseInstance;
  public abstract readonly databaseSecret: secretsmanager.ISecret;
  public abstract readonly databaseSecurityGroup: ec2.ISecurityGroup;
  public abstract readonly databasePort: number;
  public abstract readonly parameterPath: string;
  public abstract readonly secretPrefix: string;
  public abstract readonly service?: ecs.FargateService;
  public abstract readonly databaseIdentifier: string;
  public abstract readonly dataKey?: kms.IKey;
  public abstract readonly snapshotKeyArn?: string;
  public abstract readonly serviceArns?: { readonly clusterArn: string; readonly serviceArn: string };

  /**
   * Read the database credentials secret. Identity-policy only (the key policy
   * already trusts the account), so grantees in other stacks create no cycle.
   */
  public grantDatabaseSecretRead(grantee: iam.IGrantable): iam.Grant {
    this.grantSecretKey(grantee, ['kms:Decrypt']);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resourceArns: [this.databaseSecret.secretArn],
    });
  }

  /** Write a new version of the database credentials secret (data restore repoints it). */
  public grantDatabaseSecretWrite(grantee: iam.IGrantable): iam.Grant {
    this.grantSecretKey(grantee, ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
      resourceArns: [this.databaseSecret.secretArn],
    });
  }

  /**
   * Restore this side's database from its snapshots: an encrypted snapshot is restored with its
   * own key, for which RDS creates a grant on the caller's behalf (only through RDS in this region).
   */
  public grantRestoreFromSnapshot(grantee: iam.IGrantable): iam.Grant | undefined {
    const keyArn = this.snapshotKeyArn;
    if (!keyArn) return undefined; // aws/rds managed key: no grant needed
    const viaRds = { 'kms:ViaService': `rds.${Stack.of(this).region}.${Stack.of(this).urlSuffix}` };
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:DescribeKey'],
      resourceArns: [keyArn],
      conditions: { StringEquals: viaRds },
    });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:CreateGrant'],
      resourceArns: [keyArn],
      conditions: { StringEquals: viaRds, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    });
  }

  /** Force a new deployment of this side's service (and nothing else): RestoreData restarts the old side after repointing. */
  public grantRestartService(grantee: iam.IGrantable): iam.Grant | undefined {
    const arns = this.serviceArns;
    if (!arns) return undefined;
    return iam.Grant.addToPrincipal({ grantee, actions: ['ecs:UpdateService'], resourceArns: [arns.serviceArn] });
  }

  private grantSecretKey(grantee: iam.IGrantable, actions: string[]) {
    if (!this.dataKey) return; // imported secrets: their key policy is the owner's
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions,
        resources: [this.dataKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.${Stack.of(this).urlSuffix}` },
        },
      }),
    );
  }

  /**
   * Let `peer` open connections to this side's database. The ingress rule is
   * created in `scope` (the peer's stack), so the database's stack does not
   * come to depend on the peer's.
   */
  public allowDatabaseFrom(
    scope: Construct,
    id: string,
    peer: ec2.ISecurityGroup,
    description = 'Switchyard migration access',
  ): ec2.CfnSecurityGroupIngress {
    return new ec2.CfnSecurityGroupIngress(scope, id, {
      groupId: this.databaseSecurityGroup.securityGroupId,
      sourceSecurityGroupId: peer.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: this.databasePort,
      toPort: this.databasePort,
      description,
    });
  }

  /** ARN pattern of every SSM parameter under this side's path. */
  public parameterArnPattern(): string {
    return Arn.format(
      {
        service: 'ssm',
        resource: 'parameter',
        resourceName: `${this.parameterPath.replace(/^\//, '')}/*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      Stack.of(this),
    );
  }

  /** ARN pattern of every secret under this side's prefix. */
  public secretArnPattern(): string {
    return Arn.format(
      {
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${this.secretPrefix}/*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      Stack.of(this),
    );
  }

  /** Read this side's configuration: parameters under its path and secrets under its prefix. */
  public grantConfigRead(grantee: iam.IGrantable): iam.Grant {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:GetParameterHistory'],
      resourceArns: [this.parameterArnPattern()],
    });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'secretsmanager:GetSecretValue',
        'secretsmanager:DescribeSecret',
        'secretsmanager:ListSecretVersionIds',
      ],
      resourceArns: [this.secretArnPattern()],
    });
  }

  /**
   * Write this side's configuration (create/update/restore parameters and secrets under its namespace),
   * encrypted with this side's key (through SSM and Secrets Manager only). The database's own
   * credentials secret lies under the same prefix; it is explicitly denied: no config write may touch it.
   */
  public grantConfigWrite(grantee: iam.IGrantable): iam.Grant {
    this.grantConfigRead(grantee);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:AddTagsToResource', 'ssm:ListTagsForResource'],
      resourceArns: [this.parameterArnPattern()],
    });
    if (this.dataKey) {
      const region = Stack.of(this).region;
      const suffix = Stack.of(this).urlSuffix;
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [this.dataKey.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': [`ssm.${region}.${suffix}`, `secretsmanager.${region}.${suffix}`] },
          },
        }),
      );
    }
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'secretsmanager:CreateSecret',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecret',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:DeleteSecret',
        'secretsmanager:RestoreSecret',
        'secretsmanager:TagResource',
      ],
      resourceArns: [this.secretArnPattern()],
    });
    this.denyDatabaseSecretWrite(grantee);
    return grant;
  }

  /** Explicitly deny every write to this side's database credentials secret (an allow on the prefix cannot reach it). */
  public denyDatabaseSecretWrite(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        actions: [
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecret',
          'secretsmanager:UpdateSecretVersionStage',
          'secretsmanager:DeleteSecret',
          'secretsmanager:RestoreSecret',
          'secretsmanager:TagResource',
          'secretsmanager:CreateSecret',
        ],
        resources: [this.databaseSecret.secretArn, this.databaseSecretNamePattern()],
      }),
    );
  }

  /** `<prefix>/db-??????`: the database secret by name (CreateSecret authorizes against the name before an ARN exists). */
  private databaseSecretNamePattern(): string {
    return Arn.format(
      {
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${this.secretPrefix}/db-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      Stack.of(this),
    );
  }
}

/**
 * An environment that already exists (the old system nobody wants to redeploy): its target group,
 * RDS instance, security group and credentials secret are referenced, nothing is created. Whether
 * its database runs with logical replication is checked by Preflight, not assumed.
 */
export class ImportedServiceEnvironment extends EnvironmentBase {
  public readonly side: Side;
  public readonly imported = true;
  public readonly targetGroup: elbv2.IApplicationTargetGroup;
  public readonly database: rds.IDatabaseInstance;
  public readonly databaseSecret: secretsmanager.ISecret;
  public readonly databaseSecurityGroup: ec2.ISecurityGroup;
  public readonly databasePort: number;
  public readonly parameterPath: string;
  public readonly secretPrefix: string;
  public readonly service?: ecs.FargateService = undefined;
  public readonly databaseIdentifier: string;
  public readonly dataKey?: kms.IKey = undefined;
  public readonly snapshotKeyArn?: string;
  public readonly serviceArns?: { readonly clusterArn: string; readonly serviceArn: string };

  constructor(scope: Construct, id: string, props: ImportedEnvironmentProps) {
    super(scope, id);
    const cfg = props.config;
    this.side = props.side;
    this.parameterPath = cfg.parameterPath;
    this.secretPrefix = cfg.secretPrefix;
    this.databaseIdentifier = cfg.dbInstanceIdentifier;
    this.databasePort = cfg.dbPort;
    this.snapshotKeyArn = cfg.dbKmsKeyArn;
    this.serviceArns =
      cfg.ecsClusterArn && cfg.ecsServiceArn
        ? { clusterArn: cfg.ecsClusterArn, serviceArn: cfg.ecsServiceArn }
        : undefined;

    const securityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'DbSecurityGroup', cfg.dbSecurityGroupId, {
      mutable: true,
    });
    const database = rds.DatabaseInstance.fromDatabaseInstanceAttributes(this, 'Database', {
      instanceIdentifier: cfg.dbInstanceIdentifier,
      instanceEndpointAddress: cfg.dbEndpointAddress,
      port: cfg.dbPort,
      securityGroups: [securityGroup],
      engine: rds.DatabaseInstanceEngine.POSTGRES,
    });
    // A complete secret ARN ends in a 6-character suffix; anything else is a partial ARN.
    const secret = /-[A-Za-z0-9]{6}$/.test(cfg.dbSecretArn)
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'DbSecret', cfg.dbSecretArn)
      : secretsmanager.Secret.fromSecretPartialArn(this, 'DbSecret', cfg.dbSecretArn);
    const targetGroup = elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(this, 'TargetGroup', {
      targetGroupArn: cfg.targetGroupArn,
    });
    if (props.listener) {
      directAccessRule(
        this,
        this.side,
        props.listener,
        elbv2.ListenerAction.fixedResponse(503, { contentType: 'text/plain', messageBody: IMPORTED_SIDE_NOT_ROUTED }),
      );
    }
    this.targetGroup = targetGroup;
    this.database = database;
    this.databaseSecret = secret;
    this.databaseSecurityGroup = securityGroup;
  }
}

/**
 * A provisioned environment: its PostgreSQL database (encrypted, private, logical replication on,
 * credentials generated into Secrets Manager), its configuration namespace (SSM path + secret
 * prefix), and its Fargate service behind its own ALB target group.
 * `ServiceEnvironment.fromImported` references an existing one instead.
 */
export class ProvisionedServiceEnvironment extends EnvironmentBase {
  public readonly side: Side;
  public readonly imported = false;
  public readonly targetGroup: elbv2.IApplicationTargetGroup;
  public readonly database: rds.IDatabaseInstance;
  public readonly databaseSecret: secretsmanager.ISecret;
  public readonly databaseSecurityGroup: ec2.ISecurityGroup;
  public readonly databasePort: number;
  public readonly parameterPath: string;
  public readonly secretPrefix: string;
  public readonly service: ecs.FargateService;
  public readonly databaseIdentifier: string;
  public readonly dataKey: kms.IKey;
  /** The database's parameter group (logical replication settings; see {@link SYNC_PARAMETERS}). */
  public readonly parameterGroup: rds.IParameterGroup;

  /** Reference an existing environment instead of provisioning one. */
  public static fromImported(scope: Construct, id: string, props: ImportedEnvironmentProps): IServiceEnvironment {
    return new ImportedServiceEnvironment(scope, id, props);
  }

  constructor(scope: Construct, id: string, props: ProvisionedEnvironmentProps) {
    super(scope, id);
    this.side = props.side;
    this.parameterPath = props.config.parameterPath;
    this.secretPrefix = props.config.secretPrefix;
    const parts = this.provision(
      props.config,
      props.vpc,
      props.protectData ?? true,
      props.listener,
      props.databaseInstanceIdentifier,
    );
    this.targetGroup = parts.targetGroup;
    this.database = parts.database;
    this.databaseSecret = parts.secret;
    this.databaseSecurityGroup = parts.securityGroup;
    this.databasePort = parts.port;
    this.service = parts.service;
    this.dataKey = parts.key;
    this.parameterGroup = parts.parameterGroup;
    this.databaseIdentifier = props.databaseInstanceIdentifier ?? this.database.instanceIdentifier;
  }

  public get snapshotKeyArn(): string {
    return this.dataKey.keyArn;
  }

  public get serviceArns(): { readonly clusterArn: string; readonly serviceArn: string } {
    return { clusterArn: this.service.cluster.clusterArn, serviceArn: this.service.serviceArn };
  }

  private provision(
    cfg: ProvisionedEnvironmentConfig,
    vpc: ec2.IVpc,
    protect: boolean,
    listener?: elbv2.IApplicationListener,
    dbId?: string,
  ) {
    const removalPolicy = protect ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const key = new kms.Key(this, 'DataKey', {
      description: `Switchyard ${this.side} environment: database storage and logs`,
      enableKeyRotation: true,
      removalPolicy,
    });

    const securityGroup = new ec2.SecurityGroup(this, 'DbSecurityGroup', {
      vpc,
      description: `Switchyard ${this.side} database`,
      allowAllOutbound: false,
    });
    const { database, parameterGroup } = this.provisionDatabase(cfg, vpc, key, securityGroup, protect, dbId);
    const secret = database.secret!;

    new ssm.StringParameter(this, 'DbHostParam', {
      parameterName: `${cfg.parameterPath}/db/host`,
      stringValue: database.dbInstanceEndpointAddress,
      description: 'Database endpoint',
    });
    new ssm.StringParameter(this, 'DbPortParam', {
      parameterName: `${cfg.parameterPath}/db/port`,
      stringValue: String(cfg.database.port),
      description: 'Database port',
    });
    new ssm.StringParameter(this, 'DbNameParam', {
      parameterName: `${cfg.parameterPath}/db/name`,
      stringValue: cfg.database.databaseName,
      description: 'Database name',
    });

    const targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc,
      port: cfg.compute.containerPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      deregistrationDelay: Duration.seconds(30),
      healthCheck: { path: cfg.compute.healthCheckPath, interval: Duration.seconds(15), healthyThresholdCount: 2 },
    });
    let directRule: elbv2.ApplicationListenerRule | undefined;
    if (listener) {
      // Direct access to this side for smoke tests; also attaches the target group to the load balancer.
      directRule = directAccessRule(this, this.side, listener, elbv2.ListenerAction.forward([targetGroup]));
    }
    const service = this.provisionService(cfg, vpc, key, secret, targetGroup, removalPolicy);
    // ECS refuses a target group that no load balancer uses yet: start the service after the rule.
    if (directRule) service.node.addDependency(directRule);
    database.connections.allowDefaultPortFrom(service, 'Service to database');
    return { targetGroup, database, secret, securityGroup, port: cfg.database.port, service, key, parameterGroup };
  }

  private provisionDatabase(
    cfg: ProvisionedEnvironmentConfig,
    vpc: ec2.IVpc,
    key: kms.IKey,
    securityGroup: ec2.ISecurityGroup,
    protect: boolean,
    instanceIdentifier?: string,
  ) {
    const engine = rds.DatabaseInstanceEngine.postgres({
      version: rds.PostgresEngineVersion.of(cfg.database.engineVersion, cfg.database.engineVersion),
    });
    const parameterGroup = new rds.ParameterGroup(this, 'DbParameters', {
      engine,
      description: `Switchyard ${this.side} database: TLS only, logical replication for sync (static parameters: a change needs a reboot)`,
      parameters: {
        'rds.force_ssl': '1',
        log_min_duration_statement: '1000',
        idle_in_transaction_session_timeout: '600000',
        ...syncParameters(cfg.database.allocatedStorageGiB),
      },
    });
    const database = new rds.DatabaseInstance(this, 'Database', {
      instanceIdentifier,
      engine,
      parameterGroup,
      instanceType: new ec2.InstanceType(cfg.database.instanceClass),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      port: cfg.database.port,
      databaseName: cfg.database.databaseName,
      credentials: rds.Credentials.fromGeneratedSecret('switchyard', {
        secretName: `${cfg.secretPrefix}/db`,
        encryptionKey: key,
      }),
      allocatedStorage: cfg.database.allocatedStorageGiB,
      storageType: rds.StorageType.GP3,
      storageEncrypted: true,
      storageEncryptionKey: key,
      multiAz: cfg.database.multiAz,
      publiclyAccessible: false,
      iamAuthentication: true,
      backupRetention: Duration.days(cfg.database.backupRetentionDays),
      copyTagsToSnapshot: true,
      deletionProtection: protect,
      removalPolicy: protect ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      cloudwatchLogsExports: ['postgresql'],
      cloudwatchLogsRetention: logs.RetentionDays.ONE_MONTH,
      autoMinorVersionUpgrade: true,
    });
    Validations.of(database).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating credentials mid-migration would break running copy and sync phases; rotation is enabled by the service owner after Finalize.',
    });
    this.acknowledgeLogRetentionFunction();
    if (cfg.database.port === 5432) {
      Validations.of(database).acknowledge({
        id: 'AwsSolutions-RDS11',
        reason:
          'The default port is kept so existing clients keep working; the database is in isolated subnets reachable only from listed security groups.',
      });
    }
    if (!cfg.database.multiAz) {
      Validations.of(database).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason: 'Single-AZ is a per-stage cost choice in the stage config (multiAz: false).',
      });
    }
    if (!protect) {
      Validations.of(database).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: 'Throwaway stage (protectData: false): deletion protection would block teardown.',
      });
    }
    return { database, parameterGroup };
  }

  /** `cloudwatchLogsRetention` uses CDK's stack-wide log-retention function; its findings are CDK's own. */
  private acknowledgeLogRetentionFunction() {
    const fn = Stack.of(this).node.tryFindChild('LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a');
    if (!fn) return;
    Validations.of(fn).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'CDK-managed log-retention function that sets the retention of the RDS log group; it only needs basic execution logging.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'CDK-managed log-retention function: logs:PutRetentionPolicy/DeleteRetentionPolicy on log groups named at deploy time.',
      },
    );
  }

  private provisionService(
    cfg: ProvisionedEnvironmentConfig,
    vpc: ec2.IVpc,
    key: kms.IKey,
    secret: secretsmanager.ISecret,
    targetGroup: elbv2.ApplicationTargetGroup,
    removalPolicy: RemovalPolicy,
  ) {
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: cfg.compute.cpu,
      memoryLimitMiB: cfg.compute.memoryMiB,
    });
    const logGroup = new logs.LogGroup(this, 'ServiceLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      encryptionKey: key,
      removalPolicy,
    });
    key.grantEncryptDecrypt(new iam.ServicePrincipal(`logs.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`));
    taskDefinition.addContainer('app', {
      image: ecs.ContainerImage.fromRegistry(cfg.compute.image),
      portMappings: [{ containerPort: cfg.compute.containerPort }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'app', logGroup }),
      environment: { SWITCHYARD_SIDE: this.side, CONFIG_PARAMETER_PATH: cfg.parameterPath },
      secrets: { DATABASE_SECRET: ecs.Secret.fromSecretsManager(secret) },
    });
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'Only non-secret values (side name, parameter path) are environment variables; credentials come from Secrets Manager via ECS secrets.',
    });
    const service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: cfg.compute.desiredCount,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
    });
    service.attachToApplicationTargetGroup(targetGroup);
    return service;
  }
}
