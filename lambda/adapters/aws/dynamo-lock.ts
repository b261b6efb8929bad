import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { CompletionRecord, LockHolder, LockStore, LockWorkflow } from '../../core/lock/ports';
import { call } from './errors';

type Item = Record<string, AttributeValue>;

const lockKey = (stage: string): Item => ({ pk: { S: `lock#${stage}` } });
const completionKey = (stage: string): Item => ({ pk: { S: `completed#${stage}` } });
/** The stage's fencing counter: its own item, so it outlives every lock (released locks are deleted). */
const tokenKey = (stage: string): Item => ({ pk: { S: `fence#${stage}` } });
const time = (d: Date): AttributeValue => ({ N: String(d.getTime()) });

function toItem(stage: string, l: LockHolder): Item {
  return {
    ...lockKey(stage),
    owner: { S: l.owner },
    workflow: { S: l.workflow },
    migrationId: { S: l.migrationId },
    ...(l.executionId ? { executionId: { S: l.executionId } } : {}),
    acquiredAt: time(l.acquiredAt),
    leaseUntil: time(l.leaseUntil),
    halted: { BOOL: l.halted },
    ...(l.token !== undefined ? { token: { N: String(l.token) } } : {}),
  };
}

function fromItem(i: Item | undefined): LockHolder | undefined {
  if (!i?.owner?.S) return undefined;
  return {
    owner: i.owner.S,
    workflow: i.workflow?.S as LockWorkflow,
    migrationId: i.migrationId?.S ?? '',
    executionId: i.executionId?.S,
    acquiredAt: new Date(Number(i.acquiredAt?.N ?? 0)),
    leaseUntil: new Date(Number(i.leaseUntil?.N ?? 0)),
    halted: i.halted?.BOOL === true,
    haltedAt: i.haltedAt?.N ? new Date(Number(i.haltedAt.N)) : undefined,
    haltedBy: i.haltedBy?.S,
    token: i.token?.N ? Number(i.token.N) : undefined,
  };
}

const conditionFailed = (e: unknown): e is ConditionalCheckFailedException =>
  e instanceof ConditionalCheckFailedException || (e as { name?: string })?.name === 'ConditionalCheckFailedException';

/**
 * The stage lock in a DynamoDB table (partition key `pk`): item `lock#<stage>` taken with one
 * conditional PutItem (absent, lease ended, or same owner), renewed/released/halted with
 * conditional updates; item `completed#<stage>` holds what Finalize recorded.
 */
export class DynamoLockStore implements LockStore {
  constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBClient,
  ) {}

  async acquire(stage: string, lock: LockHolder, now: Date): Promise<LockHolder | undefined> {
    try {
      await call('dynamodb:PutItem', this.tableName, () =>
        this.ddb.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem(stage, lock),
            ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now OR #owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':now': time(now), ':owner': { S: lock.owner } },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return undefined;
    } catch (e) {
      if (!conditionFailed(e)) throw e;
      return fromItem(e.Item) ?? (await this.read(stage));
    }
  }

  async nextToken(stage: string): Promise<number> {
    const r = await call('dynamodb:UpdateItem', this.tableName, () =>
      this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: tokenKey(stage),
          UpdateExpression: 'ADD #seq :one',
          ExpressionAttributeNames: { '#seq': 'seq' },
          ExpressionAttributeValues: { ':one': { N: '1' } },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    return Number(r.Attributes?.seq?.N ?? Number.NaN);
  }

  /** One conditional UpdateItem: owner matches and the lease has not ended (stamps `fencedAt`). */
  async fence(stage: string, owner: string, now: Date): Promise<LockHolder | undefined> {
    return this.updateOwned(stage, owner, 'SET fencedAt = :now', ' AND leaseUntil >= :now', { ':now': time(now) });
  }

  async read(stage: string): Promise<LockHolder | undefined> {
    const r = await call('dynamodb:GetItem', this.tableName, () =>
      this.ddb.send(new GetItemCommand({ TableName: this.tableName, Key: lockKey(stage), ConsistentRead: true })),
    );
    return fromItem(r.Item);
  }

  async renew(stage: string, owner: string, leaseUntil: Date): Promise<LockHolder | undefined> {
    return this.updateOwned(stage, owner, 'SET leaseUntil = :lease', '', { ':lease': time(leaseUntil) });
  }

  /** An UpdateItem that applies only while `owner` holds the stage (and `extraCondition`); undefined when not. */
  private async updateOwned(
    stage: string,
    owner: string,
    update: string,
    extraCondition: string,
    values: Record<string, AttributeValue>,
  ): Promise<LockHolder | undefined> {
    try {
      const r = await call('dynamodb:UpdateItem', this.tableName, () =>
        this.ddb.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: lockKey(stage),
            UpdateExpression: update,
            ConditionExpression: `#owner = :owner${extraCondition}`,
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ...values, ':owner': { S: owner } },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return fromItem(r.Attributes);
    } catch (e) {
      if (conditionFailed(e)) return undefined;
      throw e;
    }
  }

  async release(stage: string, owner: string): Promise<boolean> {
    try {
      await call('dynamodb:DeleteItem', this.tableName, () =>
        this.ddb.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: lockKey(stage),
            ConditionExpression: '#owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': { S: owner } },
          }),
        ),
      );
      return true;
    } catch (e) {
      if (conditionFailed(e)) return false;
      throw e;
    }
  }

  async halt(stage: string, by: string, at: Date): Promise<LockHolder | undefined> {
    try {
      const r = await call('dynamodb:UpdateItem', this.tableName, () =>
        this.ddb.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: lockKey(stage),
            UpdateExpression: 'SET halted = :true, haltedAt = :at, haltedBy = :by',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':true': { BOOL: true }, ':at': time(at), ':by': { S: by } },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return fromItem(r.Attributes);
    } catch (e) {
      if (conditionFailed(e)) return undefined;
      throw e;
    }
  }

  async recordCompletion(stage: string, record: CompletionRecord): Promise<void> {
    await call('dynamodb:PutItem', this.tableName, () =>
      this.ddb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...completionKey(stage),
            migrationId: { S: record.migrationId },
            finishedAt: time(record.finishedAt),
          },
        }),
      ),
    );
  }

  async readCompletion(stage: string): Promise<CompletionRecord | undefined> {
    const r = await call('dynamodb:GetItem', this.tableName, () =>
      this.ddb.send(new GetItemCommand({ TableName: this.tableName, Key: completionKey(stage), ConsistentRead: true })),
    );
    const i = r.Item;
    return i?.migrationId?.S && i.finishedAt?.N
      ? { migrationId: i.migrationId.S, finishedAt: new Date(Number(i.finishedAt.N)) }
      : undefined;
  }
}
