import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { StorageReader } from '../../core/preflight/ports';
import { call } from './errors';
import { AWS_CLIENT_CONFIG } from './retry';

/** One side's RDS instance identifier; a cluster (Aurora: storage grows with the data) or none reads as unknown. */
export interface StorageSide {
  readonly instanceId?: string;
  readonly isCluster?: boolean;
}

/**
 * Free storage from the RDS `FreeStorageSpace` metric (the lowest value of the last 15 minutes):
 * one GetMetricData call per side. No datapoints (a new instance, an emulator) is unknown, not zero.
 */
export class RdsFreeStorage implements StorageReader {
  constructor(
    private readonly sides: Readonly<Record<'old' | 'new', StorageSide>>,
    private readonly cw: CloudWatchClient = new CloudWatchClient({ ...AWS_CLIENT_CONFIG }),
    private readonly now: () => number = Date.now,
  ) {}

  async freeStorageBytes(side: 'old' | 'new'): Promise<number | null> {
    const { instanceId, isCluster } = this.sides[side];
    if (!instanceId || isCluster) return null;
    const end = new Date(this.now());
    const r = await call('cloudwatch:GetMetricData', `FreeStorageSpace of ${instanceId}`, () =>
      this.cw.send(
        new GetMetricDataCommand({
          StartTime: new Date(end.getTime() - 15 * 60_000),
          EndTime: end,
          MetricDataQueries: [
            {
              Id: 'free',
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/RDS',
                  MetricName: 'FreeStorageSpace',
                  Dimensions: [{ Name: 'DBInstanceIdentifier', Value: instanceId }],
                },
                Period: 300,
                Stat: 'Minimum',
              },
            },
          ],
        }),
      ),
    );
    const values = r.MetricDataResults?.[0]?.Values ?? [];
    return values.length ? Math.min(...values) : null;
  }
}
