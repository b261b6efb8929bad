import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  AccessDeniedError,
  AwsUnreachableError,
  CliError,
  NoCredentialsError,
  NoRegionError,
  StackNotDeployedError,
} from './errors';

export type MachineName = 'Migrate' | 'RollbackTraffic' | 'RestoreData' | 'Decommission';

const REGION_FIX =
  'no AWS region: set AWS_REGION (or a region in your AWS profile) or pass --region, e.g. --region eu-west-1';
const CREDENTIALS_FIX =
  'no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`, then retry';

/** The SDK's failures a workstation user can cause, as one named error each with the fix; anything else unchanged. */
export function explainAwsError(e: unknown): unknown {
  if (e instanceof CliError) return e;
  const err = (e ?? {}) as { name?: string; code?: string; message?: string; $metadata?: unknown };
  const name = err.name ?? '';
  const message = String(err.message ?? '');
  if (/^Region is missing/.test(message)) return new NoRegionError(REGION_FIX);
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message))
    return new NoCredentialsError(CREDENTIALS_FIX);
  if (
    /^(ExpiredToken|ExpiredTokenException|TokenRefreshRequired)$/.test(name) ||
    /token (has|is) expired|session.*expired/i.test(message)
  ) {
    return new NoCredentialsError(
      'your AWS credentials have expired: run `aws sso login` (or refresh AWS_SESSION_TOKEN), then retry',
    );
  }
  if (
    /^(UnrecognizedClientException|InvalidClientTokenId|InvalidSignatureException|SignatureDoesNotMatch)$/.test(name)
  ) {
    return new NoCredentialsError(
      `AWS rejected the credentials (${name}): check AWS_PROFILE / AWS_ACCESS_KEY_ID and that the key belongs to this account, then retry`,
    );
  }
  if (/^(AccessDenied|AccessDeniedException)$/.test(name)) {
    return new AccessDeniedError(
      `AWS denied the call (${name}): your role needs the Step Functions and CloudFormation read permissions of the stage (see README, Operator CLI)`,
    );
  }
  const code = err.code ?? (err as { cause?: { code?: string } }).cause?.code ?? '';
  if (
    /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH)$/.test(code) ||
    name === 'TimeoutError'
  ) {
    const custom = process.env.AWS_ENDPOINT_URL ? ' (AWS_ENDPOINT_URL is set: is that endpoint running?)' : '';
    return new AwsUnreachableError(
      `cannot reach AWS (${code || name})${custom}: check the network and the region, then retry`,
    );
  }
  return e;
}

/** Map SDK failures a workstation user can cause to named, actionable errors. */
export function mapCliAwsError(e: unknown): never {
  throw explainAwsError(e);
}

/** Resolve the client's region through the SDK's own chain (flag, AWS_REGION, profile) without any network call. */
export async function ensureRegion(client: { config: { region: unknown } }): Promise<string> {
  try {
    const r = client.config.region;
    const region = typeof r === 'function' ? await (r as () => Promise<string>)() : (r as string | undefined);
    if (!region) throw new Error('Region is missing');
    return region;
  } catch (e) {
    return mapCliAwsError(e);
  }
}

/** The state machine ARNs of a deployed stage, from the migration stack's outputs. */
export async function stateMachineArns(cfn: CloudFormationClient, stage: string): Promise<Record<MachineName, string>> {
  const stackName = `switchyard-${stage}-migration`;
  let outputs: { OutputKey?: string; OutputValue?: string }[] = [];
  try {
    const r = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = r.Stacks?.[0]?.Outputs ?? [];
  } catch (e) {
    if ((e as { name?: string }).name === 'ValidationError' && /does not exist/.test(String((e as Error).message))) {
      throw new StackNotDeployedError(
        `stack ${stackName} is not deployed in this account/region: run \`npx cdk deploy '${stage}/*'\` first (or check AWS_REGION / --region)`,
      );
    }
    mapCliAwsError(e);
  }
  const find = (name: MachineName) => {
    const o = outputs.find((x) => x.OutputKey?.startsWith(`${name}StateMachineArn`));
    if (!o?.OutputValue)
      throw new StackNotDeployedError(
        `stack ${stackName} has no ${name}StateMachineArn output: deploy the current version of the app`,
      );
    return o.OutputValue;
  };
  return {
    Migrate: find('Migrate'),
    RollbackTraffic: find('RollbackTraffic'),
    RestoreData: find('RestoreData'),
    Decommission: find('Decommission'),
  };
}
