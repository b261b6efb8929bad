import { Match } from 'aws-cdk-lib/assertions';
import { parse, stageFrom, template } from '../helpers';

describe('NetworkStack', () => {
  test('GIVEN the default listener WHEN synthesized THEN one internet-facing ALB with an HTTP listener answering 503 until routed', () => {
    const t = template(stageFrom(parse()).network);
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.resourceCountIs('AWS::EC2::FlowLog', 1);
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
      ]),
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '503' }) }],
    });
  });

  test('GIVEN a certificate WHEN synthesized THEN the listener is HTTPS on 443', () => {
    const cfg = parse({ routing: { alb: { certificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/abc' } } });
    template(stageFrom(cfg).network).hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/abc' }],
    });
  });

  test('ingress to the ALB is limited to the listener port and configured CIDR', () => {
    const t = template(stageFrom(parse({ routing: { alb: { ingressCidr: '203.0.113.0/24' } } })).network);
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '203.0.113.0/24', FromPort: 80, ToPort: 80 })],
    });
  });

  test('GIVEN a region WHEN synthesized THEN ALB access logs go to an encrypted, SSL-only bucket', () => {
    const t = template(stageFrom(parse({ region: 'eu-west-1' })).network);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'access_logs.s3.enabled', Value: 'true' }]),
    });
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: Match.anyValue(),
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true }),
    });
  });
});
