import { Duration, Stack } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { assertWeights } from '../../lambda/core/traffic/weights';

export interface WeightedAlbRoutingProps {
  /** The listener that receives the service's traffic. */
  readonly listener: elbv2.IApplicationListener;
  readonly oldTargetGroup: elbv2.IApplicationTargetGroup;
  readonly newTargetGroup: elbv2.IApplicationTargetGroup;
  /** Rule priority; lower than the direct-access rules' numbers is evaluated first. @default 100 */
  readonly priority?: number;
  /** Initial weight of the old side (the new side gets the rest). @default 100 */
  readonly initialOldWeight?: number;
  /** Target-group stickiness; stickiness overrides weights, so keep it short. @default - off */
  readonly stickiness?: Duration;
}

/**
 * A listener rule matching every path that forwards to the old and the new target
 * group with weights. The migration shifts traffic with one `ModifyRule` call on
 * {@link ruleArn}: ALB weights apply to new connections within seconds.
 */
export class WeightedAlbRouting extends Construct {
  public readonly rule: elbv2.ApplicationListenerRule;
  public readonly listener: elbv2.IApplicationListener;
  public readonly oldTargetGroup: elbv2.IApplicationTargetGroup;
  public readonly newTargetGroup: elbv2.IApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: WeightedAlbRoutingProps) {
    super(scope, id);
    const oldWeight = props.initialOldWeight ?? 100;
    assertWeights({ old: oldWeight, new: 100 - oldWeight });
    const priority = props.priority ?? 100;
    if (!Number.isInteger(priority) || priority < 1 || priority > 50000) {
      throw new Error(`priority must be an integer from 1 to 50000, got: ${priority}`);
    }
    const stickySeconds = props.stickiness?.toSeconds() ?? 0;
    if (stickySeconds > 3600)
      throw new Error(`stickiness must be at most 1 hour so weight shifts take effect, got: ${stickySeconds}s`);

    this.listener = props.listener;
    this.oldTargetGroup = props.oldTargetGroup;
    this.newTargetGroup = props.newTargetGroup;
    this.rule = new elbv2.ApplicationListenerRule(this, 'Rule', {
      listener: props.listener,
      priority,
      conditions: [elbv2.ListenerCondition.pathPatterns(['/*'])],
      action: elbv2.ListenerAction.weightedForward(
        [
          { targetGroup: props.oldTargetGroup, weight: oldWeight },
          { targetGroup: props.newTargetGroup, weight: 100 - oldWeight },
        ],
        stickySeconds > 0 ? { stickinessDuration: props.stickiness } : {},
      ),
    });
  }

  /** The ARN the traffic phases pass to `ModifyRule` / `DescribeRules`. */
  public get ruleArn(): string {
    return this.rule.listenerRuleArn;
  }

  /** Let `grantee` read and change the weights of this rule (and nothing else). */
  public grantShiftTraffic(grantee: iam.IGrantable): iam.Grant {
    iam.Grant.addToPrincipal({ grantee, actions: ['elasticloadbalancing:ModifyRule'], resourceArns: [this.ruleArn] });
    return this.grantReadWeights(grantee);
  }

  /** Let `grantee` read the weights (Preflight, Finalize): no change rights. */
  public grantReadWeights(grantee: iam.IGrantable): iam.Grant {
    // Describe* calls do not support resource-level permissions.
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['elasticloadbalancing:DescribeRules', 'elasticloadbalancing:DescribeTargetHealth'],
      resourceArns: ['*'],
    });
  }
}

export interface WeightedDnsRecordsProps {
  readonly zone: route53.IHostedZone;
  /** Record name in the zone, e.g. `api`. */
  readonly recordName: string;
  /** DNS name the `old` record points at. */
  readonly oldTarget: string;
  /** DNS name the `new` record points at. */
  readonly newTarget: string;
  /** TTL of both records: the upper bound of how long a shift (or rollback) takes to reach clients. @default 60 seconds */
  readonly ttl?: Duration;
  /** @default 100 */
  readonly initialOldWeight?: number;
}

/**
 * A pair of weighted CNAME records with the same name, set identifiers `old` and
 * `new`. The migration shifts traffic with one ChangeBatch that UPSERTs both.
 */
export class WeightedDnsRecords extends Construct {
  public static readonly OLD_SET_IDENTIFIER = 'old';
  public static readonly NEW_SET_IDENTIFIER = 'new';
  public readonly zone: route53.IHostedZone;
  public readonly recordName: string;
  public readonly ttl: Duration;
  public readonly oldRecord: route53.CnameRecord;
  public readonly newRecord: route53.CnameRecord;

  constructor(scope: Construct, id: string, props: WeightedDnsRecordsProps) {
    super(scope, id);
    const oldWeight = props.initialOldWeight ?? 100;
    assertWeights({ old: oldWeight, new: 100 - oldWeight });
    this.ttl = props.ttl ?? Duration.seconds(60);
    const ttlSeconds = this.ttl.toSeconds();
    if (ttlSeconds < 5 || ttlSeconds > 3600)
      throw new Error(`ttl must be from 5 to 3600 seconds (rollback time is bounded by it), got: ${ttlSeconds}`);
    this.zone = props.zone;
    this.recordName = props.recordName;
    this.oldRecord = new route53.CnameRecord(this, 'Old', {
      zone: props.zone,
      recordName: props.recordName,
      domainName: props.oldTarget,
      ttl: this.ttl,
      weight: oldWeight,
      setIdentifier: WeightedDnsRecords.OLD_SET_IDENTIFIER,
    });
    this.newRecord = new route53.CnameRecord(this, 'New', {
      zone: props.zone,
      recordName: props.recordName,
      domainName: props.newTarget,
      ttl: this.ttl,
      weight: 100 - oldWeight,
      setIdentifier: WeightedDnsRecords.NEW_SET_IDENTIFIER,
    });
  }

  /** Let `grantee` read the record pair's weights (Preflight, Finalize): no change rights. */
  public grantReadWeights(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['route53:ListResourceRecordSets'],
      resourceArns: [this.zone.hostedZoneArn],
    });
  }

  /** The record name as Route53 normalizes it in IAM conditions: lowercase, no trailing dot. */
  public get normalizedRecordName(): string {
    return `${this.recordName}.${this.zone.zoneName}`.toLowerCase().replace(/\.+$/, '');
  }

  /**
   * Let `grantee` change and read the record pair's weights: UPSERT of CNAME records of this
   * one name only (both set identifiers share it), enforced with Route53's normalized-name,
   * record-type and action condition keys.
   */
  public grantShiftTraffic(grantee: iam.IGrantable): iam.Grant {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['route53:ChangeResourceRecordSets'],
      resourceArns: [this.zone.hostedZoneArn],
      conditions: {
        'ForAllValues:StringEquals': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': [this.normalizedRecordName],
          'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
          'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
        },
      },
    });
    this.grantReadWeights(grantee);
    // GetChange targets change ids that do not exist until the change is made.
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['route53:GetChange'],
      resourceArns: [
        Stack.of(this).formatArn({
          service: 'route53',
          region: '',
          account: '',
          resource: 'change',
          resourceName: '*',
        }),
      ],
    });
  }
}
