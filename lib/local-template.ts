import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadStageConfig, StageName } from './config/stages';
import { SwitchyardStage } from './stacks/switchyard-stage';

/**
 * The Migration stack template exactly as `cdk synth` builds it for a stage
 * (asset bundling skipped: the rehearsal binds tasks to the handler source).
 */
export function synthesizeMigrationTemplate(stage: StageName = 'dev'): { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const s = new SwitchyardStage(app, stage, { config: loadStageConfig(stage) });
  return Template.fromStack(s.migration).toJSON() as never;
}
