#!/usr/bin/env node
/** The operator CLI: npm run switchyard -- <plan|start|status|rollback|restore> --stage <stage> ... */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SecretsConfigStore } from '../lambda/adapters/aws/secrets-config-store';
import { SsmConfigStore } from '../lambda/adapters/aws/ssm-config-store';
import { parseArgs, runCommand } from './cli/commands';
import { CliError } from './cli/errors';

// Default SDK resolution: AWS_REGION / AWS_PROFILE / AWS_ENDPOINT_URL(_SFN / _CLOUDFORMATION) all apply.
runCommand(parseArgs(process.argv.slice(2)), {
  sfn: new SFNClient({}),
  cfn: new CloudFormationClient({}),
  configStores: [new SsmConfigStore(new SSMClient({})), new SecretsConfigStore(new SecretsManagerClient({}))],
  print: (l) => console.log(l),
}).then(
  () => process.exit(0),
  (e) => {
    console.error(`${e instanceof Error ? e.name : 'Error'}: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(e instanceof CliError ? 1 : 2);
  },
);
