import 'aws-sdk-client-mock-jest';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoPauseStore } from '../../../lambda/adapters/aws/dynamo-pause';
import { PAUSE_SECONDS } from '../../../lambda/core/limits';
import { answerPause, holdStep, pauseAtProblem, type PauseRecord } from '../../../lambda/core/traffic/pause';
import { awsDeps } from '../../../lambda/handlers/aws-wiring';
import { pause } from '../../../lambda/handlers/pause';
import { validateInput } from '../../../lambda/handlers/validate-input';

const ddb = mockClient(DynamoDBClient);
beforeEach(() => ddb.reset());

const ENV = {
  AWS_REGION: 'eu-west-1',
  SWITCHYARD_STAGE: 'prod',
  SOURCE_DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/old/db-AbCdEf',
  TARGET_DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/new/db-XyZabc',
  OLD_DB_ID: 'switchyard-prod-old',
  ROUTING_KIND: 'alb',
  ALB_RULE_ARN: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener-rule/app/a/1/2/3',
  OLD_TARGET_GROUP_ARN: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/old/1',
  NEW_TARGET_GROUP_ARN: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/new/2',
  HEALTH_ALARM_PREFIX: 'switchyard-prod-new-',
  OLD_PARAMETER_PATH: '/app/old',
  NEW_PARAMETER_PATH: '/app/new',
  OLD_SECRET_PREFIX: 'app/old',
  NEW_SECRET_PREFIX: 'app/new',
  NEW_KMS_KEY_ARN: 'arn:aws:kms:eu-west-1:111111111111:key/new-key',
  LOCK_TABLE_NAME: 'switchyard-prod-lock',
};
const EXECUTION = 'arn:aws:states:eu-west-1:111111111111:execution:switchyard-prod-migrate:m-1';
const HOLD = {
  migrationId: 'm-1',
  executionId: EXECUTION,
  taskToken: 'AQCEAAAAKgAAAAMAAAAAAAAAA-token',
  weight: 25,
  healthy: true,
  summary: 'alarms OK; canary pass',
  maxPauseSeconds: 3600,
};

describe('Pause phase (DynamoDB mocked)', () => {
  test('GIVEN a held step WHEN invoked THEN one PutItem of pause#<stage>#<migration id> with the token and figures', async () => {
    ddb.on(PutItemCommand).resolves({});
    const t0 = Date.now();
    const out = (await pause.make(() => awsDeps(ENV))(HOLD)) as { paused: boolean; weight: number; expiresAt: string };
    expect([out.paused, out.weight]).toEqual([true, 25]);
    expect(Date.parse(out.expiresAt) - t0).toBeGreaterThanOrEqual(3600 * 1000);
    expect(ddb).toHaveReceivedCommandTimes(PutItemCommand, 1);
    const input = ddb.commandCalls(PutItemCommand)[0].args[0].input;
    expect(input.TableName).toBe('switchyard-prod-lock');
    expect(input.Item).toMatchObject({
      pk: { S: 'pause#prod#m-1' },
      migrationId: { S: 'm-1' },
      executionId: { S: EXECUTION },
      taskToken: { S: HOLD.taskToken },
      weight: { N: '25' },
      healthy: { BOOL: true },
      expiresAt: { N: out.expiresAt && String(Date.parse(out.expiresAt)) },
    });
  });

  test.each([
    [
      { maxPauseSeconds: 0 },
      `maxPauseSeconds must be a whole number between 1 and ${PAUSE_SECONDS.max} seconds, got: 0`,
    ],
    [{ weight: 101 }, 'weight'],
    [{ taskToken: '' }, 'taskToken'],
  ])('a malformed hold %j fails with InvalidInputError and stores nothing', async (bad, message) => {
    await expect(pause.make(() => awsDeps(ENV))({ ...HOLD, ...bad })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringContaining(message),
    });
    expect(ddb).toHaveReceivedCommandTimes(PutItemCommand, 0);
  });

  test('without the lock table the phase fails with ConfigurationError (a deploy problem)', async () => {
    const { LOCK_TABLE_NAME: _, ...env } = ENV;
    await expect(pause.make(() => awsDeps(env))(HOLD)).rejects.toMatchObject({ name: 'ConfigurationError' });
  });
});

describe('DynamoPauseStore', () => {
  const store = () => new DynamoPauseStore('lock', new DynamoDBClient({ region: 'eu-west-1' }));
  const record = holdStep({ ...HOLD, stage: 'prod' }, new Date('2030-01-01T00:00:00Z'));

  test('reads back what it stored (consistent read)', async () => {
    ddb.on(PutItemCommand).resolves({});
    await store().record(record);
    const item = ddb.commandCalls(PutItemCommand)[0].args[0].input.Item;
    ddb.on(GetItemCommand).resolves({ Item: item });
    expect(await store().read('prod', 'm-1')).toEqual(record);
    expect(ddb.commandCalls(GetItemCommand)[0].args[0].input).toMatchObject({
      Key: { pk: { S: 'pause#prod#m-1' } },
      ConsistentRead: true,
    });
  });

  test('no item: undefined; clear deletes only the answered token (a later pause of the migration stays)', async () => {
    ddb.on(GetItemCommand).resolves({});
    expect(await store().read('prod', 'm-1')).toBeUndefined();
    ddb.on(DeleteItemCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
    await expect(store().clear('prod', 'm-1', 'old-token')).resolves.toBeUndefined();
    expect(ddb.commandCalls(DeleteItemCommand)[0].args[0].input).toMatchObject({
      ConditionExpression: 'taskToken = :token',
      ExpressionAttributeValues: { ':token': { S: 'old-token' } },
    });
  });
});

describe('pause decisions (lambda/core/traffic/pause.ts)', () => {
  const now = new Date('2030-01-01T00:10:00Z');
  const held: PauseRecord = holdStep({ ...HOLD, stage: 'prod' }, new Date('2030-01-01T00:00:00Z'));
  const req = { stage: 'prod', migrationId: 'm-1', now } as const;

  test('resume answers the token with SendTaskSuccess output; abort with MigrationAbortedError', () => {
    expect(answerPause(held, { ...req, action: 'resume', by: 'alice' })).toEqual({
      kind: 'resume',
      taskToken: HOLD.taskToken,
      output: { resumed: true, weight: 25, by: 'alice', at: now.toISOString() },
    });
    expect(answerPause(held, { ...req, action: 'abort' })).toMatchObject({
      kind: 'abort',
      error: 'MigrationAbortedError',
      cause: 'aborted by operator while paused at 25 % new: traffic goes back to 100 % old',
    });
  });

  test('nothing paused, or a pause past its maximum, is a named error that says what happened', () => {
    expect(() => answerPause(undefined, { ...req, action: 'resume' })).toThrow(
      expect.objectContaining({
        name: 'NotPausedError',
        message: expect.stringMatching(/m-1 on stage prod is not paused/),
      }),
    );
    const late = new Date(held.expiresAt.getTime() + 1);
    expect(() => answerPause(held, { ...req, now: late, action: 'abort' })).toThrow(
      expect.objectContaining({ name: 'PauseExpiredError', message: expect.stringMatching(/rolled the traffic back/) }),
    );
  });

  test('pauseAt must name steps of the schedule', () => {
    expect(pauseAtProblem([25, 100], [5, 25, 50, 100])).toBeUndefined();
    expect(pauseAtProblem([30, 25, 75], [5, 25, 50, 100])).toBe(
      'must be steps of the weight schedule (5, 25, 50, 100), got: 30, 75',
    );
  });
});

describe('ValidateInput: pauseAt', () => {
  const run = (input: unknown, env: Record<string, string> = ENV) => validateInput.make(() => awsDeps(env))(input);

  test('the stage default (DEFAULT_PAUSE_AT) applies; an execution overrides it, [] pauses nowhere', async () => {
    const env = { ...ENV, DEFAULT_PAUSE_AT: '25,50' };
    expect(await run({ migrationId: 'm-1' }, env)).toMatchObject({ pauseAt: [25, 50] });
    expect(await run({ migrationId: 'm-1', pauseAt: [] }, env)).toMatchObject({ pauseAt: [] });
    expect(await run({ migrationId: 'm-1', pauseAt: [5] }, env)).toMatchObject({ pauseAt: [5] });
    // An execution schedule without the stage's pause steps keeps only those it has.
    expect(await run({ migrationId: 'm-1', schedule: [50, 100] }, env)).toMatchObject({ pauseAt: [50] });
    expect(await run({ migrationId: 'm-1' })).toMatchObject({ pauseAt: [] });
  });

  test.each([
    [{ pauseAt: [30] }, 'pauseAt must be steps of the weight schedule (5, 25, 50, 100), got: 30'],
    [{ pauseAt: [0] }, 'pauseAt.0 must be a whole number between 1 and 100 percent, got: 0'],
    [{ pauseAt: [2.5] }, 'pauseAt.0 must be a whole number between 1 and 100 percent, got: 2.5'],
    [{ pauseAt: 25 }, 'pauseAt'],
  ])('%j is refused by name with what it must be', async (bad, message) => {
    await expect(run({ migrationId: 'm-1', ...bad })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringContaining(message),
    });
  });
});
