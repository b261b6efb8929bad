import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { SIDE_HEADER } from '../../../lambda/core/verify/ports';
import { ImportedServiceEnvironment, IMPORTED_SIDE_NOT_ROUTED } from '../../../lib/constructs/service-environment';
import { IMPORTED_OLD, parse, ROUTE53, stageFrom, template, testApp } from '../helpers';

const directAccess = (side: 'old' | 'new') => [
  { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: SIDE_HEADER, Values: [side] } },
];

describe('EnvironmentStack (provisioned)', () => {
  const stage = stageFrom(parse({ protectData: true }));
  const t = template(stage.newEnvironment);

  test('one encrypted, private PostgreSQL instance with generated credentials in Secrets Manager', () => {
    t.resourceCountIs('AWS::RDS::DBInstance', 1);
    t.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      StorageEncrypted: true,
      KmsKeyId: Match.anyValue(),
      PubliclyAccessible: false,
      DeletionProtection: true,
      EnableIAMDatabaseAuthentication: true,
    });
    t.hasResource('AWS::RDS::DBInstance', { DeletionPolicy: 'Snapshot', UpdateReplacePolicy: 'Snapshot' });
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'app/new/db',
      GenerateSecretString: Match.objectLike({
        GenerateStringKey: 'password',
        SecretStringTemplate: '{"username":"switchyard"}',
      }),
    });
    t.hasResourceProperties('AWS::RDS::DBParameterGroup', { Parameters: Match.objectLike({ 'rds.force_ssl': '1' }) });
  });

  test('GIVEN a provisioned database WHEN synthesized THEN it runs with logical replication, commit timestamps and a WAL cap for slots', () => {
    for (const side of [t, template(stage.oldEnvironment)]) {
      side.hasResourceProperties('AWS::RDS::DBParameterGroup', {
        Parameters: Match.objectLike({
          'rds.logical_replication': '1',
          track_commit_timestamp: '1',
          max_slot_wal_keep_size: String((20 * 1024) / 4),
          'rds.force_ssl': '1',
        }),
      });
    }
    expect(stage.newEnvironment.side.imported).toBe(false);
  });

  test('its configuration namespace holds the database coordinates (never the password)', () => {
    t.resourceCountIs('AWS::SSM::Parameter', 3);
    for (const name of ['/app/new/db/host', '/app/new/db/port', '/app/new/db/name']) {
      t.hasResourceProperties('AWS::SSM::Parameter', { Name: name, Type: 'String' });
    }
  });

  test('compute runs on Fargate behind its own target group, credentials injected as an ECS secret', () => {
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', 1);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { TargetType: 'ip', HealthCheckPath: '/' });
    t.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DesiredCount: 1,
      LoadBalancers: [Match.objectLike({ ContainerName: 'app' })],
    });
    const defs = t.findResources('AWS::ECS::TaskDefinition');
    const container = Object.values(defs)[0].Properties.ContainerDefinitions[0];
    expect(container.Image).toBe('nginx:stable');
    expect(container.Secrets).toEqual([expect.objectContaining({ Name: 'DATABASE_SECRET' })]);
    expect(JSON.stringify(container.Environment)).not.toMatch(/password/i);
  });

  test('a direct-access rule reaches this side by header, and the service starts after it', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 20,
      Conditions: [
        { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'x-switchyard-side', Values: ['new'] } },
      ],
    });
    const service = Object.values(t.findResources('AWS::ECS::Service'))[0];
    expect(service.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/DirectAccessRule/)]));
  });

  test('GIVEN a provisioned old side WHEN synthesized THEN x-switchyard-side: old (priority 10) forwards to its own target group on the stage listener', () => {
    template(stage.oldEnvironment).hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 10,
      ListenerArn: { 'Fn::ImportValue': Match.stringLikeRegexp('^switchyard-test-network:.*Listener') },
      Conditions: directAccess('old'),
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: Match.stringLikeRegexp('^EnvironmentTargetGroup') } }],
    });
  });

  test('the database accepts connections only from the service security group', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      Description: 'Service to database',
      FromPort: { 'Fn::GetAtt': [Match.stringLikeRegexp('Database'), 'Endpoint.Port'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ServiceSecurityGroup'), 'GroupId'] },
    });
    const ingress = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'));
    expect(ingress.every((r) => r.Properties.CidrIp === undefined)).toBe(true);
  });

  test('GIVEN protectData false WHEN synthesized THEN the database can be torn down', () => {
    const dev = template(stageFrom(parse({ protectData: false })).oldEnvironment);
    dev.hasResourceProperties('AWS::RDS::DBInstance', { DeletionProtection: false });
    dev.hasResource('AWS::RDS::DBInstance', { DeletionPolicy: 'Delete' });
  });

  test('exposes typed handles for the workflow', () => {
    const env = stage.oldEnvironment.side;
    expect(env.imported).toBe(false);
    expect(env.parameterPath).toBe('/app/old');
    expect(env.secretPrefix).toBe('app/old');
    expect(env.databaseSecret.secretArn).toBeDefined();
    expect(env.service).toBeDefined();
  });
});

describe('EnvironmentStack (imported old side)', () => {
  const stage = stageFrom(parse({ oldEnvironment: IMPORTED_OLD, routing: { route53: ROUTE53 } }));

  test('creates no database, service or target group: it only references the existing ones', () => {
    const t = template(stage.oldEnvironment);
    for (const type of [
      'AWS::RDS::DBInstance',
      'AWS::ECS::Service',
      'AWS::ElasticLoadBalancingV2::TargetGroup',
      'AWS::SecretsManager::Secret',
    ]) {
      t.resourceCountIs(type, 0);
    }
    const env = stage.oldEnvironment.side;
    expect(env.imported).toBe(true);
    expect(env.targetGroup.targetGroupArn).toBe(IMPORTED_OLD.targetGroupArn);
    expect(env.databaseSecret.secretArn).toBe(IMPORTED_OLD.dbSecretArn);
    expect(env.database.instanceIdentifier).toBe('app-old-db');
    expect(env.databasePort).toBe(5432);
    expect(env).toBeInstanceOf(ImportedServiceEnvironment);
    expect(env.serviceArns).toBeUndefined();
    expect(env.snapshotKeyArn).toBeUndefined();
  });

  test('GIVEN an imported old side WHEN synthesized THEN x-switchyard-side: old answers 503 on the stage listener instead of falling through to the new side', () => {
    const t = template(stage.oldEnvironment);
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 1);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 10,
      ListenerArn: { 'Fn::ImportValue': Match.stringLikeRegexp('^switchyard-test-network:.*Listener') },
      Conditions: directAccess('old'),
      Actions: [
        {
          Type: 'fixed-response',
          FixedResponseConfig: { StatusCode: '503', ContentType: 'text/plain', MessageBody: IMPORTED_SIDE_NOT_ROUTED },
        },
      ],
    });
    // The imported target group serves its own load balancer only: no rule of the stage listener may forward to it.
    const rules = [stage.oldEnvironment, stage.newEnvironment, stage.routing].map((s) =>
      template(s).findResources('AWS::ElasticLoadBalancingV2::ListenerRule'),
    );
    expect(JSON.stringify(rules)).not.toContain(IMPORTED_OLD.targetGroupArn);
    template(stage.newEnvironment).hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 20,
      Conditions: directAccess('new'),
    });
  });

  test('GIVEN an imported environment without a listener WHEN synthesized THEN it adds no listener rule', () => {
    const config = parse({ oldEnvironment: IMPORTED_OLD, routing: { route53: ROUTE53 } }).oldEnvironment;
    if (config.mode !== 'imported') throw new Error(`expected an imported config, got: ${config.mode}`);
    const env = new ImportedServiceEnvironment(new Stack(testApp(), 'Imported'), 'Old', { side: 'old', config });
    expect(env.node.findAll().filter((c) => c instanceof elbv2.ApplicationListenerRule)).toEqual([]);
  });

  test('GIVEN an imported side with its key and service WHEN synthesized THEN RestoreData may use the key via RDS and restart that service only', () => {
    const svc = 'arn:aws:ecs:eu-west-1:111111111111:service/old/app';
    const withKey = stageFrom(
      parse({
        oldEnvironment: {
          ...IMPORTED_OLD,
          dbKmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/abc',
          ecsClusterArn: 'arn:aws:ecs:eu-west-1:111111111111:cluster/old',
          ecsServiceArn: svc,
        },
        routing: { route53: ROUTE53 },
      }),
    );
    const m = template(withKey.migration);
    m.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'ecs:UpdateService', Resource: svc })]),
      },
    });
    m.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'kms:CreateGrant', Resource: 'arn:aws:kms:eu-west-1:111111111111:key/abc' }),
        ]),
      },
    });
  });

  test('fails when an imported database identifier leaves no room for the restored instance id', () => {
    expect(() =>
      parse({
        oldEnvironment: { ...IMPORTED_OLD, dbInstanceIdentifier: `a${'b'.repeat(45)}` },
        routing: { route53: ROUTE53 },
      }),
    ).toThrow(/dbInstanceIdentifier must be at most 45 characters so a restored instance/);
  });
});
