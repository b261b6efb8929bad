import { RDSClient } from '@aws-sdk/client-rds';
import { RdsSnapshotService } from '../../../../lambda/adapters/aws/rds-snapshots';
import { SecretsConfigStore } from '../../../../lambda/adapters/aws/secrets-config-store';
import { SsmConfigStore } from '../../../../lambda/adapters/aws/ssm-config-store';
import { AWS_CLIENT_CONFIG, AWS_MAX_ATTEMPTS, isRetryable } from '../../../../lambda/adapters/aws/retry';
import { AwsThrottledError, call } from '../../../../lambda/adapters/aws/errors';
import { awsError, throttled } from './aws-errors';

describe('one retry layer: the SDK', () => {
  test('GIVEN the shared client config WHEN a client is built THEN the SDK retries up to AWS_MAX_ATTEMPTS and keeps its default endpoint', async () => {
    const client = new RDSClient({ ...AWS_CLIENT_CONFIG, region: 'eu-west-1' });
    expect(await client.config.maxAttempts()).toBe(AWS_MAX_ATTEMPTS);
    expect(client.config.endpoint).toBeUndefined();
  });

  test('call() sends once: a throttle the SDK gave up on surfaces as AwsThrottledError naming the action', async () => {
    const fn = jest.fn().mockRejectedValue(throttled());
    await expect(call('rds:CreateDBSnapshot', 'chat-db', fn)).rejects.toThrow(AwsThrottledError);
    await expect(call('rds:CreateDBSnapshot', 'chat-db', fn)).rejects.toThrow(
      /rds:CreateDBSnapshot on chat-db still failed with ThrottlingException after the SDK's 5 attempts/,
    );
    expect(fn).toHaveBeenCalledTimes(2);
  });

  test('deterministic errors pass through unchanged', async () => {
    const e = awsError('DBInstanceNotFoundFault');
    await expect(call('rds:DescribeDBInstances', 'x', () => Promise.reject(e))).rejects.toBe(e);
    expect(isRetryable(e)).toBe(false);
    expect(isRetryable(awsError('InternalFailure', 'boom', 500))).toBe(true);
  });

  test('adapters built without an injected client use the shared retry config', async () => {
    process.env.AWS_REGION ??= 'eu-west-1';
    const clients = [new SecretsConfigStore(), new SsmConfigStore(), new RdsSnapshotService()].map(
      (a) =>
        Object.values(a).find((v) => v && typeof v === 'object' && 'config' in v) as {
          config: { maxAttempts(): Promise<number> };
        },
    );
    for (const c of clients) expect(await c.config.maxAttempts()).toBe(AWS_MAX_ATTEMPTS);
  });
});
