import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SecretsConfigStore } from '../../lambda/adapters/aws/secrets-config-store';
import { SsmConfigStore } from '../../lambda/adapters/aws/ssm-config-store';
import { version } from '../../package.json';
import { EXIT, runCli } from './program';
import { quietSdkNodeVersionWarning } from './sdk-env';

/**
 * The process around the CLI, shared by every entry point (bin/switchyard.ts, and the npm
 * script aliases bin/rehearse.ts and bin/drill.ts). Ctrl-C / SIGTERM: the running command stops
 * cleanly (sync drains, the rehearsal finishes its step, following stops) and prints its summary;
 * a second signal quits at once with exit 130.
 */
export function main(argv: readonly string[]): void {
  quietSdkNodeVersionWarning();
  const abort = new AbortController();
  const firstStop = { at: 0, sig: '' };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (abort.signal.aborted) {
        if (forwardedCopy(sig, firstStop)) return;
        process.exit(EXIT.interrupted);
      }
      process.stderr.write(`${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping (press Ctrl-C again to quit at once) ...\n`);
      Object.assign(firstStop, { at: Date.now(), sig });
      abort.abort();
    });
  }
  runCli(argv, {
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
        ddb: new DynamoDBClient(cfg),
        configStores: [new SsmConfigStore(new SSMClient(cfg)), new SecretsConfigStore(new SecretsManagerClient(cfg))],
      };
    },
  }).then((code) => {
    process.exitCode = code;
    // Leave no open handle waiting (e.g. SDK sockets); output is flushed by then.
    setImmediate(() => process.exit(code));
  });
}

/** How soon after the first signal the same one is npm's forwarded copy of it, not a second request. */
const FORWARDED_WITHIN_MS = 1_000;

/**
 * Under `npm run` (the package.json scripts `exec node --import tsx …`: npm waits for this very process
 * and ends with its code; no tsx wrapper process that would forward a third, later copy), a
 * terminal's Ctrl-C reaches the command twice: from the terminal (the whole process group) and
 * forwarded by npm. That copy arrives at once and is not a second Ctrl-C.
 */
function forwardedCopy(sig: string, first: { at: number; sig: string }): boolean {
  return !!process.env.npm_lifecycle_event && sig === first.sig && Date.now() - first.at < FORWARDED_WITHIN_MS;
}
