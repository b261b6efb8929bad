import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { pipelineConfigFromContext } from './config/pipeline-config';
import { loadStageConfig, selectedStages } from './config/stages';
import { PipelineStack } from './stacks/pipeline-stack';
import { SwitchyardStage } from './stacks/switchyard-stage';

/**
 * Adds the app's stages to `app`: with `-c pipeline:repository=...` one PipelineStack that
 * promotes every stage; otherwise one SwitchyardStage per selected stage for `cdk deploy`.
 * Registers the cdk-nag AwsSolutions pack, so `cdk synth` fails on any unacknowledged finding.
 */
export function addSwitchyardStages(app: App): SwitchyardStage[] {
  const context = (key: string) => app.node.tryGetContext(key);
  const pipeline = pipelineConfigFromContext(context);
  let stages: SwitchyardStage[];
  if (pipeline) {
    const stack = new PipelineStack(app, 'Pipeline', {
      stackName: 'switchyard-pipeline',
      env: { account: pipeline.account, region: pipeline.region },
      pipeline,
      stages: selectedStages(context).map((name) => loadStageConfig(name, context)),
    });
    stages = stack.stages;
  } else {
    stages = selectedStages(context).map(
      (name) => new SwitchyardStage(app, name, { config: loadStageConfig(name, context) }),
    );
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stages;
}
