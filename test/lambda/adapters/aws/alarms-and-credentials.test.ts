import 'aws-sdk-client-mock-jest';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchAlarmReader } from '../../../../lambda/adapters/aws/cloudwatch-alarms';
import { databaseEndpointFromSecret, InvalidDatabaseSecretError } from '../../../../lambda/adapters/aws/db-credentials';
import { AwsAccessDeniedError } from '../../../../lambda/adapters/aws/errors';
import { denied } from './aws-errors';

describe('CloudWatchAlarmReader', () => {
  const cw = mockClient(CloudWatchClient);
  beforeEach(() => cw.reset());

  test('reads metric and composite alarms by prefix', async () => {
    const t = new Date('2026-01-01T00:00:00Z');
    cw.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [{ AlarmName: 'prod-new-5xx', StateValue: 'OK', StateUpdatedTimestamp: t }],
      CompositeAlarms: [{ AlarmName: 'prod-new-any', StateValue: 'ALARM', StateUpdatedTimestamp: t }],
    });
    const alarms = await new CloudWatchAlarmReader(
      { prefix: 'prod-new-' },
      new CloudWatchClient({ region: 'eu-west-1' }),
    ).read();
    expect(alarms).toEqual([
      { name: 'prod-new-5xx', state: 'OK', since: t },
      { name: 'prod-new-any', state: 'ALARM', since: t },
    ]);
    expect(cw).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNamePrefix: 'prod-new-' });
  });

  test('fails with AwsAccessDeniedError: an unreadable alarm must not pass the gate', async () => {
    cw.on(DescribeAlarmsCommand).rejects(denied());
    await expect(
      new CloudWatchAlarmReader({ names: ['a'] }, new CloudWatchClient({ region: 'eu-west-1' })).read(),
    ).rejects.toThrow(AwsAccessDeniedError);
  });
});

describe('databaseEndpointFromSecret', () => {
  const sm = mockClient(SecretsManagerClient);
  beforeEach(() => sm.reset());
  const client = () => new SecretsManagerClient({ region: 'eu-west-1' });

  test('reads the standard RDS secret JSON', async () => {
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({
        host: 'db.internal',
        port: 5433,
        username: 'app',
        password: 'pw-1',
        dbname: 'chat',
      }),
    });
    await expect(databaseEndpointFromSecret('arn:s', client())).resolves.toEqual({
      host: 'db.internal',
      port: 5433,
      database: 'chat',
      user: 'app',
      password: 'pw-1',
      ssl: 'verify-full',
    });
  });

  test('fails naming the missing keys, never the values', async () => {
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ host: 'db.internal', password: 'pw-SECRET' }),
    });
    const err = await databaseEndpointFromSecret('arn:s', client()).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidDatabaseSecretError);
    expect(err.message).toBe('secret arn:s lacks username, dbname (RDS secret format expected)');
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'pw-SECRET-not-json' });
    const err2 = await databaseEndpointFromSecret('arn:s', client()).catch((e) => e);
    expect(err2.message).not.toContain('pw-SECRET');
  });
});
