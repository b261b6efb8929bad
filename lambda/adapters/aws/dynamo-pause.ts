import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { PauseRecord, PauseStore } from '../../core/traffic/pause';
import { call } from './errors';

type Item = Record<string, AttributeValue>;

/** The item of a migration's held step in the stage lock table (partition key `pk`). */
export const pauseKey = (stage: string, migrationId: string): Item => ({
  pk: { S: `pause#${stage}#${migrationId}` },
});
const time = (d: Date): AttributeValue => ({ N: String(d.getTime()) });

function toItem(p: PauseRecord): Item {
  return {
    ...pauseKey(p.stage, p.migrationId),
    stage: { S: p.stage },
    migrationId: { S: p.migrationId },
    executionId: { S: p.executionId },
    weight: { N: String(p.weight) },
    healthy: { BOOL: p.healthy },
    ...(p.summary ? { summary: { S: p.summary } } : {}),
    taskToken: { S: p.taskToken },
    pausedAt: time(p.pausedAt),
    expiresAt: time(p.expiresAt),
  };
}

function fromItem(i: Item | undefined): PauseRecord | undefined {
  if (!i?.taskToken?.S || !i.stage?.S || !i.migrationId?.S) return undefined;
  return {
    stage: i.stage.S,
    migrationId: i.migrationId.S,
    executionId: i.executionId?.S ?? '',
    weight: Number(i.weight?.N ?? Number.NaN),
    healthy: i.healthy?.BOOL === true,
    summary: i.summary?.S,
    taskToken: i.taskToken.S,
    pausedAt: new Date(Number(i.pausedAt?.N ?? 0)),
    expiresAt: new Date(Number(i.expiresAt?.N ?? 0)),
  };
}

/**
 * Held traffic steps in the stage lock table: item `pause#<stage>#<migration id>` written by the
 * Pause phase (PutItem, a later pause of the same migration replaces it), read and cleared by
 * `switchyard resume|abort` (GetItem, DeleteItem conditional on the token it answered).
 */
export class DynamoPauseStore implements PauseStore {
  constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBClient,
  ) {}

  async record(pause: PauseRecord): Promise<void> {
    await call('dynamodb:PutItem', this.tableName, () =>
      this.ddb.send(new PutItemCommand({ TableName: this.tableName, Item: toItem(pause) })),
    );
  }

  async read(stage: string, migrationId: string): Promise<PauseRecord | undefined> {
    const r = await call('dynamodb:GetItem', this.tableName, () =>
      this.ddb.send(
        new GetItemCommand({ TableName: this.tableName, Key: pauseKey(stage, migrationId), ConsistentRead: true }),
      ),
    );
    return fromItem(r.Item);
  }

  async clear(stage: string, migrationId: string, taskToken: string): Promise<void> {
    try {
      await call('dynamodb:DeleteItem', this.tableName, () =>
        this.ddb.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: pauseKey(stage, migrationId),
            ConditionExpression: 'taskToken = :token',
            ExpressionAttributeValues: { ':token': { S: taskToken } },
          }),
        ),
      );
    } catch (e) {
      const name = (e as { name?: string })?.name;
      if (e instanceof ConditionalCheckFailedException || name === 'ConditionalCheckFailedException') return;
      throw e;
    }
  }
}
