import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { SYNC_TASK } from '../../lambda/core/limits';
import { handlerSourceHash } from './handler-bundle';
import type { PhaseFunction } from './phase-function';
import type { IServiceEnvironment } from './service-environment';
import { acknowledgeWildcards } from './wildcard-acks';

const ROOT = path.join(__dirname, '..', '..');
/** The container's entry: the continuous sync until SIGTERM. */
export const SYNC_TASK_ENTRY = path.join(ROOT, 'bin', 'sync-task.ts');
const CONTAINER = 'sync-task';

export interface SyncTaskProps {
  readonly stageName: string;
  readonly vpc: ec2.IVpc;
  /** The group the databases admit (the database phases' own). */
  readonly securityGroup: ec2.ISecurityGroup;
  readonly oldEnvironment: IServiceEnvironment;
  readonly newEnvironment: IServiceEnvironment;
  /** Fargate CPU units. @default SYNC_TASK.cpu.default */
  readonly cpu?: number;
  /** @default SYNC_TASK.memoryMiB.default */
  readonly memoryMiB?: number;
  /** @default - the task's own default (DEFAULT_SPEC_NAME) */
  readonly specName?: string;
  /** @default 'verify-full' */
  readonly databaseTls?: 'verify-full' | 'require';
  /** @default RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * `sync.runner: ecs`: the long-running sync as a Fargate task in the stage's private subnets, in
 * the database phases' security group. Its image is the bundled bin/sync-task.ts on Node.js (built
 * at synth from the repository: only the bundle and a Dockerfile are staged). Its environment holds
 * identifiers and the two database secrets' ARNs; it reads the credentials with the SDK at start.
 * The Sync phase starts it (RunTask), watches and stops it; `grantControl` gives a phase function that.
 */
export class SyncTask extends Construct {
  public readonly cluster: ecs.Cluster;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly logGroup: logs.LogGroup;
  private readonly subnets: ec2.SelectedSubnets;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: SyncTaskProps,
  ) {
    super(scope, id);
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    // x86_64 on both ends: the image builds natively wherever CDK runs (CodeBuild, a laptop) without emulation.
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? SYNC_TASK.cpu.default,
      memoryLimitMiB: props.memoryMiB ?? SYNC_TASK.memoryMiB.default,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.taskDefinition.addContainer(CONTAINER, {
      image: ecs.ContainerImage.fromAsset(stagedImage(Stack.of(this).bundlingRequired), {
        platform: Platform.LINUX_AMD64,
      }),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'sync-task', logGroup: this.logGroup }),
      readonlyRootFilesystem: true,
      // ECS sends SIGTERM, then SIGKILL after this: the engine finishes the transaction it applies first
      // (a kill rolls the open destination transaction back; the slot still holds it, nothing lost).
      stopTimeout: Duration.seconds(SYNC_TASK.stopTimeoutSeconds),
      environment: {
        SWITCHYARD_STAGE: props.stageName,
        ...(props.specName ? { SPEC_NAME: props.specName } : {}),
        SOURCE_DB_SECRET_ARN: props.oldEnvironment.databaseSecret.secretArn,
        TARGET_DB_SECRET_ARN: props.newEnvironment.databaseSecret.secretArn,
        DB_TLS: props.databaseTls ?? 'verify-full',
      },
    });
    props.oldEnvironment.grantDatabaseSecretRead(this.taskDefinition.taskRole);
    props.newEnvironment.grantDatabaseSecretRead(this.taskDefinition.taskRole);
    this.subnets = props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    const pull = this.taskDefinition.executionRole?.node.tryFindChild('DefaultPolicy');
    if (pull)
      acknowledgeWildcards(pull, (r) =>
        r === '*'
          ? 'ecr:GetAuthorizationToken (pulling the image from the CDK assets repository) has no resource-level permissions.'
          : undefined,
      );
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'Only identifiers are environment variables (stage, spec, TLS mode, the database secrets ARNs); ' +
        'the task reads the credentials from Secrets Manager at start.',
    });
  }

  /** The settings a phase function needs to start, watch and stop the task (ARNs and ids only). */
  environment(): Record<string, string> {
    return {
      SYNC_TASK_CLUSTER_ARN: this.cluster.clusterArn,
      SYNC_TASK_DEFINITION_ARN: this.taskDefinition.taskDefinitionArn,
      SYNC_TASK_CONTAINER: CONTAINER,
      SYNC_TASK_SUBNETS: this.subnets.subnetIds.join(','),
      SYNC_TASK_SECURITY_GROUPS: this.props.securityGroup.securityGroupId,
    };
  }

  /** Let `fn` run this task definition on this cluster, pass its roles, and list, describe and stop its tasks. */
  grantControl(fn: PhaseFunction): void {
    for (const [k, v] of Object.entries(this.environment())) fn.addEnvironment(k, v);
    const onCluster = { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } };
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:RunTask'],
        resources: [this.taskDefinition.taskDefinitionArn],
        conditions: onCluster,
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.taskDefinition.taskRole.roleArn, this.taskDefinition.obtainExecutionRole().roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:ListTasks', 'ecs:DescribeTasks', 'ecs:StopTask'],
        resources: ['*'],
        conditions: onCluster,
      }),
    );
    const policy = fn.role?.node.tryFindChild('DefaultPolicy');
    if (policy)
      acknowledgeWildcards(policy, (r) =>
        r === '*'
          ? "ListTasks, DescribeTasks and StopTask act on the sync task cluster's tasks only (condition ecs:cluster); task ids are generated at run time."
          : undefined,
      );
  }
}

/**
 * The image's build context: the esbuild bundle of bin/sync-task.ts and a Dockerfile, in a
 * directory named by the sources' hash (built once per set of sources). A synth that skips bundling
 * (tests) stages the Dockerfile and a placeholder only.
 */
export function stagedImage(bundle: boolean): string {
  const hash = createHash('sha256')
    .update(handlerSourceHash())
    .update(fs.readFileSync(SYNC_TASK_ENTRY))
    .update(DOCKERFILE)
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(os.tmpdir(), `switchyard-sync-task-${hash}${bundle ? '' : '-unbundled'}`);
  const entry = path.join(dir, 'index.js');
  if (fs.existsSync(entry)) return dir;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE);
  if (!bundle) {
    fs.writeFileSync(entry, '// bundling skipped for this synth\n');
    return dir;
  }
  buildSync({
    entryPoints: [SYNC_TASK_ENTRY],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    outfile: path.join(dir, 'index.tmp.js'),
    external: ['pg-native'],
    logLevel: 'error',
  });
  fs.renameSync(path.join(dir, 'index.tmp.js'), entry);
  return dir;
}

const DOCKERFILE = `FROM public.ecr.aws/docker/library/node:22-slim
WORKDIR /app
COPY index.js ./
USER node
CMD ["node", "index.js"]
`;
