import { Match, Template } from 'aws-cdk-lib/assertions';
import { PHASE_NAMES } from '../../../lambda/phases';
import { DATABASE_PHASES } from '../../../lib/constructs/migration-functions';
import { IMPORTED_OLD, parse, ROUTE53, stageFrom, template } from '../helpers';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

function statementsOf(t: Template, fnLogicalPrefix: string): Statement[] {
  const policies = t.findResources('AWS::IAM::Policy');
  return Object.entries(policies)
    .filter(([id]) => id.startsWith(`Phases${fnLogicalPrefix}ServiceRoleDefaultPolicy`))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const actions = (sts: Statement[]) => sts.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

describe('MigrationStack', () => {
  const stage = stageFrom(parse());
  const t = template(stage.migration);

  test('one function per phase: Node 24 on arm64, in the VPC, traced, logs retained a month', () => {
    t.resourceCountIs('AWS::Lambda::Function', PHASE_NAMES.length);
    t.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
    });
    t.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    t.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.copyData', Timeout: 900 });
    t.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.rollbackTraffic', Timeout: 120 });
  });

  test('environment variables carry ARNs and names, never secret values', () => {
    for (const fn of Object.values(t.findResources('AWS::Lambda::Function'))) {
      const env = fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(Object.keys(env)).toEqual(
        expect.arrayContaining(['SOURCE_DB_SECRET_ARN', 'TARGET_DB_SECRET_ARN', 'ALB_RULE_ARN', 'ROUTING_KIND']),
      );
      expect(JSON.stringify(env)).not.toMatch(/password|SecretString/i);
    }
  });

  test('traffic functions may modify only the weighted rule', () => {
    for (const fn of ['ShiftTraffic', 'RollbackTraffic']) {
      const modify = statementsOf(t, fn).filter((s) => actions([s]).includes('elasticloadbalancing:ModifyRule'));
      expect(modify).toHaveLength(1);
      expect(JSON.stringify(modify[0].Resource)).toMatch(/AlbWeightsRule/);
      expect(actions(statementsOf(t, fn))).not.toContain('rds:CreateDBSnapshot');
    }
  });

  test('backup may snapshot only the old database into switchyard-<stage>-* snapshots', () => {
    const create = statementsOf(t, 'Backup').find((s) => actions([s]).includes('rds:CreateDBSnapshot'))!;
    const resources = JSON.stringify(create.Resource);
    expect(resources).toContain(':snapshot:switchyard-test-*');
    expect(resources).toContain(':db:');
    expect(resources).not.toMatch(/"\*"/);
  });

  test('no function gets a wildcard resource for an action that supports resource ARNs', () => {
    const allowedStar = new Set([
      'cloudwatch:DescribeAlarms',
      'cloudwatch:GetMetricData',
      'secretsmanager:ListSecrets',
      'elasticloadbalancing:DescribeRules',
      'elasticloadbalancing:DescribeTargetHealth',
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      'ec2:CreateNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DeleteNetworkInterface',
      // Step Functions vended-log delivery: no resource-level permissions.
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ]);
    for (const policy of Object.values(t.findResources('AWS::IAM::Policy'))) {
      for (const s of policy.Properties.PolicyDocument.Statement as Statement[]) {
        if (s.Resource === '*') for (const a of actions([s])) expect(allowedStar).toContain(a);
      }
    }
  });

  test("every database phase, and no other, may read both databases' credentials", () => {
    const readsSecret = (fn: string) =>
      statementsOf(t, fn)
        .filter((st) => actions([st]).includes('secretsmanager:GetSecretValue'))
        .map((st) => JSON.stringify(st.Resource))
        .join(' ');
    for (const phase of PHASE_NAMES) {
      const fn = phase[0].toUpperCase() + phase.slice(1);
      const granted = readsSecret(fn);
      if (DATABASE_PHASES.includes(phase)) {
        expect([fn, /old/i.test(granted) && /new/i.test(granted)]).toEqual([fn, true]);
      } else if (phase !== 'transferConfig' && phase !== 'restoreData') {
        // (TransferConfig renders the new side's coordinates; RestoreData repoints the old side's secret: neither connects.)
        expect([fn, granted]).toEqual([fn, '']);
      }
    }
  });

  test('config transfer reads the old namespace and writes only the new one', () => {
    const sts = statementsOf(t, 'TransferConfig');
    const put = sts.find((s) => actions([s]).includes('ssm:PutParameter'))!;
    expect(JSON.stringify(put.Resource)).toContain('parameter/app/new/*');
    expect(JSON.stringify(put.Resource)).not.toContain('app/old');
  });

  test('the phase functions reach both databases through their own security group', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      Description: 'Switchyard database phases (read-only source)',
      FromPort: 5432,
      ToPort: 5432,
      GroupId: { 'Fn::ImportValue': Match.stringLikeRegexp('switchyard-test-old') },
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      Description: 'Switchyard database phases',
      GroupId: { 'Fn::ImportValue': Match.stringLikeRegexp('switchyard-test-new') },
    });
  });

  test('health alarms on the new target group gate the traffic steps', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'switchyard-test-new-5xx',
      MetricName: 'HTTPCode_Target_5XX_Count',
      Threshold: 5,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'switchyard-test-new-p99-latency',
      MetricName: 'TargetResponseTime',
      ExtendedStatistic: 'p99',
    });
  });

  test('GIVEN Route53 routing for an imported old side WHEN synthesized THEN traffic functions change only the hosted zone', () => {
    const r = template(stageFrom(parse({ oldEnvironment: IMPORTED_OLD, routing: { route53: ROUTE53 } })).migration);
    const change = statementsOf(r, 'ShiftTraffic').find((s) =>
      actions([s]).includes('route53:ChangeResourceRecordSets'),
    )!;
    expect(JSON.stringify(change.Resource)).toContain(`hostedzone/${ROUTE53.hostedZoneId}`);
    r.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ROUTING_KIND: 'route53',
          RECORD_NAME: 'chat.example.com',
          OLD_DB_ID: 'app-old-db',
        }),
      },
    });
  });
});

describe('MigrationStack workflows', () => {
  const t = template(stageFrom(parse()).migration);
  const definition = (name: string) => {
    const sm = Object.values(t.findResources('AWS::StepFunctions::StateMachine')).find(
      (r) => r.Properties.StateMachineName === name,
    )!;
    const parts = sm.Properties.DefinitionString['Fn::Join'][1] as unknown[];
    return parts.map((p) => (typeof p === 'string' ? p : '"TOKEN"')).join('');
  };

  test('five state machines, logging ALL with execution data, X-Ray on', () => {
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 5);
    for (const name of [
      'switchyard-test-migrate',
      'switchyard-test-rollback-traffic',
      'switchyard-test-restore-data',
      'switchyard-test-decommission',
      'switchyard-test-keep-old-current',
    ]) {
      t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: name,
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
      });
    }
    t.hasOutput('MigrateStateMachineArn', {});
    t.hasOutput('RollbackTrafficStateMachineArn', {});
  });

  test('Migrate has every phase, in JSONPath, with catches that keep the input and retries with jitter on transient errors only', () => {
    const asl = definition('switchyard-test-migrate');
    for (const state of [
      'ValidateInput',
      'Preflight',
      'Backup',
      'WaitForSnapshot',
      'BackupStatus',
      'TransferConfig',
      'PrepareTarget',
      'CopyTables',
      'BuildIndexes',
      'ValidateConstraints',
      'Validate',
      'StartCapture',
      'CatchUp',
      'Smoke',
      'StartReverseCapture',
      'CheckHalt',
      'SetWeights',
      'Bake',
      'HealthGate',
      'FinalDrain',
      'FinalValidate',
      'Finalize',
      'DropForwardCapture',
      'RollbackTrafficOnFailure',
    ]) {
      expect(asl).toContain(`"${state}":`);
    }
    expect(asl).not.toContain('JSONata');
    expect(asl).toContain('"ErrorEquals":["DatabaseUnreachableError","ChunkCopyError"]');
    expect(asl).toContain('"JitterStrategy":"FULL"');
    expect(asl).toContain('"ResultPath":"$.error"');
    expect(asl).not.toMatch(/"ErrorEquals":\["InvalidInputError"/);
  });

  test("the catch-up loops through CatchUpAgain, which carries the first call's start so the handler can stop a catch-up that never gets there", () => {
    const sm = Object.values(t.findResources('AWS::StepFunctions::StateMachine')).find(
      (r) => r.Properties.StateMachineName === 'switchyard-test-migrate',
    )!;
    // Tokens (ARNs) sit inside JSON strings of the definition: a plain placeholder keeps it parseable.
    const json = (sm.Properties.DefinitionString['Fn::Join'][1] as unknown[])
      .map((p) => (typeof p === 'string' ? p : 'TOKEN'))
      .join('');
    const states = JSON.parse(json).States as Record<
      string,
      { Parameters?: Record<string, unknown>; Choices?: { Next: string }[]; Next?: string }
    >;
    expect(states.CatchUp.Parameters).toMatchObject({
      action: 'drain',
      catchUp: { 'maxLagSeconds.$': '$.config.maxCatchUpLagSeconds', 'minutes.$': '$.config.maxCatchUpMinutes' },
    });
    expect(states.CatchUpAgain.Parameters).toMatchObject({
      catchUp: { 'startedAt.$': '$.sync.catchUpStartedAt', 'minutes.$': '$.config.maxCatchUpMinutes' },
    });
    expect(states['LagOk?'].Choices?.map((c) => c.Next)).toEqual(['CatchUpAgain']);
    expect(states.CatchUpAgain.Next).toBe('LagOk?');
  });

  test("a dashboard shows weights, both sides' 5xx and latency, sync lag and executions", () => {
    const body = JSON.stringify(t.findResources('AWS::CloudWatch::Dashboard'));
    for (const metric of [
      'NewSideWeight',
      'SyncLagSeconds',
      'HTTPCode_Target_5XX_Count',
      'TargetResponseTime',
      'ExecutionsFailed',
    ])
      expect(body).toContain(metric);
  });

  test('GIVEN a Migrate that ends ABORTED, TIMED_OUT or FAILED WHEN the rule matches THEN RollbackTraffic starts with the ended execution', () => {
    const machines = t.findResources('AWS::StepFunctions::StateMachine');
    const id = (name: string) => Object.entries(machines).find(([, m]) => m.Properties.StateMachineName === name)![0];
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          status: ['ABORTED', 'TIMED_OUT', 'FAILED'],
          stateMachineArn: [{ Ref: id('switchyard-test-migrate') }],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: id('switchyard-test-rollback-traffic') },
          InputTransformer: Match.objectLike({
            InputPathsMap: { 'detail-executionArn': '$.detail.executionArn', 'detail-status': '$.detail.status' },
          }),
        }),
      ],
    });
    // RollbackTraffic's first Choice routes that input to ClaimEndedExecution (only an execution that still holds the lock is cleaned up).
    const rollback = JSON.stringify(machines[id('switchyard-test-rollback-traffic')].Properties.DefinitionString);
    expect(rollback).toContain('$.endedExecution');
    expect(rollback).toContain('claimEnded');
  });

  test('GIVEN Finalize WHEN synthesized THEN KeepOldCurrent runs every 5 minutes and an alarm watches the reverse lag', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('WorkflowsKeepOldCurrentMachine') } })],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'switchyard-test-reverse-sync-lag',
      MetricName: 'ReverseSyncLagSeconds',
      Namespace: 'Switchyard',
      Threshold: 600,
    });
  });

  test('GIVEN the stage routing WHEN synthesized THEN the rollback settle window is the deregistration delay (or DNS TTL) plus the longest request', () => {
    const settle = (tpl: Template) => {
      const m = Object.values(tpl.findResources('AWS::StepFunctions::StateMachine')).find((x) =>
        x.Properties.StateMachineName.endsWith('-rollback-traffic'),
      )!;
      return JSON.stringify(m.Properties.DefinitionString).match(
        /\\"SettleWindow\\":\{\\"Type\\":\\"Wait\\",\\"Seconds\\":(\d+)/,
      )?.[1];
    };
    expect(settle(t)).toBe('60');
    const dns = stageFrom(
      parse({
        routing: { route53: { ...ROUTE53, ttlSeconds: 300 } },
        migration: { rollback: { longestRequestSeconds: 90 } } as never,
      }),
    );
    expect(settle(template(dns.migration))).toBe(String(300 + 90));
  });

  test('Decommission may scale down only the old service', () => {
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('ecs:updateService');
  });

  test('GIVEN the stage lock WHEN synthesized THEN an on-demand, KMS-encrypted table with PITR that only the lock and fenced phases may write', () => {
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'switchyard-test-lock',
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    const writers = Object.entries(t.findResources('AWS::IAM::Policy'))
      .filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes('dynamodb:'))
      .map(([id]) => id.replace(/ServiceRoleDefaultPolicy.*$/, ''));
    expect(writers.sort()).toEqual([
      'PhasesCopyData',
      'PhasesFinalize',
      'PhasesLock',
      'PhasesPause',
      'PhasesPreflight',
      'PhasesRollbackTraffic',
      'PhasesShiftTraffic',
      'PhasesSync',
      'PhasesUnlock',
    ]);
    for (const fn of [
      'Lock',
      'Unlock',
      'Preflight',
      'Finalize',
      'ShiftTraffic',
      'Sync',
      'CopyData',
      'RollbackTraffic',
    ]) {
      const sts = statementsOf(t, fn).filter((s) => actions([s]).some((a) => a.startsWith('dynamodb:')));
      for (const s of sts) expect(JSON.stringify(s.Resource)).toMatch(/LockTable[A-Z0-9]+","Arn"/);
      expect(actions(sts)).not.toContain('dynamodb:Scan');
    }
    t.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.lock',
      Environment: { Variables: Match.objectLike({ LOCK_TABLE_NAME: Match.anyValue() }) },
    });
    // Fenced phases prove ownership (GetItem + a conditional UpdateItem); they never take, release or delete the lock.
    for (const fn of ['ShiftTraffic', 'Sync', 'CopyData', 'RollbackTraffic']) {
      const dynamo = actions(statementsOf(t, fn)).filter((a) => a.startsWith('dynamodb:'));
      expect(dynamo.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    }
    const smoke = Object.values(t.findResources('AWS::Lambda::Function')).find(
      (f) => f.Properties.Handler === 'index.smoke',
    )!;
    expect(smoke.Properties.Environment.Variables.LOCK_TABLE_NAME).toBeUndefined();
  });

  test('GIVEN the encrypted topic WHEN every state machine publishes THEN each machine role may use the topic key', () => {
    const keyId = Object.keys(t.findResources('AWS::KMS::Key')).find((id) => id.includes('TopicKey'))!;
    const roles = Object.keys(t.findResources('AWS::IAM::Role')).filter((id) =>
      /Workflows[A-Za-z]+MachineRole/.test(id),
    );
    expect(roles).toHaveLength(5);
    for (const role of roles) {
      const policy = Object.values(t.findResources('AWS::IAM::Policy')).find((p) =>
        JSON.stringify(p.Properties.Roles).includes(role),
      )!;
      const kms = (policy.Properties.PolicyDocument.Statement as Statement[]).find((s) =>
        JSON.stringify(s.Resource).includes(keyId),
      )!;
      expect(actions([kms])).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']));
    }
  });

  test('every notification is caught so it never fails a workflow, and tasks have state timeouts', () => {
    for (const name of [
      'switchyard-test-migrate',
      'switchyard-test-rollback-traffic',
      'switchyard-test-restore-data',
      'switchyard-test-decommission',
    ]) {
      const asl = (
        Object.values(t.findResources('AWS::StepFunctions::StateMachine')).find(
          (r) => r.Properties.StateMachineName === name,
        )!.Properties.DefinitionString['Fn::Join'][1] as unknown[]
      )
        .map((p) => (typeof p === 'string' ? p : 'TOKEN'))
        .join('');
      const states = Object.entries(
        JSON.parse(asl).States as Record<
          string,
          { Type: string; Resource?: string; Catch?: unknown[]; TimeoutSeconds?: number }
        >,
      );
      const publishes = states.filter(([, s]) => String(s.Resource).includes('sns:publish'));
      expect(publishes.length).toBeGreaterThan(0);
      for (const [n, s] of publishes)
        expect([n, s.Catch]).toEqual([
          n,
          [expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: `${n}Skipped` })],
        ]);
      for (const [n, s] of states.filter(([, x]) => x.Type === 'Task'))
        expect([n, typeof s.TimeoutSeconds]).toEqual([n, 'number']);
    }
  });

  test('notifications go to an encrypted topic that enforces TLS', () => {
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('MigrationStack change-capture observability', () => {
  test('GIVEN a stage WHEN synthesized THEN each database has an alarm on its oldest replication slot lag, and the dashboard shows sync and slot lag', () => {
    const t = Template.fromStack(stageFrom(parse({ stageName: 'obs' })).migration);
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    for (const side of ['old', 'new']) {
      const alarm = alarms.find((a) => a.AlarmName === `switchyard-obs-slot-lag-${side}`);
      expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 5 * 1024 ** 3 });
      expect(alarm.Metrics[0].MetricStat.Metric).toMatchObject({
        Namespace: 'AWS/RDS',
        MetricName: 'OldestReplicationSlotLag',
        Dimensions: [{ Name: 'DBInstanceIdentifier', Value: `switchyard-obs-${side}` }],
      });
    }
    const body = JSON.stringify(t.findResources('AWS::CloudWatch::Dashboard'));
    for (const metric of [
      'SyncLagSeconds',
      'ReverseSyncLagSeconds',
      'OldestReplicationSlotLag',
      'TransactionLogsDiskUsage',
      'SyncConflicts',
    ])
      expect(body).toContain(metric);
  });
});

describe('MigrationStack health gate wiring', () => {
  const fnEnv = (t: Template, phase: string) =>
    Object.values(t.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Handler === `index.${phase}`)!
      .Properties.Environment.Variables as Record<string, unknown>;
  const minRequestsAlarm = (t: Template) =>
    Object.values(t.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties)
      .find((p) => p.AlarmName === 'switchyard-test-new-min-requests');

  test('GIVEN a stage bake of 180 s and 40 requests per bake WHEN synthesized THEN the minimum-request alarm counts the new side over those 3 minutes', () => {
    const t = template(
      stageFrom(parse({ migration: { bakeSeconds: 180 }, alarms: { newMinRequestsPerBake: 40 } })).migration,
    );
    expect(minRequestsAlarm(t)).toMatchObject({
      MetricName: 'RequestCount',
      Statistic: 'Sum',
      Period: 180,
      Threshold: 40,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(fnEnv(t, 'healthGate').DEFAULT_BAKE_SECONDS).toBe('180');
  });

  test('GIVEN the stage defaults WHEN synthesized THEN the minimum-request alarm spans the default 300 s bake with a threshold of 1', () => {
    expect(minRequestsAlarm(template(stageFrom(parse()).migration))).toMatchObject({ Period: 300, Threshold: 1 });
  });

  test("GIVEN the health gate WHEN synthesized THEN its role may read the alarms, GetMetricData and the weights, and its environment names both sides' target groups and the load balancer", () => {
    const t = template(stageFrom(parse()).migration);
    const sts = statementsOf(t, 'HealthGate');
    for (const action of [
      'cloudwatch:GetMetricData',
      'cloudwatch:DescribeAlarms',
      'elasticloadbalancing:DescribeRules',
    ]) {
      expect(sts.find((s) => actions([s]).includes(action))).toMatchObject({ Effect: 'Allow', Resource: '*' });
    }
    expect(fnEnv(t, 'healthGate')).toEqual(
      expect.objectContaining({
        HEALTH_ALARM_PREFIX: 'switchyard-test-new-',
        ROUTING_KIND: 'alb',
        ALB_RULE_ARN: expect.anything(),
        CANARY_OLD_TARGET_GROUP_ARN: expect.objectContaining({
          'Fn::ImportValue': expect.stringMatching(/^switchyard-test-old:.*TargetGroup/),
        }),
        CANARY_NEW_TARGET_GROUP_ARN: expect.objectContaining({
          'Fn::ImportValue': expect.stringMatching(/^switchyard-test-new:.*TargetGroup/),
        }),
        CANARY_OLD_LOAD_BALANCER_ARN: expect.objectContaining({
          'Fn::ImportValue': expect.stringMatching(/^switchyard-test-network:ExportsOutputRefEdgeAlb/),
        }),
        CANARY_NEW_LOAD_BALANCER_ARN: expect.objectContaining({
          'Fn::ImportValue': expect.stringMatching(/^switchyard-test-network:ExportsOutputRefEdgeAlb/),
        }),
      }),
    );
  });

  test('GIVEN Migrate WHEN synthesized THEN the HealthGate task is given the bakes of the step as its window and the canary tolerances', () => {
    const t = template(stageFrom(parse()).migration);
    const sm = Object.values(t.findResources('AWS::StepFunctions::StateMachine')).find(
      (r) => r.Properties.StateMachineName === 'switchyard-test-migrate',
    )!;
    const asl = (sm.Properties.DefinitionString['Fn::Join'][1] as unknown[])
      .map((p) => (typeof p === 'string' ? p : 'TOKEN'))
      .join('');
    // payloadResponseOnly: the task's Parameters are the function's payload.
    const found: Record<string, unknown>[] = [];
    const walk = (
      states: Record<
        string,
        {
          Parameters?: Record<string, unknown>;
          Branches?: { States: object }[];
          ItemProcessor?: { States: object };
          Iterator?: { States: object };
        }
      >,
    ) => {
      for (const [name, s] of Object.entries(states)) {
        if (name === 'HealthGate' && s.Parameters) found.push(s.Parameters);
        for (const b of [
          ...(s.Branches ?? []),
          ...(s.ItemProcessor ? [s.ItemProcessor] : []),
          ...(s.Iterator ? [s.Iterator] : []),
        ])
          walk(b.States as never);
      }
    };
    walk(JSON.parse(asl).States);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      'migrationId.$': '$.config.migrationId',
      'windowSeconds.$': '$.step.windowSeconds',
      canary: { p99Ratio: 1.1, p99SlackMs: 5, errorRatePp: 0.1, minRequests: 50 },
    });
  });

  test('GIVEN the Smoke function WHEN synthesized THEN SMOKE_BASE_URL is the stage listener, or the configured domain', () => {
    const http = fnEnv(template(stageFrom(parse()).migration), 'smoke').SMOKE_BASE_URL;
    expect(http).toEqual({
      'Fn::Join': [
        '',
        [
          'http://',
          expect.objectContaining({ 'Fn::ImportValue': expect.stringMatching(/^switchyard-test-network:.*DNSName/) }),
          ':80',
        ],
      ],
    });
    const https = fnEnv(
      template(
        stageFrom(parse({ routing: { alb: { certificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/abc' } } }))
          .migration,
      ),
      'smoke',
    ).SMOKE_BASE_URL;
    expect(https).toEqual({ 'Fn::Join': ['', ['https://', expect.anything(), ':443']] });
    const domain = fnEnv(
      template(stageFrom(parse({ verification: { smokeBaseUrl: 'https://api.example.com' } })).migration),
      'smoke',
    ).SMOKE_BASE_URL;
    expect(domain).toBe('https://api.example.com');
  });

  test('GIVEN an imported old side WHEN its load balancer is configured THEN the canary reads it; WHEN it is not THEN the canary has no dimensions (skipped and reported)', () => {
    const oldAlb = 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/app-old/0123456789abcdef';
    const withAlb = fnEnv(
      template(
        stageFrom(
          parse({
            oldEnvironment: IMPORTED_OLD,
            routing: { route53: ROUTE53 },
            verification: { oldLoadBalancerArn: oldAlb },
          }),
        ).migration,
      ),
      'healthGate',
    );
    expect(withAlb).toMatchObject({
      CANARY_OLD_LOAD_BALANCER_ARN: oldAlb,
      CANARY_OLD_TARGET_GROUP_ARN: IMPORTED_OLD.targetGroupArn,
      CANARY_NEW_LOAD_BALANCER_ARN: {
        'Fn::ImportValue': expect.stringMatching(/^switchyard-test-network:ExportsOutputRefEdgeAlb/),
      },
    });
    const without = fnEnv(
      template(stageFrom(parse({ oldEnvironment: IMPORTED_OLD, routing: { route53: ROUTE53 } })).migration),
      'healthGate',
    );
    expect(Object.keys(without).filter((k) => k.startsWith('CANARY_'))).toEqual([]);
    expect(without.SMOKE_BASE_URL).toBeDefined();
  });

  describe('how Smoke reaches the old side (decided at synth, set on the Smoke function only)', () => {
    const OLD_URL = 'http://old-alb-123.eu-west-1.elb.amazonaws.com';
    const smokeVars = (t: Template) => {
      const env = fnEnv(t, 'smoke');
      return { SMOKE_OLD_BASE_URL: env.SMOKE_OLD_BASE_URL, SMOKE_COMPARE_OLD: env.SMOKE_COMPARE_OLD };
    };
    const othersWithSmokeVars = (t: Template) =>
      Object.values(t.findResources('AWS::Lambda::Function'))
        .filter((f) => f.Properties.Handler !== 'index.smoke')
        .filter((f) =>
          Object.keys(f.Properties.Environment.Variables).some(
            (k) => k === 'SMOKE_OLD_BASE_URL' || k === 'SMOKE_COMPARE_OLD',
          ),
        )
        .map((f) => f.Properties.Handler);

    test('GIVEN a provisioned old side WHEN synthesized THEN the stage listener with the old header (compare on), or oldBaseUrl when set', () => {
      const listener = template(stageFrom(parse()).migration);
      expect(smokeVars(listener)).toEqual({ SMOKE_OLD_BASE_URL: undefined, SMOKE_COMPARE_OLD: 'true' });
      expect(othersWithSmokeVars(listener)).toEqual([]);
      const direct = template(stageFrom(parse({ verification: { oldBaseUrl: OLD_URL } })).migration);
      expect(smokeVars(direct)).toEqual({ SMOKE_OLD_BASE_URL: OLD_URL, SMOKE_COMPARE_OLD: 'true' });
      expect(othersWithSmokeVars(direct)).toEqual([]);
    });

    test('GIVEN an imported old side WHEN oldBaseUrl is set THEN Smoke compares there; WHEN it is not THEN SMOKE_COMPARE_OLD is false (not compared, reported)', () => {
      const direct = template(
        stageFrom(
          parse({ oldEnvironment: IMPORTED_OLD, routing: { route53: ROUTE53 }, verification: { oldBaseUrl: OLD_URL } }),
        ).migration,
      );
      expect(smokeVars(direct)).toEqual({ SMOKE_OLD_BASE_URL: OLD_URL, SMOKE_COMPARE_OLD: 'true' });
      const unreachable = template(
        stageFrom(parse({ oldEnvironment: IMPORTED_OLD, routing: { route53: ROUTE53 } })).migration,
      );
      expect(smokeVars(unreachable)).toEqual({ SMOKE_OLD_BASE_URL: undefined, SMOKE_COMPARE_OLD: 'false' });
      expect(othersWithSmokeVars(unreachable)).toEqual([]);
    });
  });
});
