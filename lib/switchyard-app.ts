import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadStageConfig, selectedStages } from './config/stages';
import { SwitchyardStage } from './stacks/switchyard-stage';

/**
 * Adds one SwitchyardStage per selected stage to `app` and registers the cdk-nag
 * AwsSolutions pack, so `cdk synth` fails on any unacknowledged finding.
 */
export function addSwitchyardStages(app: App): SwitchyardStage[] {
  const context = (key: string) => app.node.tryGetContext(key);
  const stages = selectedStages(context).map((name) => new SwitchyardStage(app, name, { config: loadStageConfig(name, context) }));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stages;
}
