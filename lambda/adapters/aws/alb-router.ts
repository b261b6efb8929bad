import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { TrafficRouter } from '../../core/traffic/ports';
import type { Weights } from '../../core/traffic/weights';
import { AwsResourceNotFoundError, call } from './errors';
import { AWS_CLIENT_CONFIG } from './retry';

export interface AlbRouterProps {
  readonly ruleArn: string;
  readonly oldTargetGroupArn: string;
  readonly newTargetGroupArn: string;
}

/** The weighted ALB listener rule: both target groups change in one ModifyRule call. */
export class AlbRouter implements TrafficRouter {
  public readonly description: string;
  constructor(
    private readonly props: AlbRouterProps,
    private readonly elb: ElasticLoadBalancingV2Client = new ElasticLoadBalancingV2Client({ ...AWS_CLIENT_CONFIG }),
  ) {
    this.description = `ALB rule ${props.ruleArn}`;
  }

  private async forwardAction() {
    const r = await call('elasticloadbalancing:DescribeRules', this.props.ruleArn, () =>
      this.elb.send(new DescribeRulesCommand({ RuleArns: [this.props.ruleArn] })),
    );
    const action = r.Rules?.[0]?.Actions?.find((a) => a.Type === 'forward');
    if (!action) throw new AwsResourceNotFoundError(`${this.description} has no forward action`);
    return action;
  }

  async getWeights(): Promise<Weights> {
    const action = await this.forwardAction();
    const groups =
      action.ForwardConfig?.TargetGroups ??
      (action.TargetGroupArn ? [{ TargetGroupArn: action.TargetGroupArn, Weight: 1 }] : []);
    const total = groups.reduce((n, g) => n + (g.Weight ?? 1), 0) || 1;
    const pct = (arn: string) =>
      Math.round((100 * (groups.find((g) => g.TargetGroupArn === arn)?.Weight ?? 0)) / total);
    return { old: pct(this.props.oldTargetGroupArn), new: pct(this.props.newTargetGroupArn) };
  }

  async setWeights(w: Weights): Promise<void> {
    const current = await this.forwardAction();
    await call('elasticloadbalancing:ModifyRule', this.props.ruleArn, () =>
      this.elb.send(
        new ModifyRuleCommand({
          RuleArn: this.props.ruleArn,
          Actions: [
            {
              Type: 'forward',
              ForwardConfig: {
                TargetGroups: [
                  { TargetGroupArn: this.props.oldTargetGroupArn, Weight: w.old },
                  { TargetGroupArn: this.props.newTargetGroupArn, Weight: w.new },
                ],
                TargetGroupStickinessConfig: current.ForwardConfig?.TargetGroupStickinessConfig ?? { Enabled: false },
              },
            },
          ],
        }),
      ),
    );
  }
}
