import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface MigrationDashboardProps {
  readonly stageName: string;
  /** Old side's target group. @default - no old-side graphs (an imported target group has no load balancer to read metrics from) */
  readonly oldTargetGroup?: elbv2.IApplicationTargetGroup;
  readonly newTargetGroup: elbv2.IApplicationTargetGroup;
  readonly migrate: sfn.IStateMachine;
  readonly rollback: sfn.IStateMachine;
  readonly healthAlarms: cloudwatch.IAlarm[];
}

/** One dashboard for the operator: weights, both sides' 5xx and latency, catch-up lag, executions. */
export class MigrationDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MigrationDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(1);
    const custom = (metricName: string, statistic = 'Maximum') =>
      new cloudwatch.Metric({ namespace: 'Switchyard', metricName, dimensionsMap: { Stage: props.stageName }, statistic, period });
    const side = (label: string, tg: elbv2.IApplicationTargetGroup) => ({
      errors: tg.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period, statistic: 'Sum', label: `${label} 5xx` }),
      latency: tg.metrics.targetResponseTime({ period, statistic: 'p99', label: `${label} p99` }),
      requests: tg.metrics.requestCount({ period, statistic: 'Sum', label: `${label} requests` }),
    });
    const newSide = side('new', props.newTargetGroup);
    const oldSide = props.oldTargetGroup ? side('old', props.oldTargetGroup) : undefined;
    const both = (k: 'errors' | 'latency' | 'requests') => (oldSide ? [oldSide[k], newSide[k]] : [newSide[k]]);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `switchyard-${props.stageName}`,
      widgets: [
        [
          new cloudwatch.GraphWidget({ title: 'Traffic on the new side (%)', left: [custom('NewSideWeight')], leftYAxis: { min: 0, max: 100 }, width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Requests', left: both('requests'), width: 8 }),
          new cloudwatch.AlarmStatusWidget({ title: 'Health gate alarms', alarms: props.healthAlarms, width: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({ title: '5xx per minute', left: both('errors'), width: 8 }),
          new cloudwatch.GraphWidget({ title: 'p99 latency (s)', left: both('latency'), width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Catch-up lag (s)', left: [custom('CatchUpLagSeconds')], width: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Migrate executions',
            left: [props.migrate.metricStarted({ period }), props.migrate.metricSucceeded({ period }), props.migrate.metricFailed({ period })],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Traffic rollbacks',
            left: [props.rollback.metricStarted({ period }), custom('TrafficRollbackMs')],
            width: 12,
          }),
        ],
      ],
    });
  }
}
