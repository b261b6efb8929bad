import 'aws-sdk-client-mock-jest';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { parseArgs, runCommand } from '../../bin/cli/commands';
import { ExecutionFailedError, MigrationAlreadyRunningError, NoCredentialsError, StackNotDeployedError, UsageError } from '../../bin/cli/errors';

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
const deps = () => ({ sfn: new SFNClient({ region: 'eu-west-1' }), cfn: new CloudFormationClient({ region: 'eu-west-1' }), print: (l: string) => lines.push(l), sleep: async () => undefined, readFile: () => '{"migrationId":"m-7","bakeSeconds":60}' });
const run = (...argv: string[]) => runCommand(parseArgs(argv), deps());

beforeEach(() => {
  sfn.reset();
  cfn.reset();
  lines = [];
  cfn.on(DescribeStacksCommand, { StackName: 'switchyard-dev-migration' }).resolves({ Stacks: [{ StackName: 'switchyard-dev-migration', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: outputs }] });
});

const history = {
  events: [
    { id: 1, type: 'ExecutionStarted' as const, timestamp: new Date('2026-01-01T00:00:00Z') },
    { id: 2, type: 'TaskStateEntered' as const, timestamp: new Date('2026-01-01T00:00:01Z'), stateEnteredEventDetails: { name: 'Preflight' } },
    { id: 3, type: 'TaskStateExited' as const, timestamp: new Date('2026-01-01T00:00:03Z'), stateExitedEventDetails: { name: 'Preflight' } },
  ],
};

describe('switchyard CLI', () => {
  test('start launches Migrate named after the migration id and follows it phase by phase', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:m-7', startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves(history);
    sfn.on(DescribeExecutionCommand).resolvesOnce({ status: 'RUNNING', executionArn: 'arn:exec:m-7', stateMachineArn: ARN('migrate'), startDate: new Date() }).resolves({ status: 'SUCCEEDED', output: '{"ok":true}', executionArn: 'arn:exec:m-7', stateMachineArn: ARN('migrate'), startDate: new Date() });
    const r = await run('start', '--stage', 'dev', '--input', 'in.json');
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: ARN('migrate'), name: 'm-7', input: JSON.stringify({ migrationId: 'm-7', bakeSeconds: 60 }) });
    expect(r).toMatchObject({ status: 'SUCCEEDED' });
    expect(lines).toContain('00:00:03 ok    Preflight (2.0 s)');
    expect(lines.filter((l) => l.includes('Preflight'))).toHaveLength(1);
  });

  test('start --dry-run passes dryRun: true (the gate check)', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:g', startDate: new Date() });
    await run('start', '--stage', 'dev', '--migration-id', 'gate-1', '--dry-run', '--no-follow');
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: 'gate-1', input: JSON.stringify({ migrationId: 'gate-1', dryRun: true }) });
  });

  test('fails with MigrationAlreadyRunningError when another migration runs on the stage', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [{ name: 'm-other', status: 'RUNNING', executionArn: 'x', stateMachineArn: ARN('migrate'), startDate: new Date() }] });
    await expect(run('start', '--stage', 'dev', '--migration-id', 'm-8')).rejects.toThrow(MigrationAlreadyRunningError);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  test('fails with MigrationAlreadyRunningError when the execution name exists', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists' }));
    await expect(run('start', '--stage', 'dev', '--migration-id', 'm-7')).rejects.toThrow('an execution named m-7 already exists');
  });

  test('a failed execution ends the command with its error and cause', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:m-9', startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'NewSideUnhealthy', cause: 'alarm x in ALARM', executionArn: 'arn:exec:m-9', stateMachineArn: ARN('migrate'), startDate: new Date() });
    await expect(run('start', '--stage', 'dev', '--migration-id', 'm-9')).rejects.toThrow(new ExecutionFailedError('execution FAILED: NewSideUnhealthy - alarm x in ALARM'));
  });

  test('rollback starts RollbackTraffic for the migration', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:rb', startDate: new Date() });
    await run('rollback', '--stage', 'dev', '--migration-id', 'm-7', '--no-follow');
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: ARN('rollback-traffic'), input: JSON.stringify({ migrationId: 'm-7' }) });
  });

  test('restore starts RestoreData with the snapshot and the applied config record', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:rs', startDate: new Date() });
    await runCommand(parseArgs(['restore', '--stage', 'dev', '--migration-id', 'm-7', '--snapshot-id', 'switchyard-dev-m-7', '--applied', 'a.json', '--no-follow']), { ...deps(), readFile: () => '[{"kind":"parameter","source":"/a","target":"/b","action":"create"}]' });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: ARN('restore-data'),
      input: JSON.stringify({ migrationId: 'm-7', snapshotId: 'switchyard-dev-m-7', applied: [{ kind: 'parameter', source: '/a', target: '/b', action: 'create' }] }),
    });
  });

  test('status lists recent executions of every workflow', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [{ name: 'm-7', status: 'SUCCEEDED', executionArn: 'x', stateMachineArn: ARN('migrate'), startDate: new Date('2026-01-01T00:00:00Z') }] });
    await run('status', '--stage', 'dev');
    expect(lines).toContain('  m-7  SUCCEEDED  started 2026-01-01T00:00:00.000Z');
    expect(sfn).toHaveReceivedCommandTimes(ListExecutionsCommand, 4);
  });

  test('plan --offline prints the tables, config mapping and schedule without calling AWS', async () => {
    const p = (await run('plan', '--stage', 'prod', '--offline')) as { schedule: number[] };
    expect(p.schedule).toEqual([5, 25, 50, 100]);
    expect(lines.join('\n')).toContain('copy chat_messages -> messages');
    expect(sfn.calls()).toHaveLength(0);
    expect(cfn.calls()).toHaveLength(0);
  });

  test('plan lists every config change by name and action, never a value', async () => {
    const { MemoryConfigStore } = await import('../../lambda/adapters/local/memory-config-store');
    const params = new MemoryConfigStore('parameter');
    const secrets = new MemoryConfigStore('secret');
    await params.put('/chat/dev/old/db/host', 'old.internal');
    await params.put('/chat/dev/old/feature/x', 'on');
    await params.put('/chat/dev/new/db/host', 'new.internal');
    await secrets.put('chat/dev/old/api-key', 'sk-VALUE');
    const r = (await runCommand(parseArgs(['plan', '--stage', 'dev']), { ...deps(), configStores: [params, secrets] })) as { configChanges: { target: string; action: string }[] };
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
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id switchyard-staging-migration does not exist'), { name: 'ValidationError' }));
    await expect(run('status', '--stage', 'staging')).rejects.toThrow(StackNotDeployedError);
  });

  test('fails with NoCredentialsError when no credentials are configured', async () => {
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    await expect(run('status', '--stage', 'dev')).rejects.toThrow(NoCredentialsError);
  });

  test('fails with UsageError on a bad stage, command or missing id', async () => {
    await expect(run('status', '--stage', 'qa')).rejects.toThrow(new UsageError('--stage must be one of dev, staging, prod, got: qa'));
    await expect(run('launch', '--stage', 'dev')).rejects.toThrow(/unknown command: launch/);
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    await expect(run('start', '--stage', 'dev')).rejects.toThrow(/migration id is required/);
    expect(() => parseArgs([])).toThrow(UsageError);
  });
});
