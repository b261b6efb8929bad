import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { BAKE_SECONDS, MIN_REQUESTS_PER_BAKE } from '../../lambda/core/limits';

export interface HealthAlarmsProps {
  /** The new side's target group (metrics per target group). */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  /** Alarm name prefix; the health gate reads every alarm with it. */
  readonly prefix: string;
  /** 5xx responses per minute that trip the gate. */
  readonly max5xxPerMinute: number;
  /** p99 target response time (seconds) that trips the gate. */
  readonly maxP99LatencySeconds: number;
  /**
   * The load balancer in front of the new side, for its own 5xx (HTTPCode_ELB_5XX_Count).
   * @default - the first load balancer the target group is attached to
   */
  readonly loadBalancer?: elbv2.IApplicationLoadBalancer;
  /**
   * Requests the new side must serve per bake window for a step to pass; fewer (or no data)
   * is ALARM, so a dead or unrouted side cannot pass the gate.
   * @default 1
   */
  readonly minRequestsPerBake?: number;
  /**
   * Bake time of one traffic step: the window of the minimum-request alarm (whole minutes,
   * at least one).
   * @default Duration.minutes(5)
   */
  readonly bake?: Duration;
}

/**
 * The alarms that gate every traffic step, all named `<prefix>...` so the health gate reads
 * them by prefix: the new side's 5xx and p99 latency, the load balancer's own 5xx, healthy
 * hosts of the new target group (at least one), and a minimum request count per bake.
 */
export class HealthAlarms extends Construct {
  public readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: HealthAlarmsProps) {
    super(scope, id);
    const { minRequests, bakeSeconds } = validateProps(props);
    // The window must fit inside the bake: whole minutes, rounded down.
    const bakeWindow = Duration.minutes(Math.floor(bakeSeconds / 60));
    const m = props.targetGroup.metrics;
    const elb5xx = elb5xxMetric(props);
    this.alarms = [
      new cloudwatch.Alarm(this, 'Errors5xx', {
        alarmName: `${props.prefix}5xx`,
        alarmDescription: 'New side returns 5xx: the traffic shift stops and rolls back.',
        metric: m.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
          period: Duration.minutes(1),
          statistic: 'Sum',
        }),
        threshold: props.max5xxPerMinute,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'LatencyP99', {
        alarmName: `${props.prefix}p99-latency`,
        alarmDescription: 'New side p99 latency too high: the traffic shift stops and rolls back.',
        metric: m.targetResponseTime({ period: Duration.minutes(1), statistic: 'p99' }),
        threshold: props.maxP99LatencySeconds,
        evaluationPeriods: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'ElbErrors5xx', {
        alarmName: `${props.prefix}elb-5xx`,
        alarmDescription:
          'The load balancer itself returns 5xx (no healthy target, timeouts): the traffic shift stops and rolls back.',
        metric: elb5xx,
        threshold: props.max5xxPerMinute,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'HealthyHosts', {
        alarmName: `${props.prefix}healthy-hosts`,
        alarmDescription: 'The new target group has no healthy target: the traffic shift stops and rolls back.',
        metric: m.healthyHostCount({ period: Duration.minutes(1), statistic: 'Minimum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      new cloudwatch.Alarm(this, 'MinRequests', {
        alarmName: `${props.prefix}min-requests`,
        alarmDescription: `The new side served fewer than ${minRequests} requests in the bake window: a dead or unrouted side does not pass.`,
        metric: m.requestCount({ period: bakeWindow, statistic: 'Sum' }),
        threshold: minRequests,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    ];
  }
}

function firstLoadBalancerFullName(tg: elbv2.IApplicationTargetGroup): string {
  if (tg instanceof elbv2.ApplicationTargetGroup) return tg.firstLoadBalancerFullName;
  throw new Error(`loadBalancer must be given for an imported target group, got: ${tg.node.path}`);
}

/** Refuse values the alarms cannot gate with, in one plain sentence each; the minimum requests and bake in seconds. */
function validateProps(props: HealthAlarmsProps): { minRequests: number; bakeSeconds: number } {
  if (!(props.max5xxPerMinute >= 1))
    throw new Error(`max5xxPerMinute must be at least 1, got: ${props.max5xxPerMinute}`);
  if (!(props.maxP99LatencySeconds > 0))
    throw new Error(`maxP99LatencySeconds must be positive, got: ${props.maxP99LatencySeconds}`);
  const minRequests = props.minRequestsPerBake ?? 1;
  if (
    !Number.isInteger(minRequests) ||
    minRequests < MIN_REQUESTS_PER_BAKE.min ||
    minRequests > MIN_REQUESTS_PER_BAKE.max
  ) {
    throw new Error(
      `minRequestsPerBake must be an integer from ${MIN_REQUESTS_PER_BAKE.min} to ${MIN_REQUESTS_PER_BAKE.max}, got: ${minRequests}`,
    );
  }
  const bakeSeconds = (props.bake ?? Duration.minutes(5)).toSeconds();
  if (!(bakeSeconds >= BAKE_SECONDS.min && bakeSeconds <= BAKE_SECONDS.max)) {
    throw new Error(
      `bake must be from ${BAKE_SECONDS.min} to ${BAKE_SECONDS.max} seconds (at least one CloudWatch period), got: ${bakeSeconds}`,
    );
  }
  return { minRequests, bakeSeconds };
}

/** The load balancer's own 5xx per minute: of the one given, else of the first the target group is attached to. */
function elb5xxMetric(props: HealthAlarmsProps): cloudwatch.IMetric {
  return props.loadBalancer
    ? props.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, {
        period: Duration.minutes(1),
        statistic: 'Sum',
      })
    : new cloudwatch.Metric({
        namespace: 'AWS/ApplicationELB',
        metricName: 'HTTPCode_ELB_5XX_Count',
        dimensionsMap: { LoadBalancer: firstLoadBalancerFullName(props.targetGroup) },
        period: Duration.minutes(1),
        statistic: 'Sum',
      });
}
