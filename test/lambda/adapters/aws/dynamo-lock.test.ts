import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoLockStore } from '../../../../lambda/adapters/aws/dynamo-lock';
import type { LockHolder } from '../../../../lambda/core/lock/ports';

const ddb = mockClient(DynamoDBClient);
const store = () => new DynamoLockStore('lock-table', new DynamoDBClient({ region: 'eu-west-1' }));
const T0 = new Date('2030-01-01T00:00:00Z');
const lock: LockHolder = {
  owner: 'migrate:m1',
  workflow: 'migrate',
  migrationId: 'm1',
  acquiredAt: T0,
  leaseUntil: new Date(T0.getTime() + 1000),
  halted: false,
};
const conditionFailed = (Item?: Record<string, unknown>) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item: Item as never,
  });

beforeEach(() => ddb.reset());

describe('DynamoLockStore', () => {
  test('GIVEN a free stage WHEN acquired THEN one conditional PutItem: absent, lease ended, or same owner', async () => {
    ddb.on(PutItemCommand).resolves({});
    expect(await store().acquire('prod', lock, T0)).toBeUndefined();
    const input = ddb.commandCalls(PutItemCommand)[0].args[0].input;
    expect(input.ConditionExpression).toBe('attribute_not_exists(pk) OR leaseUntil < :now OR #owner = :owner');
    expect(input.Item).toMatchObject({
      pk: { S: 'lock#prod' },
      owner: { S: 'migrate:m1' },
      halted: { BOOL: false },
      leaseUntil: { N: String(T0.getTime() + 1000) },
    });
    expect(input.ExpressionAttributeValues).toEqual({
      ':now': { N: String(T0.getTime()) },
      ':owner': { S: 'migrate:m1' },
    });
  });

  test('fails when another owner holds the stage: returns that holder from the failed condition', async () => {
    ddb.on(PutItemCommand).rejects(
      conditionFailed({
        pk: { S: 'lock#prod' },
        owner: { S: 'migrate:m0' },
        workflow: { S: 'migrate' },
        migrationId: { S: 'm0' },
        acquiredAt: { N: '0' },
        leaseUntil: { N: '9' },
        halted: { BOOL: true },
      }),
    );
    expect(await store().acquire('prod', lock, T0)).toMatchObject({
      owner: 'migrate:m0',
      migrationId: 'm0',
      halted: true,
      acquiredAt: new Date(0),
    });
  });

  test('release and renew are conditional on the owner; a lost condition is an answer, not an error', async () => {
    ddb.on(DeleteItemCommand).rejects(conditionFailed());
    ddb.on(UpdateItemCommand).rejects(conditionFailed());
    expect(await store().release('prod', 'migrate:m1')).toBe(false);
    expect(await store().renew('prod', 'migrate:m1', T0)).toBeUndefined();
    expect(ddb.commandCalls(DeleteItemCommand)[0].args[0].input.ConditionExpression).toBe('#owner = :owner');
  });

  test('fence: one conditional UpdateItem (owner and live lease) returning the token; a lost condition is undefined', async () => {
    ddb.on(UpdateItemCommand).resolvesOnce({
      Attributes: {
        pk: { S: 'lock#prod' },
        owner: { S: 'migrate:m1@arn:x' },
        workflow: { S: 'migrate' },
        migrationId: { S: 'm1' },
        acquiredAt: { N: '0' },
        leaseUntil: { N: String(T0.getTime() + 1000) },
        halted: { BOOL: false },
        token: { N: '7' },
      },
    });
    expect(await store().fence('prod', 'migrate:m1@arn:x', T0)).toMatchObject({ token: 7, halted: false });
    const input = ddb.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(input.ConditionExpression).toBe('#owner = :owner AND leaseUntil >= :now');
    expect(input.ExpressionAttributeValues).toEqual({
      ':now': { N: String(T0.getTime()) },
      ':owner': { S: 'migrate:m1@arn:x' },
    });
    ddb.on(UpdateItemCommand).rejects(conditionFailed());
    expect(await store().fence('prod', 'migrate:m1@arn:x', T0)).toBeUndefined();
  });

  test('nextToken: an atomic ADD on the stage counter item, which outlives released locks', async () => {
    ddb.on(UpdateItemCommand).resolves({ Attributes: { seq: { N: '42' } } });
    expect(await store().nextToken('prod')).toBe(42);
    const input = ddb.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(input.Key).toEqual({ pk: { S: 'fence#prod' } });
    expect(input.UpdateExpression).toBe('ADD #seq :one');
  });

  test('acquire stores the token with the lock', async () => {
    ddb.on(PutItemCommand).resolves({});
    await store().acquire('prod', { ...lock, token: 3 }, T0);
    expect(ddb.commandCalls(PutItemCommand)[0].args[0].input.Item?.token).toEqual({ N: '3' });
  });

  test('halt sets the flag on the current holder only if one exists', async () => {
    ddb.on(UpdateItemCommand).resolves({
      Attributes: {
        owner: { S: 'migrate:m1' },
        workflow: { S: 'migrate' },
        migrationId: { S: 'm1' },
        acquiredAt: { N: '0' },
        leaseUntil: { N: '9' },
        halted: { BOOL: true },
        haltedBy: { S: 'rb' },
        haltedAt: { N: '5' },
      },
    });
    expect(await store().halt('prod', 'rb', T0)).toMatchObject({ halted: true, haltedBy: 'rb', haltedAt: new Date(5) });
    const input = ddb.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(input.ConditionExpression).toBe('attribute_exists(pk)');
    expect(input.Key).toEqual({ pk: { S: 'lock#prod' } });
  });

  test('fails when access is denied: a named error that names the action and the table', async () => {
    ddb.on(PutItemCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(store().acquire('prod', lock, T0)).rejects.toMatchObject({
      name: 'AwsAccessDeniedError',
      message: expect.stringContaining('dynamodb:PutItem on lock-table'),
    });
  });
});
