import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';

export interface HealthAlarmsProps {
  /** The new side's target group (metrics per target group). */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  /** Alarm name prefix; the health gate reads every alarm with it. */
  readonly prefix: string;
  /** 5xx responses per minute that trip the gate. */
  readonly max5xxPerMinute: number;
  /** p99 target response time (seconds) that trips the gate. */
  readonly maxP99LatencySeconds: number;
}

/** The alarms that gate every traffic step: the new side's 5xx count and p99 latency. */
export class HealthAlarms extends Construct {
  public readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: HealthAlarmsProps) {
    super(scope, id);
    if (!(props.max5xxPerMinute >= 1)) throw new Error(`max5xxPerMinute must be at least 1, got: ${props.max5xxPerMinute}`);
    if (!(props.maxP99LatencySeconds > 0)) throw new Error(`maxP99LatencySeconds must be positive, got: ${props.maxP99LatencySeconds}`);
    const m = props.targetGroup.metrics;
    this.alarms = [
      new cloudwatch.Alarm(this, 'Errors5xx', {
        alarmName: `${props.prefix}5xx`,
        alarmDescription: 'New side returns 5xx: the traffic shift stops and rolls back.',
        metric: m.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: Duration.minutes(1), statistic: 'Sum' }),
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
    ];
  }
}
