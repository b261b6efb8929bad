import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { Construct } from 'constructs';

export interface EdgeNetworkProps {
  /** IPv4 CIDR of the VPC. */
  readonly cidr: string;
  /** @default 2 */
  readonly maxAzs?: number;
  /** @default 1 */
  readonly natGateways?: number;
  /** Listener port. @default - 443 with a certificate, else 80 */
  readonly listenerPort?: number;
  /** Certificate for an HTTPS listener. @default - plain HTTP listener */
  readonly certificate?: acm.ICertificate;
  /** CIDR allowed to reach the listener. @default 0.0.0.0/0 */
  readonly ingressCidr?: string;
  /** Keep logs and buckets when the stack is deleted. @default true */
  readonly retainData?: boolean;
}

/**
 * The shared network of a stage: a VPC (public, private and isolated subnets,
 * flow logs) and one internet-facing ALB with a single listener. Both
 * environments attach their target groups to this listener; weighted routing
 * adds the rule that splits traffic between them.
 */
export class EdgeNetwork extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly listener: elbv2.ApplicationListener;
  /**
   * The listener's base URL, `http(s)://<ALB DNS name>:<port>`: where the Smoke phase sends its
   * requests unless the stage names a domain (a certificate is for the domain, not the ALB's name).
   */
  public readonly listenerUrl: string;

  constructor(scope: Construct, id: string, props: EdgeNetworkProps) {
    super(scope, id);
    const retain = props.retainData ?? true;
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      maxAzs: props.maxAzs ?? 2,
      natGateways: props.natGateways ?? 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy }),
          ),
        },
      },
    });

    const sg = new ec2.SecurityGroup(this, 'AlbSecurityGroup', {
      vpc: this.vpc,
      description: 'Switchyard ALB: listener ingress only',
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc: this.vpc,
      internetFacing: true,
      securityGroup: sg,
      dropInvalidHeaderFields: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    });

    const port = props.listenerPort ?? (props.certificate ? 443 : 80);
    this.listener = this.loadBalancer.addListener('Listener', {
      port,
      protocol: props.certificate ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP,
      certificates: props.certificate ? [props.certificate] : undefined,
      open: false,
      // Until a routing rule exists nothing is served: say so instead of guessing a side.
      defaultAction: elbv2.ListenerAction.fixedResponse(503, {
        contentType: 'text/plain',
        messageBody: 'switchyard: no route configured',
      }),
    });
    this.listenerUrl = `${props.certificate ? 'https' : 'http'}://${this.loadBalancer.loadBalancerDnsName}:${port}`;
    this.listener.connections.allowDefaultPortFrom(ec2.Peer.ipv4(props.ingressCidr ?? '0.0.0.0/0'), 'Listener ingress');

    this.enableAccessLogs(removalPolicy);
    Validations.of(sg).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'The ALB is the public entry point of the service; ingress is limited to the listener port and the configured CIDR.',
    });
  }

  private enableAccessLogs(removalPolicy: RemovalPolicy) {
    if (Token.isUnresolved(Stack.of(this).region)) {
      // ELB log delivery needs the region's ELB account; an environment-agnostic stack cannot know it.
      Validations.of(this.loadBalancer).acknowledge({
        id: 'AwsSolutions-ELB2',
        reason: 'Environment-agnostic synth: access logs are enabled when the stage config sets a region.',
      });
      return;
    }
    const bucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
      lifecycleRules: [{ expiration: Duration.days(90) }],
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket receives the ALB access logs; logging access to the log bucket itself would recurse.',
    });
    this.loadBalancer.logAccessLogs(bucket, 'alb');
  }
}
