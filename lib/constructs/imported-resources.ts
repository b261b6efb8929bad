/**
 * The stage config names existing resources by ARN or id (an imported old side, a hosted zone, a
 * certificate, an old load balancer). This file turns those strings into typed CDK references,
 * once; constructs and stacks take the typed references (IHostedZone, IApplicationTargetGroup,
 * ICertificate, …) and never parse an ARN themselves.
 */
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import type { Construct } from 'constructs';

/** A hosted zone from the config's `routing.route53` (id and name: no lookup, synth stays environment-agnostic). */
export function importedHostedZone(
  scope: Construct,
  id: string,
  cfg: { readonly hostedZoneId: string; readonly zoneName: string },
): route53.IHostedZone {
  return route53.HostedZone.fromHostedZoneAttributes(scope, id, {
    hostedZoneId: cfg.hostedZoneId,
    zoneName: cfg.zoneName,
  });
}

/** The listener certificate from the config's `routing.alb.certificateArn`. */
export function importedCertificate(scope: Construct, id: string, certificateArn: string): acm.ICertificate {
  return Certificate.fromCertificateArn(scope, id, certificateArn);
}

/** A target group by ARN (an imported old side's `targetGroupArn`, or another stack's group referenced by ARN). */
export function importedTargetGroup(
  scope: Construct,
  id: string,
  targetGroupArn: string,
): elbv2.IApplicationTargetGroup {
  return elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(scope, id, { targetGroupArn });
}

/**
 * A load balancer whose ARN is all that is known (config `verification.oldLoadBalancerArn`: the
 * LoadBalancer dimension of its metrics). CDK's fromApplicationLoadBalancerAttributes needs its
 * security group and fromLookup an environment-specific synth, so the reference holds the ARN
 * only; every IApplicationLoadBalancer is one.
 */
export type LoadBalancerRef = Pick<elbv2.IApplicationLoadBalancer, 'loadBalancerArn'>;

/** The reference of a load balancer known by ARN. */
export function loadBalancerByArn(loadBalancerArn: string): LoadBalancerRef {
  return { loadBalancerArn };
}
