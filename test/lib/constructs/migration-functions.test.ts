import { Match, Template } from 'aws-cdk-lib/assertions';
import { parse, stageFrom } from '../helpers';

const stage = stageFrom(parse());
const t = Template.fromStack(stage.migration);
const fnLogicalId = (phase: string) =>
  Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) =>
    new RegExp(`^Phases${phase}[0-9A-F]{8}$`).test(id),
  )![0];
const roleOf = (phase: string) =>
  t.findResources('AWS::Lambda::Function')[fnLogicalId(phase)].Properties.Role['Fn::GetAtt'][0] as string;
const statementsOf = (phase: string) =>
  Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleOf(phase)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
const sgOf = (phase: string) =>
  t.findResources('AWS::Lambda::Function')[fnLogicalId(phase)].Properties.VpcConfig.SecurityGroupIds[0][
    'Fn::GetAtt'
  ][0] as string;

describe('MigrationFunctions: least privilege', () => {
  test('GIVEN the phases WHEN synthesized THEN only database phases sit in the group the databases admit', () => {
    const dbGroup = sgOf('CopyData');
    expect(dbGroup).toMatch(/^PhasesDatabaseClientSecurityGroup/);
    for (const p of ['Preflight', 'PrepareTarget', 'ValidateData', 'Sync']) expect(sgOf(p)).toBe(dbGroup);
    for (const p of ['ShiftTraffic', 'HealthGate', 'RestoreData', 'TransferConfig', 'Backup'])
      expect(sgOf(p)).not.toBe(dbGroup);
    const ingress = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress')).filter((r) =>
      r.Properties.Description?.startsWith('Switchyard database phases'),
    );
    expect(ingress).toHaveLength(2);
    for (const r of ingress) expect(r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).toBe(dbGroup);
  });

  test("RestoreData may create KMS grants on the old side's key only through RDS, and restart only the old service", () => {
    const st = statementsOf('RestoreData');
    expect(st).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 'kms:CreateGrant',
          Condition: {
            StringEquals: {
              'kms:ViaService': { 'Fn::Join': ['', ['rds.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] },
            },
            Bool: { 'kms:GrantIsForAWSResource': 'true' },
          },
        }),
        expect.objectContaining({
          Action: 'kms:DescribeKey',
          Condition: { StringEquals: { 'kms:ViaService': expect.anything() } },
        }),
        expect.objectContaining({
          Action: 'ecs:UpdateService',
          Resource: expect.objectContaining({
            'Fn::ImportValue': expect.stringMatching(/^switchyard-test-old:.*EnvironmentService/),
          }),
        }),
      ]),
    );
    const describe = st.find((s) => s.Action === 'rds:DescribeDBInstances')!;
    expect(JSON.stringify(describe.Resource)).toContain(':db:switchyard-test-old"');
    const env = t.findResources('AWS::Lambda::Function')[fnLogicalId('RestoreData')].Properties.Environment.Variables;
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['OLD_SERVICE_ARN', 'OLD_CLUSTER_ARN', 'NEW_KMS_KEY_ARN']));
  });

  test("TransferConfig encrypts with the new side's key and is explicitly denied the new database's secret", () => {
    const st = statementsOf('TransferConfig');
    const deny = st.find((s) => s.Effect === 'Deny')!;
    expect(deny.Action).toEqual(
      expect.arrayContaining([
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecret',
        'secretsmanager:DeleteSecret',
        'secretsmanager:CreateSecret',
      ]),
    );
    expect(JSON.stringify(deny.Resource)).toContain('app/new/db-??????');
    expect(JSON.stringify(deny.Resource)).toMatch(/switchyard-test-new:.*DatabaseSecret/);
    const kms = st.find((s) => Array.isArray(s.Action) && (s.Action as string[]).includes('kms:Encrypt'))!;
    expect(JSON.stringify(kms.Resource)).toMatch(/switchyard-test-new:.*DataKey/);
    expect(kms.Condition).toEqual({ StringEquals: { 'kms:ViaService': [expect.anything(), expect.anything()] } });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ NEW_KMS_KEY_ARN: Match.anyValue() }) },
    });
  });
});

describe('MigrationFunctions: one bundle', () => {
  test('every phase function runs its own export of the one shared code asset', () => {
    const fns = Object.values(t.findResources('AWS::Lambda::Function')).filter((f) =>
      /^index\.\w+$/.test(f.Properties.Handler),
    );
    expect(fns.length).toBeGreaterThan(10);
    expect(new Set(fns.map((f) => JSON.stringify(f.Properties.Code))).size).toBe(1);
    expect(new Set(fns.map((f) => f.Properties.Handler)).size).toBe(fns.length);
  });
});
