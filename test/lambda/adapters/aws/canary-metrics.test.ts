import 'aws-sdk-client-mock-jest';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CloudWatchCanaryMetrics,
  loadBalancerDimension,
  targetGroupDimension,
} from '../../../../lambda/adapters/aws/canary-metrics';
import { AwsAccessDeniedError } from '../../../../lambda/adapters/aws/errors';
import { denied } from './aws-errors';

const SIDES = {
  old: { loadBalancer: 'app/sy-prod/50dc6c495c0c9188', targetGroup: 'targetgroup/old-tg/73e2d6bc24d8a067' },
  new: { loadBalancer: 'app/sy-prod/50dc6c495c0c9188', targetGroup: 'targetgroup/new-tg/943f017f100becff' },
};

/** The full query list the adapter must send for one period. */
function expectedQueries(period: number) {
  return (['old', 'new'] as const).flatMap((side) => {
    const Dimensions = [
      { Name: 'TargetGroup', Value: SIDES[side].targetGroup },
      { Name: 'LoadBalancer', Value: SIDES[side].loadBalancer },
    ];
    const m = (Id: string, MetricName: string, Stat: string) => ({
      Id,
      MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName, Dimensions }, Period: period, Stat },
      ReturnData: true,
    });
    return [
      m(`requests_${side}`, 'RequestCount', 'Sum'),
      m(`errors_${side}`, 'HTTPCode_Target_5XX_Count', 'Sum'),
      m(`p50_${side}`, 'TargetResponseTime', 'p50'),
      m(`p90_${side}`, 'TargetResponseTime', 'p90'),
      m(`p99_${side}`, 'TargetResponseTime', 'p99'),
      {
        Id: `errorrate_${side}`,
        Expression: `IF(requests_${side} > 0, 100 * FILL(errors_${side}, 0) / requests_${side}, 0)`,
        Label: `${side} side 5xx rate (%)`,
        ReturnData: true,
      },
    ];
  });
}

describe('CloudWatchCanaryMetrics', () => {
  const cw = mockClient(CloudWatchClient);
  beforeEach(() => cw.reset());
  const client = () => new CloudWatchClient({ region: 'eu-west-1' });

  test('GIVEN a bake window WHEN read THEN one GetMetricData over whole minutes with every query, figures in ms', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'requests_old', Values: [9000] },
        { Id: 'errors_old', Values: [9] },
        { Id: 'p50_old', Values: [0.012] },
        { Id: 'p90_old', Values: [0.03] },
        { Id: 'p99_old', Values: [0.2] },
        { Id: 'errorrate_old', Values: [0.1] },
        { Id: 'requests_new', Values: [1000] },
        { Id: 'p50_new', Values: [0.0125] },
        { Id: 'p90_new', Values: [0.031] },
        { Id: 'p99_new', Values: [0.2104] },
        { Id: 'errorrate_new', Values: [0] },
      ],
    });
    const from = Date.parse('2026-03-01T10:00:30Z');
    const to = Date.parse('2026-03-01T10:05:10Z');
    const w = await new CloudWatchCanaryMetrics(SIDES, client()).window(from, to);
    expect(cw).toHaveReceivedCommandTimes(GetMetricDataCommand, 1);
    expect(cw.commandCalls(GetMetricDataCommand)[0].args[0].input).toEqual({
      MetricDataQueries: expectedQueries(360),
      StartTime: new Date('2026-03-01T10:00:00Z'),
      EndTime: new Date('2026-03-01T10:06:00Z'),
      ScanBy: 'TimestampDescending',
      NextToken: undefined,
    });
    expect(w).toEqual({
      old: { requests: 9000, errors: 9, errorRate: 0.1, p50: 12, p90: 30, p99: 200 },
      new: { requests: 1000, errors: 0, errorRate: 0, p50: 12.5, p90: 31, p99: 210.4 },
    });
  });

  test('GIVEN a quiet side (no datapoints) THEN zero requests and null percentiles, not an invented figure', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'requests_old', Values: [50] },
        { Id: 'p99_old', Values: [0.1] },
      ],
    });
    const w = await new CloudWatchCanaryMetrics(SIDES, client()).window(0, 30_000);
    expect(w.new).toEqual({ requests: 0, errors: 0, errorRate: 0, p50: null, p90: null, p99: null });
    expect(w.old).toEqual({ requests: 50, errors: 0, errorRate: 0, p50: null, p90: null, p99: 100 });
    expect(cw.commandCalls(GetMetricDataCommand)[0].args[0].input.MetricDataQueries![0].MetricStat!.Period).toBe(60);
  });

  test('GIVEN paged results THEN every page is read', async () => {
    cw.on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: 'requests_new', Values: [10] }], NextToken: 't1' })
      .resolvesOnce({ MetricDataResults: [{ Id: 'requests_new', Values: [5] }] });
    const w = await new CloudWatchCanaryMetrics(SIDES, client()).window(0, 60_000);
    expect(w.new.requests).toBe(15);
    expect(cw).toHaveReceivedNthSpecificCommandWith(2, GetMetricDataCommand, { NextToken: 't1' });
  });

  test('fails with AwsAccessDeniedError when GetMetricData is denied', async () => {
    cw.on(GetMetricDataCommand).rejects(denied());
    await expect(new CloudWatchCanaryMetrics(SIDES, client()).window(0, 60_000)).rejects.toThrow(AwsAccessDeniedError);
  });

  test('GIVEN ARNs THEN the CloudWatch dimension values', () => {
    expect(
      loadBalancerDimension(
        'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/sy-prod/50dc6c495c0c9188',
      ),
    ).toBe('app/sy-prod/50dc6c495c0c9188');
    expect(
      targetGroupDimension('arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/new-tg/943f017f100becff'),
    ).toBe('targetgroup/new-tg/943f017f100becff');
    expect(() =>
      loadBalancerDimension('arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/x/1'),
    ).toThrow(/must be an application load balancer ARN/);
  });
});
