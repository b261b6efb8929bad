import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { pipelineConfigFromContext } from '../../../lib/config/pipeline-config';
import { loadStageConfig, STAGE_NAMES } from '../../../lib/config/stages';
import { PipelineStack } from '../../../lib/stacks/pipeline-stack';
import { addSwitchyardStages } from '../../../lib/switchyard-app';

const PIPELINE = {
  repository: 'acme/switchyard',
  branch: 'main',
  connectionArn: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/abc-123',
};

describe('PipelineStack', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new PipelineStack(app, 'Pipe', {
    env: { account: '111111111111', region: 'eu-west-1' },
    pipeline: PIPELINE,
    stages: STAGE_NAMES.map((s) => loadStageConfig(s)),
  });
  const t = Template.fromStack(stack);
  const pipeline = Object.values(t.findResources('AWS::CodePipeline::Pipeline'))[0].Properties;
  const stageNames = (pipeline.Stages as { Name: string }[]).map((s) => s.Name);
  const actions = (stage: string) =>
    (
      pipeline.Stages as {
        Name: string;
        Actions: { Name: string; ActionTypeId: { Category: string }; RunOrder: number }[];
      }[]
    ).find((s) => s.Name === stage)!.Actions;

  test('promotes dev -> staging -> prod after source, synth and self-mutation', () => {
    expect(stageNames).toEqual(['Source', 'Build', 'UpdatePipeline', 'Assets', 'dev', 'staging', 'prod']);
  });

  test('synth runs npm ci, npm test and cdk synth from the connection source', () => {
    const source = actions('Source')[0] as unknown as { Configuration: Record<string, string> };
    expect(source.Configuration).toMatchObject({
      ConnectionArn: PIPELINE.connectionArn,
      FullRepositoryId: 'acme/switchyard',
      BranchName: 'main',
    });
    const synth = JSON.stringify(t.findResources('AWS::CodeBuild::Project'));
    expect(synth).toContain('npm ci');
    expect(synth).toContain('npm test');
    expect(synth).toContain('npx cdk synth -c pipeline:repository=acme/switchyard');
  });

  test('a manual approval stands in front of prod only', () => {
    const approvals = (s: string) => actions(s).filter((a) => a.ActionTypeId.Category === 'Approval');
    expect(approvals('prod').map((a) => a.Name)).toEqual(['Approve-prod']);
    expect(approvals('prod')[0].RunOrder).toBe(2); // after the fault drills
    expect(approvals('dev')).toEqual([]);
    expect(approvals('staging')).toEqual([]);
  });

  test('each stage starts with the fault drills (writing rehearsal, unhealthy step and failed phase) before anything deploys', () => {
    for (const s of STAGE_NAMES) {
      const drills = actions(s).filter((a) => a.Name === `FaultDrills-${s}`);
      expect(drills.map((a) => a.RunOrder)).toEqual([1]);
      expect(
        Math.min(
          ...actions(s)
            .filter((a) => a.ActionTypeId.Category === 'Deploy')
            .map((a) => a.RunOrder),
        ),
      ).toBeGreaterThan(1);
    }
    expect(JSON.stringify(t.findResources('AWS::CodeBuild::Project'))).toContain('npm run drill -- --stage prod');
  });

  test('each stage ends with a gate dry run of its Migrate workflow that must report go', () => {
    for (const s of STAGE_NAMES) {
      const gate = actions(s).find((a) => a.Name === `GateDryRun-${s}`)!;
      const deploys = actions(s).filter((a) => a.ActionTypeId.Category === 'Deploy');
      expect(gate.RunOrder).toBeGreaterThan(Math.max(...deploys.map((d) => d.RunOrder)));
    }
    t.hasResourceProperties('AWS::CodeBuild::Project', {
      Source: {
        BuildSpec: Match.stringLikeRegexp(
          'npm run switchyard -- start --stage prod --migration-id gate-\\$CODEBUILD_BUILD_NUMBER --dry-run',
        ),
      },
    });
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('stateMachine:switchyard-prod-migrate');
  });

  test('cdk-nag AwsSolutions reports zero unacknowledged findings', () => {
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    expect(
      report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
    ).toEqual([]);
  });

  test('the app builds only the pipeline when pipeline context is given', () => {
    const a = new App({
      context: {
        'aws:cdk:bundling-stacks': [],
        'pipeline:repository': 'acme/switchyard',
        'pipeline:connectionArn': PIPELINE.connectionArn,
        'pipeline:account': '111111111111',
        'pipeline:region': 'eu-west-1',
      },
    });
    const stages = addSwitchyardStages(a);
    expect(stages.map((s) => s.stageName)).toEqual(['dev', 'staging', 'prod']);
    expect(a.node.children.map((c) => c.node.id)).toEqual(['Pipeline']);
  });
});

describe('pipeline configuration', () => {
  test('is absent without pipeline:repository', () => {
    expect(pipelineConfigFromContext(() => undefined)).toBeUndefined();
  });

  test('fails naming the field when the connection ARN is wrong', () => {
    const ctx: Record<string, string> = {
      'pipeline:repository': 'acme/switchyard',
      'pipeline:connectionArn': 'arn:aws:s3:::bucket',
    };
    expect(() => pipelineConfigFromContext((k) => ctx[k])).toThrow(
      'pipeline:connectionArn must be a CodeConnections connection ARN',
    );
  });

  test('fails when the repository is not owner/name', () => {
    const ctx: Record<string, string> = {
      'pipeline:repository': 'switchyard',
      'pipeline:connectionArn': PIPELINE.connectionArn,
    };
    expect(() => pipelineConfigFromContext((k) => ctx[k])).toThrow('pipeline:repository must be owner/repository');
  });
});

describe('PipelineStack: bootstrap roles', () => {
  test('GIVEN stages in other accounts WHEN synthesized THEN self-mutation may assume only the CDK bootstrap roles of the pipeline and stage accounts', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stages = STAGE_NAMES.map((s) =>
      loadStageConfig(s, (k) => ({ 'prod:account': '333333333333', 'prod:region': 'eu-west-1' })[k]),
    );
    const stack = new PipelineStack(app, 'Pipe', {
      env: { account: '111111111111', region: 'eu-west-1' },
      pipeline: PIPELINE,
      stages,
    });
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (p) =>
        p.Properties.PolicyDocument.Statement as {
          Action: string | string[];
          Resource: unknown;
          Condition?: unknown;
        }[],
    );
    const assume = statements.filter((s) => [s.Action].flat().includes('sts:AssumeRole'));
    expect(JSON.stringify(assume)).not.toContain(':role/*"');
    const selfMutation = assume.find((s) => s.Condition)!;
    expect(selfMutation.Resource).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:role/cdk-hnb659fds-*']] },
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::333333333333:role/cdk-hnb659fds-*']] },
    ]);
    expect(selfMutation.Condition).toEqual({
      'ForAnyValue:StringEquals': {
        'iam:ResourceTag/aws-cdk:bootstrap-role': ['image-publishing', 'file-publishing', 'deploy'],
      },
    });
  });
});
