import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC, METRIC_NAMESPACE, type MetricName } from '../../lambda/core/metrics';

export interface MigrationDashboardProps {
  readonly stageName: string;
  /** Old side's target group. @default - no old-side graphs (an imported target group has no load balancer to read metrics from) */
  readonly oldTargetGroup?: elbv2.IApplicationTargetGroup;
  readonly newTargetGroup: elbv2.IApplicationTargetGroup;
  readonly migrate: sfn.IStateMachine;
  readonly rollback: sfn.IStateMachine;
  readonly healthAlarms: cloudwatch.IAlarm[];
  /** RDS instances that hold a replication slot during the migration (old: forward, new: reverse). @default - none */
  readonly databases?: readonly { readonly label: string; readonly instanceIdentifier: string }[];
  /** Alarm when a database's oldest replication slot holds more WAL than this. @default 5 GiB */
  readonly slotLagAlarmBytes?: number;
  /** Alarm when the reverse sync (new → old, kept current after Finalize) lags more than this. @default 600 seconds */
  readonly reverseLagAlarmSeconds?: number;
}

/** One dashboard for the operator: weights, both sides' 5xx and latency, sync and slot lag, conflicts, executions. */
export class MigrationDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;
  /** One per database: its oldest replication slot holds too much WAL (an idle or lagging slot fills the disk). */
  public readonly slotLagAlarms: cloudwatch.Alarm[];
  /** The reverse sync lags: a rollback would have that much to return (after Finalize it runs on a schedule). */
  public readonly reverseLagAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: MigrationDashboardProps) {
    super(scope, id);
    const m = dashboardMetrics(props);
    const dbs = props.databases ?? [];
    const slotLagBytes = props.slotLagAlarmBytes ?? 5 * 1024 ** 3;
    this.slotLagAlarms = dbs.map((db) => slotLagAlarm(this, props.stageName, db, slotLagBytes, m));
    this.reverseLagAlarm = reverseLagAlarm(this, props, m);
    const alarms = [...props.healthAlarms, ...this.slotLagAlarms, this.reverseLagAlarm];
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `switchyard-${props.stageName}`,
      widgets: [...trafficRows(m, alarms), ...dataRows(m, dbs), ...operatorRows(props, m)],
    });
  }
}

type DashboardMetrics = ReturnType<typeof dashboardMetrics>;
type Db = { label: string; instanceIdentifier: string };

/** The metrics every row reads: the phases' EMF metrics, both sides' target groups, the databases. */
function dashboardMetrics(props: MigrationDashboardProps) {
  const period = Duration.minutes(1);
  const custom = (metricName: MetricName, statistic = 'Maximum') =>
    new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { Stage: props.stageName },
      statistic,
      period,
    });
  const side = (label: string, tg: elbv2.IApplicationTargetGroup) => ({
    errors: tg.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
      period,
      statistic: 'Sum',
      label: `${label} 5xx`,
    }),
    latency: tg.metrics.targetResponseTime({ period, statistic: 'p99', label: `${label} p99` }),
    requests: tg.metrics.requestCount({ period, statistic: 'Sum', label: `${label} requests` }),
  });
  const newSide = side('new', props.newTargetGroup);
  const oldSide = props.oldTargetGroup ? side('old', props.oldTargetGroup) : undefined;
  const both = (k: 'errors' | 'latency' | 'requests') => (oldSide ? [oldSide[k], newSide[k]] : [newSide[k]]);
  const rds = (metricName: string, db: { label: string; instanceIdentifier: string }) =>
    new cloudwatch.Metric({
      namespace: 'AWS/RDS',
      metricName,
      dimensionsMap: { DBInstanceIdentifier: db.instanceIdentifier },
      statistic: 'Maximum',
      period,
      label: `${db.label} ${metricName}`,
    });
  return { period, custom, both, rds };
}

function slotLagAlarm(scope: Construct, stageName: string, db: Db, slotLagBytes: number, m: DashboardMetrics) {
  return new cloudwatch.Alarm(scope, `SlotLag${db.label[0].toUpperCase()}${db.label.slice(1)}`, {
    alarmName: `switchyard-${stageName}-slot-lag-${db.label}`,
    alarmDescription:
      `The oldest replication slot on the ${db.label} database holds more than ${slotLagBytes} bytes of ` +
      `WAL: the sync is stopped or lagging; drain it, or drop the migration's slots (the disk fills ` +
      `otherwise).`,
    metric: m.rds('OldestReplicationSlotLag', db),
    threshold: slotLagBytes,
    evaluationPeriods: 5,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

function reverseLagAlarm(scope: Construct, props: MigrationDashboardProps, { custom }: DashboardMetrics) {
  const reverseLag = props.reverseLagAlarmSeconds ?? 600;
  return new cloudwatch.Alarm(scope, 'ReverseSyncLag', {
    alarmName: `switchyard-${props.stageName}-reverse-sync-lag`,
    alarmDescription:
      `The reverse sync (new → old) lags more than ${reverseLag} s: a traffic rollback now would have that ` +
      `backlog to return. Check the KeepOldCurrent executions and the new database's reverse slot.`,
    metric: custom(METRIC.reverseSyncLagSeconds).with({ period: Duration.minutes(5) }),
    threshold: reverseLag,
    evaluationPeriods: 3,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

/** Weight, requests, alarms; errors, latency, sync lag. */
function trafficRows({ custom, both }: DashboardMetrics, alarms: cloudwatch.IAlarm[]): cloudwatch.IWidget[][] {
  return [
    [
      new cloudwatch.GraphWidget({
        title: 'Traffic on the new side (%)',
        left: [custom(METRIC.newSideWeight)],
        leftYAxis: { min: 0, max: 100 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'Requests', left: both('requests'), width: 8 }),
      new cloudwatch.AlarmStatusWidget({
        title: 'Health gate, slot lag and reverse lag alarms',
        alarms,
        width: 8,
      }),
    ],
    [
      new cloudwatch.GraphWidget({ title: '5xx per minute', left: both('errors'), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'p99 latency (s)', left: both('latency'), width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Sync lag (s): old → new, new → old',
        left: [custom(METRIC.syncLagSeconds), custom(METRIC.reverseSyncLagSeconds)],
        width: 8,
      }),
    ],
  ];
}

/** Slots, WAL and storage, conflicts; the copy's and the drains' own metrics. */
function dataRows({ custom, rds }: DashboardMetrics, dbs: readonly Db[]): cloudwatch.IWidget[][] {
  return [
    [
      new cloudwatch.GraphWidget({
        title: 'Replication slot lag (bytes)',
        left: dbs.map((db) => rds('OldestReplicationSlotLag', db)),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'WAL disk use / free storage (bytes)',
        left: dbs.map((db) => rds('TransactionLogsDiskUsage', db)),
        right: dbs.map((db) => rds('FreeStorageSpace', db)),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Sync conflicts (later commit won)',
        left: [custom(METRIC.syncConflicts, 'Sum')],
        width: 8,
      }),
    ],
    // The phases' own EMF metrics (lambda/core/metrics.ts): copy throughput and sync drain sizes.
    [
      new cloudwatch.GraphWidget({
        title: 'Copy: rows copied per minute, rows/s per invocation',
        left: [custom(METRIC.rowsCopied, 'Sum')],
        right: [custom(METRIC.copyRowsPerSecond, 'Average')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Sync: changes per drain',
        left: [custom(METRIC.syncDrainChanges, 'Maximum'), custom(METRIC.syncDrainChanges, 'Sum')],
        width: 12,
      }),
    ],
  ];
}

/** An operator pause and how to answer it; executions and traffic rollbacks. */
function operatorRows(props: MigrationDashboardProps, { custom, period }: DashboardMetrics): cloudwatch.IWidget[][] {
  return [
    // An operator pause (pauseAt): when a step began to hold and at which weight; how to answer it.
    [
      new cloudwatch.GraphWidget({
        title: 'Paused at step (% new)',
        left: [custom(METRIC.pausedAtWeight, 'Maximum')],
        leftYAxis: { min: 0, max: 100 },
        width: 12,
      }),
      new cloudwatch.TextWidget({
        markdown: [
          '### Paused migration',
          'The Migrate execution waits in the state **PauseAtStep** (notification `paused`).',
          `Resume: \`npm run switchyard -- resume --stage ${props.stageName} --migration-id ID\``,
          `Abort (traffic back to 100 % old): \`npm run switchyard -- abort --stage ${props.stageName} --migration-id ID\``,
          'After maxPauseSeconds the pause times out and the traffic rolls back.',
        ].join('\n\n'),
        width: 12,
        height: 6,
      }),
    ],
    [
      new cloudwatch.GraphWidget({
        title: 'Migrate executions',
        left: [
          props.migrate.metricStarted({ period }),
          props.migrate.metricSucceeded({ period }),
          props.migrate.metricFailed({ period }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Traffic rollbacks',
        left: [props.rollback.metricStarted({ period }), custom(METRIC.trafficRollbackMs)],
        width: 12,
      }),
    ],
  ];
}
