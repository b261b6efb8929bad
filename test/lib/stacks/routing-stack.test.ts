import { Match } from 'aws-cdk-lib/assertions';
import { IMPORTED_OLD, parse, ROUTE53, stageFrom, template } from '../helpers';

describe('RoutingStack', () => {
  test('GIVEN both sides behind the stage ALB WHEN synthesized THEN the listener forwards to both target groups weighted 100/0', () => {
    const stage = stageFrom(parse());
    const t = template(stage.routing);
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 1);
    t.resourceCountIs('AWS::Route53::RecordSet', 0);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      ListenerArn: { 'Fn::ImportValue': Match.stringLikeRegexp('switchyard-test-network') },
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: { 'Fn::ImportValue': Match.stringLikeRegexp('^switchyard-test-old:') }, Weight: 100 },
              { TargetGroupArn: { 'Fn::ImportValue': Match.stringLikeRegexp('^switchyard-test-new:') }, Weight: 0 },
            ],
          },
        },
      ],
    });
    expect(stage.routing.alb?.ruleArn).toBeDefined();
  });

  test('GIVEN route53 config WHEN synthesized THEN a weighted record pair with Weight and SetIdentifier, new side pointing at the stage ALB', () => {
    const t = template(stageFrom(parse({ routing: { route53: ROUTE53 } })).routing);
    t.resourceCountIs('AWS::Route53::RecordSet', 2);
    t.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'chat.example.com.',
      HostedZoneId: ROUTE53.hostedZoneId,
      SetIdentifier: 'old',
      Weight: 100,
      TTL: '30',
      ResourceRecords: [ROUTE53.oldTarget],
    });
    t.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'chat.example.com.',
      SetIdentifier: 'new',
      Weight: 0,
      ResourceRecords: [{ 'Fn::ImportValue': Match.stringLikeRegexp('network') }],
    });
  });

  test('GIVEN an imported old side WHEN synthesized THEN the ALB serves only the new side and DNS carries the weights', () => {
    const stage = stageFrom(parse({ oldEnvironment: IMPORTED_OLD, routing: { route53: ROUTE53 } }));
    const t = template(stage.routing);
    expect(stage.routing.alb).toBeUndefined();
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Actions: [
        { Type: 'forward', TargetGroupArn: { 'Fn::ImportValue': Match.stringLikeRegexp('^switchyard-test-new:') } },
      ],
    });
    t.resourceCountIs('AWS::Route53::RecordSet', 2);
  });
});
