import 'aws-sdk-client-mock-jest';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsAccessDeniedError } from '../../../../lambda/adapters/aws/errors';
import { RdsFreeStorage } from '../../../../lambda/adapters/aws/rds-free-storage';
import { denied } from './aws-errors';

const cw = mockClient(CloudWatchClient);
const reader = () =>
  new RdsFreeStorage(
    { old: { instanceId: 'old-db' }, new: { instanceId: 'new-cluster', isCluster: true } },
    new CloudWatchClient({ region: 'eu-west-1' }),
    () => Date.parse('2026-12-07T12:00:00Z'),
  );

describe('RdsFreeStorage (FreeStorageSpace for Preflight)', () => {
  beforeEach(() => cw.reset());

  test('GIVEN datapoints WHEN read THEN the lowest of the last 15 minutes, from the instance metric', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'free', Values: [9e9, 8e9, 8.5e9] }] });
    expect(await reader().freeStorageBytes('old')).toBe(8e9);
    expect(cw).toHaveReceivedCommandWith(GetMetricDataCommand, {
      StartTime: new Date('2026-12-07T11:45:00Z'),
      EndTime: new Date('2026-12-07T12:00:00Z'),
      MetricDataQueries: [
        expect.objectContaining({
          MetricStat: expect.objectContaining({
            Metric: {
              Namespace: 'AWS/RDS',
              MetricName: 'FreeStorageSpace',
              Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'old-db' }],
            },
            Stat: 'Minimum',
          }),
        }),
      ],
    });
  });

  test('GIVEN no datapoints, or a cluster (storage grows) WHEN read THEN unknown (null), never zero', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'free', Values: [] }] });
    expect(await reader().freeStorageBytes('old')).toBeNull();
    expect(await reader().freeStorageBytes('new')).toBeNull();
    expect(cw).toHaveReceivedCommandTimes(GetMetricDataCommand, 1);
  });

  test('GIVEN access denied WHEN read THEN AwsAccessDeniedError naming the action', async () => {
    cw.on(GetMetricDataCommand).rejects(denied());
    await expect(reader().freeStorageBytes('old')).rejects.toThrow(AwsAccessDeniedError);
  });
});
