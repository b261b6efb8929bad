import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import type { TrafficRouter } from '../../core/traffic/ports';
import type { Weights } from '../../core/traffic/weights';
import { AwsResourceNotFoundError, call } from './errors';
import { ERRORS, SwitchyardError } from '../../core/errors';
import { AWS_CLIENT_CONFIG } from './retry';

export interface Route53RouterProps {
  readonly hostedZoneId: string;
  /** Fully qualified record name, e.g. chat.example.com */
  readonly recordName: string;
  /** @default old */
  readonly oldSetIdentifier?: string;
  /** @default new */
  readonly newSetIdentifier?: string;
  /** Polls of GetChange before giving up on INSYNC. @default 60 */
  readonly maxPolls?: number;
  readonly pollIntervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Timed out waiting for Route53 to report the change INSYNC. */
export class DnsChangeTimeoutError extends SwitchyardError {
  readonly name = ERRORS.DnsChangeTimeoutError;
}

const fqdn = (n: string) => (n.endsWith('.') ? n : `${n}.`);

/**
 * The weighted record pair: one ChangeBatch UPSERTs both records (keeping their
 * targets and TTL), then waits for INSYNC. Clients follow within the TTL.
 */
export class Route53Router implements TrafficRouter {
  public readonly description: string;
  constructor(
    private readonly props: Route53RouterProps,
    private readonly r53: Route53Client = new Route53Client({ ...AWS_CLIENT_CONFIG }),
  ) {
    this.description = `Route53 weighted records ${props.recordName}`;
  }

  private async pair(): Promise<{ old: ResourceRecordSet; new: ResourceRecordSet }> {
    const name = fqdn(this.props.recordName);
    const r = await call('route53:ListResourceRecordSets', this.props.hostedZoneId, () =>
      this.r53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: this.props.hostedZoneId,
          StartRecordName: name,
          MaxItems: 20,
        }),
      ),
    );
    const sets = (r.ResourceRecordSets ?? []).filter((s) => s.Name === name && s.Weight !== undefined);
    const find = (id: string) => sets.find((s) => s.SetIdentifier === id);
    const oldSet = find(this.props.oldSetIdentifier ?? 'old');
    const newSet = find(this.props.newSetIdentifier ?? 'new');
    if (!oldSet || !newSet)
      throw new AwsResourceNotFoundError(
        `${this.description}: weighted records "old" and "new" not found in zone ${this.props.hostedZoneId}`,
      );
    return { old: oldSet, new: newSet };
  }

  async getWeights(): Promise<Weights> {
    const p = await this.pair();
    return { old: Number(p.old.Weight), new: Number(p.new.Weight) };
  }

  async setWeights(w: Weights): Promise<void> {
    const p = await this.pair();
    const change = await call('route53:ChangeResourceRecordSets', this.props.hostedZoneId, () =>
      this.r53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: this.props.hostedZoneId,
          ChangeBatch: {
            Comment: `switchyard: old ${w.old} / new ${w.new}`,
            Changes: [
              { Action: 'UPSERT', ResourceRecordSet: { ...p.old, Weight: w.old } },
              { Action: 'UPSERT', ResourceRecordSet: { ...p.new, Weight: w.new } },
            ],
          },
        }),
      ),
    );
    const id = change.ChangeInfo?.Id;
    const sleep = this.props.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    for (let i = 0; i < (this.props.maxPolls ?? 60); i++) {
      const s = await call('route53:GetChange', String(id), () => this.r53.send(new GetChangeCommand({ Id: id })));
      if (s.ChangeInfo?.Status === 'INSYNC') return;
      await sleep(this.props.pollIntervalMs ?? 2000);
    }
    throw new DnsChangeTimeoutError(
      `${this.description}: change ${id} not INSYNC after ${this.props.maxPolls ?? 60} polls`,
    );
  }
}
