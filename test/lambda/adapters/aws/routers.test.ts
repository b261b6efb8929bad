import 'aws-sdk-client-mock-jest';
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { AlbRouter } from '../../../../lambda/adapters/aws/alb-router';
import { AwsAccessDeniedError, AwsThrottledError } from '../../../../lambda/adapters/aws/errors';
import { DnsChangeTimeoutError, Route53Router } from '../../../../lambda/adapters/aws/route53-router';
import { rollbackTraffic, shiftTraffic, WeightReadBackError } from '../../../../lambda/core/traffic/shift';
import { denied, throttled } from './aws-errors';

const RULE = 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener-rule/app/alb/1/2/3';
const OLD = 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/old/1';
const NEW = 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/new/2';
const rule = (o: number, n: number) => ({
  Rules: [
    {
      RuleArn: RULE,
      Actions: [
        {
          Type: 'forward' as const,
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: OLD, Weight: o },
              { TargetGroupArn: NEW, Weight: n },
            ],
          },
        },
      ],
    },
  ],
});

describe('AlbRouter', () => {
  const elb = mockClient(ElasticLoadBalancingV2Client);
  beforeEach(() => elb.reset());
  const router = () =>
    new AlbRouter(
      { ruleArn: RULE, oldTargetGroupArn: OLD, newTargetGroupArn: NEW },
      new ElasticLoadBalancingV2Client({ region: 'eu-west-1' }),
    );

  test('GIVEN 100/0 WHEN shifted to 25 % THEN one ModifyRule sets both target groups and the read-back confirms', async () => {
    elb.on(DescribeRulesCommand).resolvesOnce(rule(100, 0)).resolves(rule(75, 25));
    elb.on(ModifyRuleCommand).resolves({});
    await expect(shiftTraffic(router(), { old: 75, new: 25 })).resolves.toEqual({ old: 75, new: 25 });
    expect(elb).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(elb).toHaveReceivedCommandWith(ModifyRuleCommand, {
      RuleArn: RULE,
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: OLD, Weight: 75 },
              { TargetGroupArn: NEW, Weight: 25 },
            ],
            TargetGroupStickinessConfig: { Enabled: false },
          },
        },
      ],
    });
  });

  test('fails with AwsThrottledError when ModifyRule stays throttled after the SDK retries (sent once by the adapter)', async () => {
    elb.on(DescribeRulesCommand).resolvesOnce(rule(100, 0)).resolves(rule(50, 50));
    elb.on(ModifyRuleCommand).rejectsOnce(throttled()).resolves({});
    await expect(shiftTraffic(router(), { old: 50, new: 50 })).rejects.toThrow(AwsThrottledError);
    expect(elb).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
  });

  test('fails when the weights read back differ', async () => {
    elb.on(DescribeRulesCommand).resolves(rule(100, 0));
    elb.on(ModifyRuleCommand).resolves({});
    await expect(shiftTraffic(router(), { old: 50, new: 50 })).rejects.toThrow(WeightReadBackError);
  });

  test('fails with AwsAccessDeniedError naming the action and the rule', async () => {
    elb.on(DescribeRulesCommand).resolves(rule(100, 0));
    elb.on(ModifyRuleCommand).rejects(denied());
    const err = await shiftTraffic(router(), { old: 50, new: 50 }).catch((e) => e);
    expect(err).toBeInstanceOf(AwsAccessDeniedError);
    expect(err.message).toBe(
      `elasticloadbalancing:ModifyRule on ${RULE} was denied: grant the phase function elasticloadbalancing:ModifyRule on that resource`,
    );
  });

  test('rollback from 50/50 is one ModifyRule to 100/0', async () => {
    elb.on(DescribeRulesCommand).resolvesOnce(rule(50, 50)).resolvesOnce(rule(50, 50)).resolves(rule(100, 0));
    elb.on(ModifyRuleCommand).resolves({});
    const r = await rollbackTraffic(router());
    expect(r.weights).toEqual({ old: 100, new: 0 });
    expect(r.previous).toEqual({ old: 50, new: 50 });
    expect(elb).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
  });
});

describe('Route53Router', () => {
  const r53 = mockClient(Route53Client);
  beforeEach(() => r53.reset());
  const sets = (o: number, n: number) => ({
    ResourceRecordSets: [
      {
        Name: 'chat.example.com.',
        Type: 'CNAME' as const,
        SetIdentifier: 'old',
        Weight: o,
        TTL: 60,
        ResourceRecords: [{ Value: 'old-alb.example.net' }],
      },
      {
        Name: 'chat.example.com.',
        Type: 'CNAME' as const,
        SetIdentifier: 'new',
        Weight: n,
        TTL: 60,
        ResourceRecords: [{ Value: 'new-alb.example.net' }],
      },
      { Name: 'other.example.com.', Type: 'A' as const, TTL: 60, ResourceRecords: [{ Value: '192.0.2.1' }] },
    ],
  });
  const router = (maxPolls = 5) =>
    new Route53Router(
      { hostedZoneId: 'Z123', recordName: 'chat.example.com', maxPolls, sleep: async () => undefined },
      new Route53Client({ region: 'us-east-1' }),
    );

  test('GIVEN the pair WHEN shifted THEN one ChangeBatch UPSERTs both records, waits for INSYNC and reads back', async () => {
    r53.on(ListResourceRecordSetsCommand).resolvesOnce(sets(100, 0)).resolves(sets(95, 5));
    r53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });
    r53
      .on(GetChangeCommand)
      .resolvesOnce({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } })
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
    await expect(shiftTraffic(router(), { old: 95, new: 5 })).resolves.toEqual({ old: 95, new: 5 });
    expect(r53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
    const batch = r53.commandCalls(ChangeResourceRecordSetsCommand)[0].args[0].input.ChangeBatch!;
    expect(batch.Changes).toEqual([
      {
        Action: 'UPSERT',
        ResourceRecordSet: expect.objectContaining({
          SetIdentifier: 'old',
          Weight: 95,
          TTL: 60,
          ResourceRecords: [{ Value: 'old-alb.example.net' }],
        }),
      },
      {
        Action: 'UPSERT',
        ResourceRecordSet: expect.objectContaining({
          SetIdentifier: 'new',
          Weight: 5,
          TTL: 60,
          ResourceRecords: [{ Value: 'new-alb.example.net' }],
        }),
      },
    ]);
    expect(r53).toHaveReceivedCommandTimes(GetChangeCommand, 2);
  });

  test('fails when the change never reaches INSYNC', async () => {
    r53.on(ListResourceRecordSetsCommand).resolves(sets(100, 0));
    r53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() } });
    r53.on(GetChangeCommand).resolves({ ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() } });
    await expect(router(3).setWeights({ old: 50, new: 50 })).rejects.toThrow(DnsChangeTimeoutError);
  });

  test('fails naming the record when the weighted pair does not exist', async () => {
    r53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });
    await expect(router().getWeights()).rejects.toThrow(
      'Route53 weighted records chat.example.com: weighted records "old" and "new" not found in zone Z123',
    );
  });
});
