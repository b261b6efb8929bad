import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadStageConfig, type StageName } from '../../lib/config/stages';
import { parseStageConfig, type StageConfig, type StageConfigInput } from '../../lib/config/stage-config';
import { SwitchyardStage } from '../../lib/stacks/switchyard-stage';

/**
 * An App that skips asset bundling (these tests only need templates) and, like `cdk synth`
 * (bin/app.ts), CDK's template validation: cfn-validation.test.ts runs it once over the whole app.
 */
export function testApp(): App {
  return new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
}

export function stageFromDefaults(name: StageName, context: Record<string, unknown> = {}): SwitchyardStage {
  return new SwitchyardStage(testApp(), name, { config: loadStageConfig(name, (k) => context[k]) });
}

export function stageFrom(config: StageConfig): SwitchyardStage {
  return new SwitchyardStage(testApp(), config.stageName, { config });
}

export const template = (stack: Stack) => Template.fromStack(stack);

/** A minimal valid stage config; override any part. */
export function minimalConfig(overrides: Partial<StageConfigInput> = {}): StageConfigInput {
  return {
    stageName: 'test',
    oldEnvironment: {
      mode: 'provisioned',
      parameterPath: '/app/old',
      secretPrefix: 'app/old',
      compute: { image: 'nginx:stable' },
    },
    newEnvironment: {
      mode: 'provisioned',
      parameterPath: '/app/new',
      secretPrefix: 'app/new',
      compute: { image: 'nginx:stable' },
    },
    ...overrides,
  };
}

export const IMPORTED_OLD = {
  mode: 'imported',
  parameterPath: '/app/old',
  secretPrefix: 'app/old',
  targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/app-old/0123456789abcdef',
  dbInstanceIdentifier: 'app-old-db',
  dbEndpointAddress: 'app-old-db.abc.eu-west-1.rds.amazonaws.com',
  dbPort: 5432,
  dbSecurityGroupId: 'sg-0123456789abcdef0',
  dbSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/old/db-AbCdEf',
} as const;

export const ROUTE53 = {
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  zoneName: 'example.com',
  recordName: 'chat',
  ttlSeconds: 30,
  oldTarget: 'old-alb-123.eu-west-1.elb.amazonaws.com',
};

export const parse = (overrides: Partial<StageConfigInput> = {}) => parseStageConfig(minimalConfig(overrides));
