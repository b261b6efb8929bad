import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { NoCredentialsError, StackNotDeployedError } from './errors';

export type MachineName = 'Migrate' | 'RollbackTraffic' | 'RestoreData' | 'Decommission';

/** Map SDK failures a workstation user can cause to named, actionable errors. */
export function mapCliAwsError(e: unknown): never {
  const name = (e as { name?: string })?.name ?? '';
  if (name === 'CredentialsProviderError' || /credential/i.test(String((e as Error)?.message ?? ''))) {
    throw new NoCredentialsError('no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION, or run `aws sso login`');
  }
  throw e;
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
      throw new StackNotDeployedError(`stack ${stackName} is not deployed in this account/region: run \`npx cdk deploy '${stage}/*'\` first (or check AWS_REGION)`);
    }
    mapCliAwsError(e);
  }
  const find = (name: MachineName) => {
    const o = outputs.find((x) => x.OutputKey?.startsWith(`${name}StateMachineArn`));
    if (!o?.OutputValue) throw new StackNotDeployedError(`stack ${stackName} has no ${name}StateMachineArn output: deploy the current version of the app`);
    return o.OutputValue;
  };
  return { Migrate: find('Migrate'), RollbackTraffic: find('RollbackTraffic'), RestoreData: find('RestoreData'), Decommission: find('Decommission') };
}
