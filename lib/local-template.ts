import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { StageConfig, SyncConfig } from './config/stage-config';
import { loadStageConfig, type StageName } from './config/stages';
import { SwitchyardStage } from './stacks/switchyard-stage';

/**
 * The Migration stack template exactly as `cdk synth` builds it for a stage
 * (asset bundling skipped: the rehearsal binds tasks to the handler source).
 */
export function synthesizeMigrationTemplate(
  stage: StageName = 'dev',
  overrides: {
    verification?: Partial<Pick<StageConfig['verification'], 'smoke' | 'canary'>>;
    sync?: Partial<SyncConfig>;
  } = {},
): { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> } {
  // As `cdk synth` (bin/app.ts): CDK's template validation runs in test/lib/cfn-validation.test.ts.
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const config = loadStageConfig(stage);
  const s = new SwitchyardStage(app, stage, {
    config: {
      ...config,
      verification: { ...config.verification, ...overrides.verification },
      sync: { ...config.sync, ...overrides.sync },
    },
  });
  return Template.fromStack(s.migration).toJSON() as never;
}
