import 'aws-sdk-client-mock-jest';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import {
  type CliDeps,
  planCommand,
  restoreCommand,
  rollbackCommand,
  startCommand,
  statusCommand,
} from '../../bin/cli/commands';
import {
  ExecutionFailedError,
  InterruptedError,
  MigrationAlreadyRunningError,
  NoCredentialsError,
  StackNotDeployedError,
  UsageError,
} from '../../bin/cli/errors';

const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
const ARN = (n: string) => `arn:aws:states:eu-west-1:111111111111:stateMachine:switchyard-dev-${n}`;
const outputs = [
  { OutputKey: 'MigrateStateMachineArnABC', OutputValue: ARN('migrate') },
  { OutputKey: 'RollbackTrafficStateMachineArnDEF', OutputValue: ARN('rollback-traffic') },
  { OutputKey: 'RestoreDataStateMachineArn123', OutputValue: ARN('restore-data') },
  { OutputKey: 'DecommissionStateMachineArn456', OutputValue: ARN('decommission') },
];

let lines: string[];
const deps = (): CliDeps => ({
  sfn: new SFNClient({ region: 'eu-west-1' }),
  cfn: new CloudFormationClient({ region: 'eu-west-1' }),
  print: (l: string) => lines.push(l),
  sleep: async () => undefined,
  readFile: () => '{"migrationId":"m-7","bakeSeconds":60}',
});

beforeEach(() => {
  sfn.reset();
  cfn.reset();
  lines = [];
  cfn.on(DescribeStacksCommand, { StackName: 'switchyard-dev-migration' }).resolves({
    Stacks: [
      {
        StackName: 'switchyard-dev-migration',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: outputs,
      },
    ],
  });
});

const history = {
  events: [
    { id: 1, type: 'ExecutionStarted' as const, timestamp: new Date('2026-01-01T00:00:00Z') },
    {
      id: 2,
      type: 'TaskStateEntered' as const,
      timestamp: new Date('2026-01-01T00:00:01Z'),
      stateEnteredEventDetails: { name: 'Preflight' },
    },
    {
      id: 3,
      type: 'TaskStateExited' as const,
      timestamp: new Date('2026-01-01T00:00:03Z'),
      stateExitedEventDetails: { name: 'Preflight' },
    },
  ],
};

describe('CLI commands (mocked Step Functions and CloudFormation)', () => {
  test('GIVEN an input file WHEN start runs THEN Migrate starts named after the migration id and is followed phase by phase', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:m-7', startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves(history);
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({
        status: 'RUNNING',
        executionArn: 'arn:exec:m-7',
        stateMachineArn: ARN('migrate'),
        startDate: new Date(),
      })
      .resolves({
        status: 'SUCCEEDED',
        output: '{"ok":true}',
        executionArn: 'arn:exec:m-7',
        stateMachineArn: ARN('migrate'),
        startDate: new Date(),
      });
    const r = await startCommand({ stage: 'dev', input: 'in.json' }, deps());
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: ARN('migrate'),
      name: 'm-7',
      input: JSON.stringify({ migrationId: 'm-7', bakeSeconds: 60 }),
    });
    expect(r).toMatchObject({ status: 'SUCCEEDED' });
    expect(lines).toContain('00:00:03 ok    Preflight (2.0 s)');
    expect(lines.filter((l) => l.includes('Preflight'))).toHaveLength(1);
  });

  test('GIVEN --dry-run WHEN start runs THEN the input carries dryRun: true (the gate check)', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:g', startDate: new Date() });
    await startCommand({ stage: 'dev', migrationId: 'gate-1', dryRun: true, follow: false }, deps());
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      name: 'gate-1',
      input: JSON.stringify({ migrationId: 'gate-1', dryRun: true }),
    });
  });

  test('fails with MigrationAlreadyRunningError when another migration runs on the stage', async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          name: 'm-other',
          status: 'RUNNING',
          executionArn: 'x',
          stateMachineArn: ARN('migrate'),
          startDate: new Date(),
        },
      ],
    });
    await expect(startCommand({ stage: 'dev', migrationId: 'm-8' }, deps())).rejects.toThrow(
      MigrationAlreadyRunningError,
    );
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  test('fails with MigrationAlreadyRunningError when the execution name exists', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists' }));
    await expect(startCommand({ stage: 'dev', migrationId: 'm-7' }, deps())).rejects.toThrow(
      'an execution named m-7 already exists',
    );
  });

  test('fails with ExecutionFailedError carrying the execution error and cause when the execution fails', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:m-9', startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      error: 'NewSideUnhealthy',
      cause: 'alarm x in ALARM',
      executionArn: 'arn:exec:m-9',
      stateMachineArn: ARN('migrate'),
      startDate: new Date(),
    });
    await expect(startCommand({ stage: 'dev', migrationId: 'm-9' }, deps())).rejects.toThrow(
      new ExecutionFailedError('execution FAILED: NewSideUnhealthy - alarm x in ALARM'),
    );
  });

  test('fails with InterruptedError naming the running execution when the user stops following', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:m-10', startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'RUNNING',
      executionArn: 'arn:exec:m-10',
      stateMachineArn: ARN('migrate'),
      startDate: new Date(),
    });
    const abort = new AbortController();
    const d = { ...deps(), signal: abort.signal, sleep: async () => abort.abort() };
    await expect(startCommand({ stage: 'dev', migrationId: 'm-10' }, d)).rejects.toThrow(
      new InterruptedError(
        'stopped following arn:exec:m-10; the execution keeps running: check it with `status --stage dev` or the Step Functions console',
      ),
    );
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 1);
  });

  test('GIVEN a migration id WHEN rollback runs THEN RollbackTraffic starts for it', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:rb', startDate: new Date() });
    await rollbackCommand({ stage: 'dev', migrationId: 'm-7', follow: false }, deps());
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: ARN('rollback-traffic'),
      input: JSON.stringify({ migrationId: 'm-7' }),
    });
  });

  test('GIVEN a snapshot and the applied config record WHEN restore runs THEN RestoreData starts with both', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:rs', startDate: new Date() });
    await restoreCommand(
      { stage: 'dev', migrationId: 'm-7', snapshotId: 'switchyard-dev-m-7', applied: 'a.json', follow: false },
      { ...deps(), readFile: () => '[{"kind":"parameter","source":"/a","target":"/b","action":"create"}]' },
    );
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: ARN('restore-data'),
      input: JSON.stringify({
        migrationId: 'm-7',
        snapshotId: 'switchyard-dev-m-7',
        applied: [{ kind: 'parameter', source: '/a', target: '/b', action: 'create' }],
      }),
    });
  });

  test('fails with UsageError naming the file when --applied is not a JSON list, before any AWS call', async () => {
    await expect(
      restoreCommand(
        { stage: 'dev', migrationId: 'm-7', snapshotId: 's', applied: 'a.json' },
        { ...deps(), readFile: () => '{"x":1}' },
      ),
    ).rejects.toThrow(UsageError);
    await expect(
      restoreCommand(
        { stage: 'dev', migrationId: 'm-7', snapshotId: 's', applied: 'a.json' },
        { ...deps(), readFile: () => 'not json' },
      ),
    ).rejects.toThrow('--applied a.json is not valid JSON');
    expect(cfn.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  test('fails with UsageError naming the file and the fix when --input cannot be read, before any AWS call', async () => {
    const enoent = () => {
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    };
    await expect(
      startCommand({ stage: 'dev', input: 'missing.json' }, { ...deps(), readFile: enoent }),
    ).rejects.toThrow(
      new UsageError(
        'cannot read --input missing.json (ENOENT): pass the path of a JSON file, e.g. docs/examples/migrate-input.json',
      ),
    );
    expect(cfn.calls()).toHaveLength(0);
  });

  test('GIVEN recent executions WHEN status runs THEN every workflow is listed', async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          name: 'm-7',
          status: 'SUCCEEDED',
          executionArn: 'x',
          stateMachineArn: ARN('migrate'),
          startDate: new Date('2026-01-01T00:00:00Z'),
        },
      ],
    });
    await statusCommand({ stage: 'dev' }, deps());
    expect(lines).toContain('  m-7  SUCCEEDED  started 2026-01-01T00:00:00.000Z');
    expect(sfn).toHaveReceivedCommandTimes(ListExecutionsCommand, 4);
  });

  test('GIVEN no --live WHEN plan runs THEN it prints the tables, config mapping and schedule without calling AWS', async () => {
    const p = (await planCommand({ stage: 'prod' }, deps())) as { schedule: number[] };
    expect(p.schedule).toEqual([5, 25, 50, 100]);
    expect(lines.join('\n')).toContain('copy chat_messages -> messages');
    expect(lines.join('\n')).toMatch(/copy: inline, one table at a time, \d+ chunk streams in parallel/);
    // What a rollback costs, per table, before anything runs.
    expect(lines.join('\n')).toContain(
      "rollback of messages: the spec's reverse mapping returns new-side writes on a rollback (old columns session_id, role, body, metadata, created_at, updated_at",
    );
    expect(lines.join('\n')).toContain('`plan --stage prod --live`');
    expect(sfn.calls()).toHaveLength(0);
    expect(cfn.calls()).toHaveLength(0);
  });

  test('GIVEN --live WHEN plan runs THEN every config change is listed by name and action, never a value', async () => {
    const { MemoryConfigStore } = await import('../../lambda/adapters/local/memory-config-store');
    const params = new MemoryConfigStore('parameter');
    const secrets = new MemoryConfigStore('secret');
    await params.put('/chat/dev/old/db/host', 'old.internal');
    await params.put('/chat/dev/old/feature/x', 'on');
    await params.put('/chat/dev/new/db/host', 'new.internal');
    await secrets.put('chat/dev/old/api-key', 'sk-VALUE');
    const r = (await planCommand({ stage: 'dev', live: true }, { ...deps(), configStores: [params, secrets] })) as {
      configChanges: { target: string; action: string }[];
    };
    expect(r.configChanges.map((c) => [c.target, c.action])).toEqual([
      ['/chat/dev/new/db/host', 'unchanged'],
      ['/chat/dev/new/feature/x', 'create'],
      ['chat/dev/new/api-key', 'create'],
    ]);
    expect(lines.join('\n')).toContain('create    secret    chat/dev/new/api-key');
    expect(lines.join('\n')).not.toMatch(/sk-VALUE|old\.internal/);
    expect(await params.get('/chat/dev/new/feature/x')).toBeUndefined();
  });

  test('fails with StackNotDeployedError when the stage is not deployed', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Stack with id switchyard-staging-migration does not exist'), {
        name: 'ValidationError',
      }),
    );
    await expect(statusCommand({ stage: 'staging' }, deps())).rejects.toThrow(StackNotDeployedError);
  });

  test('fails with NoCredentialsError when no credentials are configured', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      );
    await expect(statusCommand({ stage: 'dev' }, deps())).rejects.toThrow(NoCredentialsError);
  });

  test('fails with UsageError when start has no migration id, before any AWS call', async () => {
    await expect(startCommand({ stage: 'dev' }, deps())).rejects.toThrow(/migration id is required/);
    expect(cfn.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });
});
