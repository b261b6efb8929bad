import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  importedCertificate,
  importedHostedZone,
  importedTargetGroup,
  loadBalancerByArn,
} from '../../../lib/constructs/imported-resources';
import { IMPORTED_OLD, parse, ROUTE53, stageFrom } from '../helpers';

const TG = 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/app-old/0123456789abcdef';
const OLD_ALB = 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/old/0123456789abcdef';

describe('config strings as typed references (lib/constructs/imported-resources.ts)', () => {
  test('each mapping keeps the identifier and creates no resource', () => {
    const stack = new Stack();
    const zone = importedHostedZone(stack, 'Zone', { hostedZoneId: ROUTE53.hostedZoneId, zoneName: ROUTE53.zoneName });
    expect([zone.hostedZoneId, zone.zoneName]).toEqual([ROUTE53.hostedZoneId, ROUTE53.zoneName]);
    expect(stack.resolve(zone.hostedZoneArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:route53:::hostedzone/${ROUTE53.hostedZoneId}`]],
    });
    expect(importedTargetGroup(stack, 'Tg', TG).targetGroupArn).toBe(TG);
    const cert = 'arn:aws:acm:eu-west-1:111111111111:certificate/abc';
    expect(importedCertificate(stack, 'Cert', cert).certificateArn).toBe(cert);
    expect(loadBalancerByArn(OLD_ALB)).toEqual({ loadBalancerArn: OLD_ALB });
    expect(Template.fromStack(stack).toJSON().Resources ?? {}).toEqual({});
  });

  test("an imported old side's config reaches the typed props: its target group, the zone, the old load balancer", () => {
    const stage = stageFrom(
      parse({
        oldEnvironment: IMPORTED_OLD,
        routing: { route53: ROUTE53 },
        verification: { oldLoadBalancerArn: OLD_ALB },
      } as never),
    );
    expect(stage.oldEnvironment.side.targetGroup.targetGroupArn).toBe(IMPORTED_OLD.targetGroupArn);
    expect(stage.routing.dns?.zone.hostedZoneId).toBe(ROUTE53.hostedZoneId);
    Template.fromStack(stage.migration).hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.healthGate',
      Environment: { Variables: { CANARY_OLD_LOAD_BALANCER_ARN: OLD_ALB } },
    });
  });
});
