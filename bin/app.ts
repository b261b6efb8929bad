#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { addSwitchyardStages } from '../lib/switchyard-app';

/**
 * The Switchyard CDK app: one stage per environment (dev, staging, prod).
 *   npx cdk synth                                   # all stages, environment-agnostic, no credentials
 *   npx cdk deploy 'dev/*' -c dev:account=111111111111 -c dev:region=eu-west-1
 *   npx cdk synth -c stages=prod -c switchyard:configFile=docs/examples/imported-old.json
 */
// CDK's built-in template validation takes over half of every synth; test/lib/cfn-validation.test.ts runs it instead.
const app = new App({ builtinCloudFormationValidation: false });
addSwitchyardStages(app);
app.synth();
