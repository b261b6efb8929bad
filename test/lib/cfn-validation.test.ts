import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, CloudFormationValidatePlugin } from 'aws-cdk-lib';
import { addSwitchyardStages } from '../../lib/switchyard-app';

/**
 * CDK's CloudFormation template validation (resource schemas and its default rules) over every
 * stage of the app. `cdk synth` skips it (bin/app.ts: it takes over half of each synth); here it
 * runs once on the whole app, and a finding fails the test instead of printing a warning.
 */
test('every template of every stage passes CloudFormation validation', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-validate-'));
  try {
    const app = new App({
      outdir,
      builtinCloudFormationValidation: false,
      context: { 'aws:cdk:bundling-stacks': [] },
    });
    addSwitchyardStages(app);
    const stacks = app.synth().nestedAssemblies.flatMap((a) => a.nestedAssembly.stacks);
    expect(stacks.length).toBeGreaterThan(0);
    const report = new CloudFormationValidatePlugin().validate({
      appConstruct: app,
      templatePaths: stacks.map((s) => s.templateFullPath),
      stackTemplates: stacks.map((s) => ({
        stackConstructPath: s.hierarchicalId,
        templatePath: s.templateFullPath,
        accountId: undefined,
        region: undefined,
      })),
    });
    const findings = report.violations.map(
      (v) => `${v.ruleName} (${v.severity}): ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}, 300_000);
