import 'aws-sdk-client-mock-jest';
import { PassThrough } from 'node:stream';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../bin/cli/program';
import { version } from '../../package.json';

const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBClient);
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAA-paused-token';

async function cli(argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const cfg = { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret-test' } };
  const code = await runCli(argv, {
    version,
    stdout,
    stderr,
    signal: new AbortController().signal,
    aws: () => ({
      sfn: new SFNClient(cfg),
      cfn: new CloudFormationClient(cfg),
      ddb: new DynamoDBClient(cfg),
      configStores: [],
    }),
  });
  return { code, out, err };
}

/** The item the Pause phase wrote for migration m-1 of stage dev, held at 25 %. */
const pausedItem = (expiresAt = Date.now() + 3_600_000) => ({
  pk: { S: 'pause#dev#m-1' },
  stage: { S: 'dev' },
  migrationId: { S: 'm-1' },
  executionId: { S: 'arn:aws:states:eu-west-1:111111111111:execution:switchyard-dev-migrate:m-1' },
  weight: { N: '25' },
  healthy: { BOOL: true },
  taskToken: { S: TOKEN },
  pausedAt: { N: String(Date.now()) },
  expiresAt: { N: String(expiresAt) },
});

beforeEach(() => {
  sfn.reset();
  ddb.reset();
});

describe('switchyard resume | abort (SDK mocked)', () => {
  test('GIVEN a paused step WHEN resumed THEN SendTaskSuccess on its token, the record cleared, exit 0', async () => {
    ddb.on(GetItemCommand).resolves({ Item: pausedItem() });
    ddb.on(DeleteItemCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});
    const r = await cli(['resume', '--stage', 'dev', '--migration-id', 'm-1', '--by', 'alice']);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toContain('resumed migration m-1 at 25 % new: Migrate goes on with the next step');
    expect(ddb).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: 'switchyard-dev-lock',
      Key: { pk: { S: 'pause#dev#m-1' } },
    });
    const sent = sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input;
    expect(sent.taskToken).toBe(TOKEN);
    expect(JSON.parse(sent.output!)).toMatchObject({ resumed: true, weight: 25, by: 'alice' });
    expect(ddb).toHaveReceivedCommandWith(DeleteItemCommand, {
      TableName: 'switchyard-dev-lock',
      ExpressionAttributeValues: { ':token': { S: TOKEN } },
    });
    expect(r.out).not.toContain(TOKEN);
  });

  test('GIVEN a paused step WHEN aborted THEN SendTaskFailure with MigrationAbortedError (the rollback path), exit 0', async () => {
    ddb.on(GetItemCommand).resolves({ Item: pausedItem() });
    ddb.on(DeleteItemCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
    const r = await cli(['abort', '--stage', 'dev', '--migration-id', 'm-1']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('aborted migration m-1 at 25 % new: Migrate rolls the traffic back to 100 % old');
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: TOKEN,
      error: 'MigrationAbortedError',
    });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 0);
  });

  test('nothing paused: NotPausedError, exit 1, no answer sent', async () => {
    ddb.on(GetItemCommand).resolves({});
    const r = await cli(['resume', '--stage', 'dev', '--migration-id', 'm-1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^NotPausedError: migration m-1 on stage dev is not paused/);
    expect(sfn.calls()).toHaveLength(0);
  });

  test('a pause past its maximum: PauseExpiredError (the rollback already ran), exit 1, no answer sent', async () => {
    ddb.on(GetItemCommand).resolves({ Item: pausedItem(Date.now() - 1000) });
    const r = await cli(['abort', '--stage', 'dev', '--migration-id', 'm-1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^PauseExpiredError: .*Migrate rolled the traffic back/);
    expect(sfn.calls()).toHaveLength(0);
  });

  test('a token already answered or an execution stopped (TaskTimedOut): NotPausedError, record cleared, exit 1', async () => {
    ddb.on(GetItemCommand).resolves({ Item: pausedItem() });
    ddb.on(DeleteItemCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' }));
    const r = await cli(['resume', '--stage', 'dev', '--migration-id', 'm-1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^NotPausedError: the pause of migration m-1 at 25 % has already ended/);
    expect(ddb).toHaveReceivedCommandTimes(DeleteItemCommand, 1);
  });

  test('a role without the lock table grant: AccessDeniedError naming the grants, exit 1', async () => {
    ddb.on(GetItemCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const r = await cli(['resume', '--stage', 'dev', '--migration-id', 'm-1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^AccessDeniedError: .*dynamodb:GetItem and dynamodb:DeleteItem on table switchyard-dev-lock/,
    );
  });

  test('usage: --migration-id is required (exit 2, no AWS call); help lists both commands', async () => {
    const r = await cli(['resume', '--stage', 'dev']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("required option '--migration-id <id>' not specified");
    expect(sfn.calls()).toHaveLength(0);
    expect(ddb.calls()).toHaveLength(0);
    const help = await cli(['--help']);
    for (const c of ['resume', 'abort']) expect(help.out).toMatch(new RegExp(`^  ${c} `, 'm'));
  });
});
