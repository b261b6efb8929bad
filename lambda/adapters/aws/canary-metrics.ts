import {
  CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { errorRate } from '../../core/verify/figures';
import type { CanaryMetrics, CanaryWindow, Side, SideWindow } from '../../core/verify/ports';
import { call } from './errors';
import { AWS_CLIENT_CONFIG } from './retry';

/** The CloudWatch dimensions of one side's ALB target group metrics (both are required by AWS/ApplicationELB per-target-group metrics). */
export interface TargetGroupDimensions {
  /** `app/<name>/<id>`: the load balancer part of its ARN. */
  readonly loadBalancer: string;
  /** `targetgroup/<name>/<id>`: the target group part of its ARN. */
  readonly targetGroup: string;
}

/** `arn:…:loadbalancer/app/name/id` -> `app/name/id` (the LoadBalancer dimension). */
export function loadBalancerDimension(arn: string): string {
  const m = /:loadbalancer\/(app\/[^/]+\/[^/]+)$/.exec(arn);
  if (!m) throw new Error(`must be an application load balancer ARN (…:loadbalancer/app/<name>/<id>), got: ${arn}`);
  return m[1];
}

/** `arn:…:targetgroup/name/id` -> `targetgroup/name/id` (the TargetGroup dimension). */
export function targetGroupDimension(arn: string): string {
  const m = /:(targetgroup\/[^/]+\/[^/]+)$/.exec(arn);
  if (!m) throw new Error(`must be a target group ARN (…:targetgroup/<name>/<id>), got: ${arn}`);
  return m[1];
}

const SIDES: readonly Side[] = ['old', 'new'];
const PERCENTILES = ['p50', 'p90', 'p99'] as const;

/**
 * The canary figures of both sides from the ALB's per-target-group metrics, read with one
 * GetMetricData call over the same window: RequestCount and HTTPCode_Target_5XX_Count (Sum),
 * TargetResponseTime p50/p90/p99, and the error rate as metric math. The window is widened to
 * whole minutes (ALB metrics have 60-second resolution) and read as a single period, so each
 * query returns one value for the whole window. No raw samples: the gate compares p99.
 */
export class CloudWatchCanaryMetrics implements CanaryMetrics {
  public readonly description: string;

  constructor(
    private readonly sides: Readonly<Record<Side, TargetGroupDimensions>>,
    private readonly cw: CloudWatchClient = new CloudWatchClient({ ...AWS_CLIENT_CONFIG }),
  ) {
    this.description = `ALB metrics of ${sides.old.targetGroup} (old) and ${sides.new.targetGroup} (new)`;
  }

  /** The GetMetricData queries for both sides (exported for the docs and tests). */
  static queries(sides: Readonly<Record<Side, TargetGroupDimensions>>, periodSeconds: number): MetricDataQuery[] {
    const out: MetricDataQuery[] = [];
    for (const side of SIDES) {
      const Dimensions = [
        { Name: 'TargetGroup', Value: sides[side].targetGroup },
        { Name: 'LoadBalancer', Value: sides[side].loadBalancer },
      ];
      const metric = (Id: string, MetricName: string, Stat: string): MetricDataQuery => ({
        Id,
        MetricStat: {
          Metric: { Namespace: 'AWS/ApplicationELB', MetricName, Dimensions },
          Period: periodSeconds,
          Stat,
        },
        ReturnData: true,
      });
      out.push(
        metric(`requests_${side}`, 'RequestCount', 'Sum'),
        metric(`errors_${side}`, 'HTTPCode_Target_5XX_Count', 'Sum'),
      );
      for (const p of PERCENTILES) out.push(metric(`${p}_${side}`, 'TargetResponseTime', p));
      out.push({
        Id: `errorrate_${side}`,
        Expression: `IF(requests_${side} > 0, 100 * FILL(errors_${side}, 0) / requests_${side}, 0)`,
        Label: `${side} side 5xx rate (%)`,
        ReturnData: true,
      });
    }
    return out;
  }

  async window(fromMs: number, toMs: number): Promise<CanaryWindow> {
    if (!(toMs > fromMs))
      throw new Error(
        `the canary window must end after it starts, got: ${new Date(fromMs).toISOString()} to ${new Date(toMs).toISOString()}`,
      );
    const start = Math.floor(fromMs / 60_000) * 60_000;
    const end = Math.ceil(toMs / 60_000) * 60_000;
    const period = Math.max(60, (end - start) / 1000);
    const queries = CloudWatchCanaryMetrics.queries(this.sides, period);
    const results = new Map<string, MetricDataResult>();
    let NextToken: string | undefined;
    do {
      const r = await call('cloudwatch:GetMetricData', this.description, () =>
        this.cw.send(
          new GetMetricDataCommand({
            MetricDataQueries: queries,
            StartTime: new Date(start),
            EndTime: new Date(end),
            ScanBy: 'TimestampDescending',
            NextToken,
          }),
        ),
      );
      for (const res of r.MetricDataResults ?? []) {
        const prev = results.get(res.Id!);
        results.set(res.Id!, prev ? { ...prev, Values: [...(prev.Values ?? []), ...(res.Values ?? [])] } : res);
      }
      NextToken = r.NextToken;
    } while (NextToken);

    const sum = (id: string) => (results.get(id)?.Values ?? []).reduce((a, b) => a + b, 0);
    const first = (id: string): number | null => results.get(id)?.Values?.[0] ?? null;
    const toMs3 = (seconds: number | null) => (seconds === null ? null : Math.round(seconds * 1_000_000) / 1000);
    const side = (s: Side): SideWindow => {
      const requests = Math.round(sum(`requests_${s}`));
      const errors = Math.round(sum(`errors_${s}`));
      const rate = first(`errorrate_${s}`);
      return {
        requests,
        errors,
        errorRate: rate === null ? errorRate(requests, errors) : Math.round(rate * 1000) / 1000,
        p50: toMs3(first(`p50_${s}`)),
        p90: toMs3(first(`p90_${s}`)),
        p99: toMs3(first(`p99_${s}`)),
      };
    };
    return { old: side('old'), new: side('new') };
  }
}
