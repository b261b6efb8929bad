import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { HealthAlarms, type HealthAlarmsProps } from '../../../lib/constructs/health-alarms';
import { parse, testApp } from '../helpers';

function build(over: Partial<HealthAlarmsProps> = {}) {
  const stack = new Stack(testApp(), 'S');
  const vpc = new ec2.Vpc(stack, 'Vpc');
  const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc });
  const listener = alb.addListener('L', {
    port: 80,
    open: false,
    defaultAction: elbv2.ListenerAction.fixedResponse(503),
  });
  const targetGroup = new elbv2.ApplicationTargetGroup(stack, 'Tg', { vpc, port: 80, targetType: elbv2.TargetType.IP });
  listener.addTargetGroups('Tgs', {
    targetGroups: [targetGroup],
    priority: 1,
    conditions: [elbv2.ListenerCondition.pathPatterns(['/*'])],
  });
  new HealthAlarms(stack, 'Health', {
    targetGroup,
    prefix: 'sy-new-',
    max5xxPerMinute: 5,
    maxP99LatencySeconds: 2,
    ...over,
  });
  return Template.fromStack(stack);
}

describe('HealthAlarms', () => {
  test('GIVEN a minimum request count and a bake WHEN synthesized THEN a RequestCount < min alarm over the bake treats missing data as breaching', () => {
    const t = build({ minRequestsPerBake: 25, bake: Duration.minutes(5) });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'sy-new-min-requests',
      MetricName: 'RequestCount',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 25,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      Dimensions: Match.arrayWith([Match.objectLike({ Name: 'TargetGroup' })]),
    });
  });

  test("the load balancer's own 5xx and the healthy-host count join the gate under the same prefix", () => {
    const t = build();
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'sy-new-elb-5xx',
      Namespace: 'AWS/ApplicationELB',
      MetricName: 'HTTPCode_ELB_5XX_Count',
      Dimensions: [{ Name: 'LoadBalancer', Value: Match.anyValue() }],
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'sy-new-healthy-hosts',
      MetricName: 'HealthyHostCount',
      Statistic: 'Minimum',
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    const names = Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties.AlarmName as string);
    expect(names.sort()).toEqual([
      'sy-new-5xx',
      'sy-new-elb-5xx',
      'sy-new-healthy-hosts',
      'sy-new-min-requests',
      'sy-new-p99-latency',
    ]);
  });

  test('a bake that is not whole minutes uses the whole minutes inside it', () => {
    build({ bake: Duration.seconds(150) }).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'sy-new-min-requests',
      Period: 120,
    });
  });

  test('fails when the bake is 0 s', () => {
    expect(() => build({ bake: Duration.seconds(0) })).toThrow(
      'bake must be from 60 to 86400 seconds (at least one CloudWatch period), got: 0',
    );
  });

  test('fails when the minimum request count is 0', () => {
    expect(() => build({ minRequestsPerBake: 0 })).toThrow(
      'minRequestsPerBake must be an integer from 1 to 1000000, got: 0',
    );
  });

  test('fails at synth when the stage bake is 0 s, and the minimum request count defaults to 1', () => {
    expect(() => parse({ migration: { bakeSeconds: 0 } })).toThrow(
      /migration\.bakeSeconds must be at least 60 seconds .*got: 0/,
    );
    expect(parse().alarms.newMinRequestsPerBake).toBe(1);
  });
});
