import { AwsSolutionsChecks } from 'cdk-nag';
import type { SwitchyardStage } from '../../lib/stacks/switchyard-stage';
import { stageFromDefaults } from './helpers';

function findings(stage: SwitchyardStage): string[] {
  const report = new AwsSolutionsChecks(stage).validateScope(stage);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}

describe('cdk-nag AwsSolutions', () => {
  test.each([
    ['dev', {}],
    ['staging', { 'staging:region': 'eu-west-1', 'staging:account': '111111111111' }],
    ['prod', {}],
    ['prod', { 'switchyard:configFile': 'docs/examples/imported-old.json' }],
  ] as const)('stage %s (%j) has zero unacknowledged findings', (name, ctx) => {
    expect(findings(stageFromDefaults(name, ctx))).toEqual([]);
  });

  test('every acknowledgement carries a specific reason', () => {
    const stage = stageFromDefaults('staging', { 'staging:region': 'eu-west-1' });
    const acks = stage.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.entries(m.data as Record<string, string>))

      .filter(([id]) => id.includes('AwsSolutions-'));
    expect(acks.length).toBeGreaterThan(0);
    for (const [, reason] of acks) expect(reason.length).toBeGreaterThan(40);
  });
});
