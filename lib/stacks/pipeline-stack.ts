import { ArnFormat, DefaultStackSynthesizer, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as pipelines from 'aws-cdk-lib/pipelines';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config/pipeline-config';
import type { StageConfig } from '../config/stage-config';
import { acknowledgeWildcards } from '../constructs/wildcard-acks';
import { SwitchyardStage } from './switchyard-stage';

export interface PipelineStackProps extends StackProps {
  readonly pipeline: PipelineConfig;
  /** Stages in promotion order (dev, staging, prod). */
  readonly stages: readonly StageConfig[];
}

/**
 * CDK Pipelines promotion: source -> synth (npm ci, npm test, cdk synth) -> each stage in order;
 * after each stage deploys, a gate dry run of its Migrate workflow must report "go"; stages with
 * `requireApproval` wait for a manual approval first.
 */
export class PipelineStack extends Stack {
  public readonly pipeline: pipelines.CodePipeline;
  public readonly stages: SwitchyardStage[] = [];

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    if (!props.stages.length) throw new Error('stages must list at least one stage, got: none');
    const p = props.pipeline;
    const source = pipelines.CodePipelineSource.connection(p.repository, p.branch, { connectionArn: p.connectionArn });
    const context = synthContext(p, props.stages);
    this.pipeline = new pipelines.CodePipeline(this, 'Pipeline', {
      pipelineName: 'switchyard',
      crossAccountKeys: true,
      enableKeyRotation: true,
      synth: new pipelines.ShellStep('Synth', {
        input: source,
        commands: ['npm ci', 'npm test', `npx cdk synth ${context.join(' ')}`],
      }),
    });

    for (const cfg of props.stages) {
      const stage = new SwitchyardStage(this, cfg.stageName, { config: cfg });
      this.stages.push(stage);
      const gate = gateDryRun(stage, cfg.stageName, source);
      // Fault drills before the stage deploys: the writing rehearsal with an unhealthy step and a failed
      // phase; a drill that lost an acknowledged write or ended split stops the promotion (exit 1).
      const drills = new pipelines.ShellStep(`FaultDrills-${cfg.stageName}`, {
        input: source,
        commands: ['npm ci', `npm run drill -- --stage ${cfg.stageName}`],
      });
      const approval = cfg.requireApproval
        ? new pipelines.ManualApprovalStep(`Approve-${cfg.stageName}`, {
            comment: `Promote to ${cfg.stageName}: the fault drills passed and the gate dry runs of the earlier stages reported go.`,
          })
        : undefined;
      approval?.addStepDependency(drills);
      this.pipeline.addStage(stage, {
        pre: [drills, ...(approval ? [approval] : [])],
        post: [gate],
      });
    }
    this.pipeline.buildPipeline();
    this.scopeBootstrapRoleAssumption(props.stages);
    this.acknowledgePipelineFindings();
  }

  /**
   * CDK Pipelines lets self-mutation assume any tagged role in the account (`role/*`). Narrow it to
   * the CDK bootstrap roles (`cdk-<qualifier>-*`) of the accounts it deploys to: the pipeline's own
   * and every stage's configured account. The bootstrap-role tag condition stays.
   */
  private scopeBootstrapRoleAssumption(stages: readonly StageConfig[]) {
    const qualifier =
      (this.synthesizer as { bootstrapQualifier?: string }).bootstrapQualifier ??
      DefaultStackSynthesizer.DEFAULT_QUALIFIER;
    const accounts = [...new Set([this.account, ...stages.map((s) => s.account ?? this.account)])];
    const roles = accounts.map((account) =>
      this.formatArn({ service: 'iam', region: '', account, resource: 'role', resourceName: `cdk-${qualifier}-*` }),
    );
    for (const c of this.node.findAll()) {
      if (!(c instanceof iam.CfnPolicy) || !c.node.path.includes('SelfMutation')) continue;
      const doc = this.resolve(c.policyDocument) as { Statement: { Action: string | string[]; Resource: unknown }[] };
      doc.Statement.forEach((st, i) => {
        if ([st.Action].flat().includes('sts:AssumeRole') && JSON.stringify(st.Resource).includes(':role/*')) {
          c.addPropertyOverride(`PolicyDocument.Statement.${i}.Resource`, roles);
        }
      });
    }
  }

  /** CDK Pipelines creates its roles and artifact store; what nag flags there is the construct's own design. */
  private acknowledgePipelineFindings() {
    const artifacts = this.pipeline.pipeline.artifactBucket;
    Validations.of(artifacts).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Pipeline artifact bucket: KMS-encrypted, private, written only by the pipeline roles; access logging adds no audit value over CloudTrail.',
    });
    const actionReason = (a: string) =>
      /^(s3|kms):/.test(a) ? `CDK Pipelines grants ${a} on its own artifact bucket and key only.` : undefined;
    const resourceReason = (r: string) => {
      if (r === '*')
        return 'Actions without resource-level permissions (e.g. codebuild report, ec2 describe) used by CDK Pipelines build and self-mutation roles.';
      if (/:log-group:\/aws\/codebuild\//.test(r) || /:report-group\//.test(r))
        return 'CodeBuild writes its own log streams and report groups, named per build.';
      if (/ArtifactsBucket[A-Za-z0-9]*\.Arn>\/\*$/.test(r)) return "Objects in the pipeline's own artifact bucket.";
      if (/:iam::\d+:role\/\*$/.test(r) || /:role\/cdk-/.test(r))
        return 'Self-mutation and asset publishing assume the CDK bootstrap roles, whose names include a qualifier.';
      if (/:execution:switchyard-[a-z0-9-]+-migrate:\*$/.test(r))
        return "The gate dry run follows executions of this stage's Migrate state machine; execution names are per build.";
      if (/:stack\/switchyard-[a-z0-9-]+-migration\/\*$/.test(r))
        return 'The gate dry run reads the migration stack outputs; the stack id suffix is assigned by CloudFormation.';
      return undefined;
    };
    for (const c of this.node.findAll()) {
      if (c instanceof iam.Policy) acknowledgeWildcards(c, resourceReason, actionReason);
    }
  }
}

/** The synth step's `-c` context: the pipeline's source and account, each stage's account and region. */
function synthContext(p: PipelineConfig, stages: readonly StageConfig[]): string[] {
  return [
    `-c pipeline:repository=${p.repository}`,
    `-c pipeline:branch=${p.branch}`,
    `-c pipeline:connectionArn=${p.connectionArn}`,
  ]
    .concat(p.account ? [`-c pipeline:account=${p.account}`] : [], p.region ? [`-c pipeline:region=${p.region}`] : [])
    .concat(
      stages.flatMap((s) => [
        ...(s.account ? [`-c ${s.stageName}:account=${s.account}`] : []),
        ...(s.region ? [`-c ${s.stageName}:region=${s.region}`] : []),
      ]),
    );
}

/**
 * After a stage deploys: a dry run of its Migrate workflow (the gate: Preflight must report go), with
 * the exact permissions it needs on that stage's state machine, executions and stack.
 */
function gateDryRun(
  stage: SwitchyardStage,
  stageName: string,
  source: pipelines.IFileSetProducer,
): pipelines.CodeBuildStep {
  const migrate = Stack.of(stage.migration).formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: `switchyard-${stageName}-migrate`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const executions = Stack.of(stage.migration).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `switchyard-${stageName}-migrate:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  return new pipelines.CodeBuildStep(`GateDryRun-${stageName}`, {
    input: source,
    commands: [
      'npm ci',
      `npm run switchyard -- start --stage ${stageName} --migration-id gate-$CODEBUILD_BUILD_NUMBER --dry-run`,
    ],
    rolePolicyStatements: [
      new iam.PolicyStatement({
        actions: ['states:StartExecution', 'states:ListExecutions'],
        resources: [migrate],
      }),
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resources: [executions],
      }),
      new iam.PolicyStatement({
        actions: ['cloudformation:DescribeStacks'],
        resources: [
          Stack.of(stage.migration).formatArn({
            service: 'cloudformation',
            resource: 'stack',
            resourceName: `switchyard-${stageName}-migration/*`,
          }),
        ],
      }),
    ],
  });
}
