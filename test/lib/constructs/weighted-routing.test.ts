import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { WeightedAlbRouting, WeightedDnsRecords } from '../../../lib/constructs/weighted-routing';
import { testApp } from '../helpers';

function albFixture() {
  const stack = new Stack(testApp(), 'S');
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0 });
  const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc });
  const listener = alb.addListener('L', { port: 80, defaultAction: elbv2.ListenerAction.fixedResponse(503) });
  const tg = (id: string) =>
    new elbv2.ApplicationTargetGroup(stack, id, { vpc, port: 80, targetType: elbv2.TargetType.IP });
  return { stack, listener, oldTg: tg('Old'), newTg: tg('New') };
}

describe('WeightedAlbRouting', () => {
  test('GIVEN two target groups WHEN created THEN one rule forwards 100/0 to both, no stickiness', () => {
    const { stack, listener, oldTg, newTg } = albFixture();
    new WeightedAlbRouting(stack, 'W', { listener, oldTargetGroup: oldTg, newTargetGroup: newTg });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 1);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 100,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }],
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: { Ref: Match.stringLikeRegexp('^Old') }, Weight: 100 },
              { TargetGroupArn: { Ref: Match.stringLikeRegexp('^New') }, Weight: 0 },
            ],
            TargetGroupStickinessConfig: Match.absent(),
          },
        },
      ],
    });
  });

  test('short stickiness is passed through', () => {
    const { stack, listener, oldTg, newTg } = albFixture();
    new WeightedAlbRouting(stack, 'W', {
      listener,
      oldTargetGroup: oldTg,
      newTargetGroup: newTg,
      stickiness: Duration.seconds(30),
    });
    Template.fromStack(stack).hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Actions: [{ ForwardConfig: { TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 30 } } }],
    });
  });

  test('fails when stickiness is longer than an hour', () => {
    const { stack, listener, oldTg, newTg } = albFixture();
    expect(
      () =>
        new WeightedAlbRouting(stack, 'W', {
          listener,
          oldTargetGroup: oldTg,
          newTargetGroup: newTg,
          stickiness: Duration.hours(2),
        }),
    ).toThrow('stickiness must be at most 1 hour so weight shifts take effect, got: 7200s');
  });

  test('fails when the initial weight is out of range', () => {
    const { stack, listener, oldTg, newTg } = albFixture();
    expect(
      () =>
        new WeightedAlbRouting(stack, 'W', {
          listener,
          oldTargetGroup: oldTg,
          newTargetGroup: newTg,
          initialOldWeight: 120,
        }),
    ).toThrow('weight of the old side must be an integer from 0 to 100, got: 120');
  });

  test('grantShiftTraffic scopes ModifyRule to the rule ARN', () => {
    const { stack, listener, oldTg, newTg } = albFixture();
    const w = new WeightedAlbRouting(stack, 'W', { listener, oldTargetGroup: oldTg, newTargetGroup: newTg });
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    w.grantShiftTraffic(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'elasticloadbalancing:ModifyRule',
            Resource: { Ref: Match.stringLikeRegexp('^WRule') },
          }),
        ]),
      },
    });
  });
});

describe('WeightedDnsRecords', () => {
  function dnsFixture() {
    const stack = new Stack(testApp(), 'S');
    const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Z', {
      hostedZoneId: 'Z123',
      zoneName: 'example.com',
    });
    return { stack, zone };
  }

  test('GIVEN a zone WHEN created THEN a weighted old/new CNAME pair with the same name and TTL', () => {
    const { stack, zone } = dnsFixture();
    new WeightedDnsRecords(stack, 'D', {
      zone,
      recordName: 'api',
      oldTarget: 'old.example.net',
      newTarget: 'new.example.net',
      ttl: Duration.seconds(30),
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Route53::RecordSet', 2);
    t.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'api.example.com.',
      Type: 'CNAME',
      SetIdentifier: 'old',
      Weight: 100,
      TTL: '30',
      ResourceRecords: ['old.example.net'],
    });
    t.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'api.example.com.',
      Type: 'CNAME',
      SetIdentifier: 'new',
      Weight: 0,
      TTL: '30',
      ResourceRecords: ['new.example.net'],
    });
  });

  test('fails when the TTL would make a rollback slower than the budget allows', () => {
    const { stack, zone } = dnsFixture();
    expect(
      () =>
        new WeightedDnsRecords(stack, 'D', {
          zone,
          recordName: 'api',
          oldTarget: 'a.example',
          newTarget: 'b.example',
          ttl: Duration.hours(2),
        }),
    ).toThrow('ttl must be from 5 to 3600 seconds');
  });

  test("grantShiftTraffic allows only UPSERTs of the pair's CNAME name in the zone (normalized-name, type and action conditions)", () => {
    const { stack, zone } = dnsFixture();
    const d = new WeightedDnsRecords(stack, 'D', {
      zone,
      recordName: 'API',
      oldTarget: 'a.example',
      newTarget: 'b.example',
    });
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    d.grantShiftTraffic(role);
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: 'route53:ChangeResourceRecordSets',
            Resource: { 'Fn::Join': ['', Match.arrayWith([':route53:::hostedzone/Z123'])] },
            Condition: {
              'ForAllValues:StringEquals': {
                'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['api.example.com'],
                'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
                'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
              },
            },
          },
        ]),
      },
    });
    // No unconditioned change right is left anywhere in the policy.
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Condition?: unknown }[],
    );
    const changes = statements.filter((st) => [st.Action].flat().includes('route53:ChangeResourceRecordSets'));
    expect(changes).toHaveLength(1);
    expect(changes[0].Condition).toBeDefined();
  });
});
