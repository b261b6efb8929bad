import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config';
import { importedHostedZone, importedTargetGroup } from '../constructs/imported-resources';
import type { IServiceEnvironment } from '../constructs/service-environment';
import { WeightedAlbRouting, WeightedDnsRecords } from '../constructs/weighted-routing';

export interface RoutingStackProps extends StackProps {
  readonly config: StageConfig;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  readonly listener: elbv2.IApplicationListener;
  readonly oldEnvironment: IServiceEnvironment;
  readonly newEnvironment: IServiceEnvironment;
}

/**
 * Weighted routing between the two sides: an ALB rule forwarding to both target
 * groups (when the old side sits behind this stage's ALB), and/or a Route53
 * weighted record pair. Both start at 100 % old.
 */
export class RoutingStack extends Stack {
  public readonly alb?: WeightedAlbRouting;
  public readonly dns?: WeightedDnsRecords;

  constructor(scope: Construct, id: string, props: RoutingStackProps) {
    super(scope, id, props);
    const { routing } = props.config;
    // Reference the target groups by ARN: the environments' services wait only for their own direct-access
    // rules, so this stack's rules must not register on the target group objects (that would be a cycle).
    const byArn = (id: string, tg: elbv2.IApplicationTargetGroup) => {
      const ref = importedTargetGroup(this, id, tg.targetGroupArn);
      Validations.of(ref).acknowledge({
        id: '@aws-cdk/aws-elbv2:albTargetGroupCannotRegisterListener',
        reason:
          "ALB-to-service ingress is opened by each environment's own direct-access rule on the same listener; " +
          'imported old target groups keep their own load balancer.',
      });
      return ref;
    };
    const newTargetGroup = byArn('NewTargetGroup', props.newEnvironment.targetGroup);
    if (!props.oldEnvironment.imported) {
      this.alb = new WeightedAlbRouting(this, 'AlbWeights', {
        listener: props.listener,
        oldTargetGroup: byArn('OldTargetGroup', props.oldEnvironment.targetGroup),
        newTargetGroup,
        stickiness: routing.alb.stickinessSeconds > 0 ? Duration.seconds(routing.alb.stickinessSeconds) : undefined,
      });
    } else {
      // The imported old side keeps its own load balancer: this ALB serves the new side, DNS splits traffic.
      new elbv2.ApplicationListenerRule(this, 'NewSideRule', {
        listener: props.listener,
        priority: 100,
        conditions: [elbv2.ListenerCondition.pathPatterns(['/*'])],
        action: elbv2.ListenerAction.forward([newTargetGroup]),
      });
    }
    if (routing.route53) {
      this.dns = new WeightedDnsRecords(this, 'DnsWeights', {
        zone: importedHostedZone(this, 'Zone', routing.route53),
        recordName: routing.route53.recordName,
        oldTarget: routing.route53.oldTarget,
        newTarget: routing.route53.newTarget ?? props.loadBalancer.loadBalancerDnsName,
        ttl: Duration.seconds(routing.route53.ttlSeconds),
      });
    }
    new CfnOutput(this, 'Endpoint', { value: props.loadBalancer.loadBalancerDnsName, description: 'ALB DNS name' });
  }
}
