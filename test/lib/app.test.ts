import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { addSwitchyardStages } from '../../lib/switchyard-app';

describe('the CDK app', () => {
  test('GIVEN no credentials and no context WHEN synthesized THEN every stage yields its six stacks, env-agnostic', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stages = addSwitchyardStages(app);
    const assembly = app.synth();
    expect(stages.map((s) => s.stageName)).toEqual(['dev', 'staging', 'prod']);
    for (const stage of stages) {
      const stacks = stage.synth().stacks;
      expect(stacks.map((s) => s.stackName).sort()).toEqual(
        ['backup', 'migration', 'network', 'new', 'old', 'routing'].map((n) => `switchyard-${stage.stageName}-${n}`),
      );
      for (const s of stacks) expect(s.environment.account).toBe('unknown-account');
    }
    expect(fs.existsSync(path.join(assembly.directory, 'manifest.json'))).toBe(true);
  });

  test('fails at synth when an unacknowledged cdk-nag finding appears', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], stages: 'dev' } });
    const [dev] = addSwitchyardStages(app);
    // An unencrypted, public bucket is several AwsSolutions findings nobody acknowledged.
    const { Bucket } = jest.requireActual('aws-cdk-lib/aws-s3');
    new Bucket(dev.network, 'Careless');
    expect(() => app.synth()).toThrow(/Validation failed|AwsSolutions/);
  });

  test('fails at synth naming the field when a stage is misconfigured', () => {
    const app = new App({ context: { stages: 'dev', 'dev:account': 'abc' } });
    expect(() => addSwitchyardStages(app)).toThrow('account must be a 12-digit AWS account id, got: "abc"');
  });
});
