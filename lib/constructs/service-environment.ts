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
import { Construct } from 'constructs';
import type { EnvironmentConfig, ImportedEnvironmentConfig, ProvisionedEnvironmentConfig } from '../config/stage-config';

/** Which side of the migration an environment is. */
export type Side = 'old' | 'new';

/** The header that routes a request straight to one side, bypassing the weights (smoke tests). */
export const DIRECT_ACCESS_HEADER = 'x-switchyard-side';

export interface ServiceEnvironmentProps {
  /** Which side this environment is. */
  readonly side: Side;
  /** Provisioned or imported environment configuration. */
  readonly config: EnvironmentConfig;
  /** The stage's VPC (provisioned environments only use it). */
  readonly vpc: ec2.IVpc;
  /**
   * The stage's listener. A provisioned environment registers a direct-access rule
   * (`x-switchyard-side: <side>`) on it so its target group is attached before the service starts.
   * @default - no direct-access rule
   */
  readonly listener?: elbv2.IApplicationListener;
  /** Deletion protection, snapshot on delete, retained keys. @default true */
  readonly protectData?: boolean;
}

/**
 * One side of the migration: its PostgreSQL database and credentials secret,
 * its configuration namespace (SSM path + secret prefix), and its compute behind
 * its own ALB target group. Provisioned here, or imported from existing identifiers.
 */
export class ServiceEnvironment extends Construct {
  public readonly side: Side;
  public readonly imported: boolean;
  public readonly targetGroup: elbv2.IApplicationTargetGroup;
  public readonly database: rds.IDatabaseInstance;
  /** Secret with the standard RDS JSON (host, port, username, password, dbname). */
  public readonly databaseSecret: secretsmanager.ISecret;
  public readonly databaseSecurityGroup: ec2.ISecurityGroup;
  public readonly databasePort: number;
  public readonly parameterPath: string;
  public readonly secretPrefix: string;
  /** The Fargate service (provisioned environments only). */
  public readonly service?: ecs.FargateService;

  constructor(scope: Construct, id: string, props: ServiceEnvironmentProps) {
    super(scope, id);
    this.side = props.side;
    this.parameterPath = props.config.parameterPath;
    this.secretPrefix = props.config.secretPrefix;
    this.imported = props.config.mode === 'imported';
    const parts =
      props.config.mode === 'imported'
        ? this.importExisting(props.config)
        : this.provision(props.config, props.vpc, props.protectData ?? true, props.listener);
    this.targetGroup = parts.targetGroup;
    this.database = parts.database;
    this.databaseSecret = parts.secret;
    this.databaseSecurityGroup = parts.securityGroup;
    this.databasePort = parts.port;
    this.service = parts.service;
  }

  /** Let `peer` open connections to this side's database (e.g. the data-copy functions). */
  public allowDatabaseFrom(peer: ec2.IConnectable, description = 'Switchyard migration access') {
    this.database.connections.allowFrom(peer, ec2.Port.tcp(this.databasePort), description);
  }

  /** ARN pattern of every SSM parameter under this side's path. */
  public parameterArnPattern(): string {
    return Arn.format(
      { service: 'ssm', resource: 'parameter', resourceName: `${this.parameterPath.replace(/^\//, '')}/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME },
      Stack.of(this),
    );
  }

  /** ARN pattern of every secret under this side's prefix. */
  public secretArnPattern(): string {
    return Arn.format(
      { service: 'secretsmanager', resource: 'secret', resourceName: `${this.secretPrefix}/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME },
      Stack.of(this),
    );
  }

  /** Read this side's configuration: parameters under its path and secrets under its prefix. */
  public grantConfigRead(grantee: iam.IGrantable): iam.Grant {
    iam.Grant.addToPrincipal({ grantee, actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:GetParameterHistory'], resourceArns: [this.parameterArnPattern()] });
    return iam.Grant.addToPrincipal({ grantee, actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret', 'secretsmanager:ListSecretVersionIds'], resourceArns: [this.secretArnPattern()] });
  }

  /** Write this side's configuration (create/update/restore parameters and secrets under its namespace). */
  public grantConfigWrite(grantee: iam.IGrantable): iam.Grant {
    this.grantConfigRead(grantee);
    iam.Grant.addToPrincipal({ grantee, actions: ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:AddTagsToResource'], resourceArns: [this.parameterArnPattern()] });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage', 'secretsmanager:DeleteSecret', 'secretsmanager:TagResource'],
      resourceArns: [this.secretArnPattern()],
    });
  }

  private importExisting(cfg: ImportedEnvironmentConfig) {
    const securityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'DbSecurityGroup', cfg.dbSecurityGroupId, { mutable: true });
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
    const targetGroup = elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(this, 'TargetGroup', { targetGroupArn: cfg.targetGroupArn });
    return { targetGroup, database, secret, securityGroup, port: cfg.dbPort, service: undefined };
  }

  private provision(cfg: ProvisionedEnvironmentConfig, vpc: ec2.IVpc, protect: boolean, listener?: elbv2.IApplicationListener) {
    const removalPolicy = protect ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const key = new kms.Key(this, 'DataKey', {
      description: `Switchyard ${this.side} environment: database storage and logs`,
      enableKeyRotation: true,
      removalPolicy,
    });

    const securityGroup = new ec2.SecurityGroup(this, 'DbSecurityGroup', { vpc, description: `Switchyard ${this.side} database`, allowAllOutbound: false });
    const database = this.provisionDatabase(cfg, vpc, key, securityGroup, protect);
    const secret = database.secret!;

    new ssm.StringParameter(this, 'DbHostParam', { parameterName: `${cfg.parameterPath}/db/host`, stringValue: database.dbInstanceEndpointAddress, description: 'Database endpoint' });
    new ssm.StringParameter(this, 'DbPortParam', { parameterName: `${cfg.parameterPath}/db/port`, stringValue: String(cfg.database.port), description: 'Database port' });
    new ssm.StringParameter(this, 'DbNameParam', { parameterName: `${cfg.parameterPath}/db/name`, stringValue: cfg.database.databaseName, description: 'Database name' });

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
      directRule = new elbv2.ApplicationListenerRule(this, 'DirectAccessRule', {
        listener,
        priority: this.side === 'old' ? 10 : 20,
        conditions: [elbv2.ListenerCondition.httpHeader(DIRECT_ACCESS_HEADER, [this.side])],
        action: elbv2.ListenerAction.forward([targetGroup]),
      });
    }
    const service = this.provisionService(cfg, vpc, key, secret, targetGroup, removalPolicy);
    // ECS refuses a target group that no load balancer uses yet: start the service after the rule.
    if (directRule) service.node.addDependency(directRule);
    database.connections.allowDefaultPortFrom(service, 'Service to database');
    return { targetGroup, database, secret, securityGroup, port: cfg.database.port, service };
  }

  private provisionDatabase(cfg: ProvisionedEnvironmentConfig, vpc: ec2.IVpc, key: kms.IKey, securityGroup: ec2.ISecurityGroup, protect: boolean) {
    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.of(cfg.database.engineVersion, cfg.database.engineVersion) });
    const parameterGroup = new rds.ParameterGroup(this, 'DbParameters', {
      engine,
      parameters: { 'rds.force_ssl': '1', log_min_duration_statement: '1000', idle_in_transaction_session_timeout: '600000' },
    });
    const database = new rds.DatabaseInstance(this, 'Database', {
      engine,
      parameterGroup,
      instanceType: new ec2.InstanceType(cfg.database.instanceClass),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      port: cfg.database.port,
      databaseName: cfg.database.databaseName,
      credentials: rds.Credentials.fromGeneratedSecret('switchyard', { secretName: `${cfg.secretPrefix}/db`, encryptionKey: key }),
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
      reason: 'Rotating credentials mid-migration would break running copy/catch-up phases; rotation is enabled by the service owner after Finalize.',
    });
    this.acknowledgeLogRetentionFunction();
    if (cfg.database.port === 5432) {
      Validations.of(database).acknowledge({
        id: 'AwsSolutions-RDS11',
        reason: 'The default port is kept so existing clients keep working; the database is in isolated subnets reachable only from listed security groups.',
      });
    }
    if (!cfg.database.multiAz) {
      Validations.of(database).acknowledge({ id: 'AwsSolutions-RDS3', reason: 'Single-AZ is a per-stage cost choice in the stage config (multiAz: false).' });
    }
    if (!protect) {
      Validations.of(database).acknowledge({ id: 'AwsSolutions-RDS10', reason: 'Throwaway stage (protectData: false): deletion protection would block teardown.' });
    }
    return database;
  }

  /** `cloudwatchLogsRetention` uses CDK's stack-wide log-retention function; its findings are CDK's own. */
  private acknowledgeLogRetentionFunction() {
    const fn = Stack.of(this).node.tryFindChild('LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a');
    if (!fn) return;
    Validations.of(fn).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'CDK-managed log-retention function that sets the retention of the RDS log group; it only needs basic execution logging.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'CDK-managed log-retention function: logs:PutRetentionPolicy/DeleteRetentionPolicy on log groups named at deploy time.',
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
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', { cpu: cfg.compute.cpu, memoryLimitMiB: cfg.compute.memoryMiB });
    const logGroup = new logs.LogGroup(this, 'ServiceLogs', { retention: logs.RetentionDays.ONE_MONTH, encryptionKey: key, removalPolicy });
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
      reason: 'Only non-secret values (side name, parameter path) are environment variables; credentials come from Secrets Manager via ECS secrets.',
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
