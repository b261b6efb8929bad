import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { AlarmState } from '../../core/traffic/health';
import type { AlarmReader } from '../../core/traffic/ports';
import { call } from './errors';
import { AWS_CLIENT_CONFIG } from './retry';

/** The new side's alarms, by explicit names or by name prefix. */
export class CloudWatchAlarmReader implements AlarmReader {
  constructor(
    private readonly selector: { names: readonly string[] } | { prefix: string },
    private readonly cw: CloudWatchClient = new CloudWatchClient({ ...AWS_CLIENT_CONFIG }),
  ) {}

  async read(): Promise<AlarmState[]> {
    const out: AlarmState[] = [];
    let NextToken: string | undefined;
    const label = 'names' in this.selector ? this.selector.names.join(',') : `${this.selector.prefix}*`;
    do {
      const r = await call('cloudwatch:DescribeAlarms', label, () =>
        this.cw.send(
          new DescribeAlarmsCommand({
            ...('names' in this.selector
              ? { AlarmNames: [...this.selector.names] }
              : { AlarmNamePrefix: this.selector.prefix }),
            AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            NextToken,
          }),
        ),
      );
      for (const a of [...(r.MetricAlarms ?? []), ...(r.CompositeAlarms ?? [])]) {
        out.push({
          name: a.AlarmName!,
          state: a.StateValue as AlarmState['state'],
          since: a.StateUpdatedTimestamp ?? new Date(0),
        });
      }
      NextToken = r.NextToken;
    } while (NextToken);
    return out;
  }
}
