#!/usr/bin/env node
/** The operator CLI: npm run switchyard -- <plan|start|status|rollback|restore|sync> [options]; --help on every command. */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SecretsConfigStore } from '../lambda/adapters/aws/secrets-config-store';
import { SsmConfigStore } from '../lambda/adapters/aws/ssm-config-store';
import { version } from '../package.json';
import { EXIT, runCli } from './cli/program';
import { quietSdkNodeVersionWarning } from './cli/sdk-env';

quietSdkNodeVersionWarning();

// Ctrl-C / SIGTERM: the running command stops cleanly (following stops, sync finishes its batch); a second one quits at once.
const abort = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (abort.signal.aborted) process.exit(EXIT.interrupted);
    process.stderr.write(`${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping (press Ctrl-C again to quit at once) ...\n`);
    abort.abort();
  });
}

runCli(process.argv.slice(2), {
  version,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: abort.signal,
  // Default SDK resolution: AWS_REGION / AWS_PROFILE / AWS_ENDPOINT_URL(_SFN / _CLOUDFORMATION / ...) all apply; --region overrides the region only.
  aws: (region) => {
    const cfg = region ? { region } : {};
    return {
      sfn: new SFNClient(cfg),
      cfn: new CloudFormationClient(cfg),
      configStores: [new SsmConfigStore(new SSMClient(cfg)), new SecretsConfigStore(new SecretsManagerClient(cfg))],
    };
  },
}).then((code) => {
  process.exitCode = code;
  // Leave no open handle waiting (e.g. SDK sockets); output is flushed by then.
  setImmediate(() => process.exit(code));
});
