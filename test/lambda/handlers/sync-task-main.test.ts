import { EventEmitter } from 'node:events';
import type { DbEndpoint } from '../../../lambda/engine';
import { prepareTarget } from '../../../lambda/engine';
import { getSpec } from '../../../lambda/engine/specs';
import { createSync, dropSync } from '../../../lambda/engine/sync';
import { query, seededPair } from '../../support/pg';

// The task reads its credentials from Secrets Manager by ARN: here each ARN names a local database.
const endpoints = new Map<string, DbEndpoint>();
jest.mock('../../../lambda/adapters/aws/db-credentials', () => ({
  databaseEndpointFromSecret: async (arn: string) => endpoints.get(arn),
}));
// Imported after the mock.
import { syncTaskMain } from '../../../lambda/handlers/sync-task-main';

const env = (migrationId: string) => ({
  SWITCHYARD_STAGE: 'unit',
  SOURCE_DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:old-db-AbCdEf',
  TARGET_DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:new-db-AbCdEf',
  SYNC_MIGRATION_ID: migrationId,
  SYNC_DIRECTIONS: 'forward',
  SYNC_CONFLICTS: 'false',
});

async function until(what: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the sync task process (bin/sync-task.ts): continuous until SIGTERM', () => {
  test('GIVEN a capture WHEN the task runs THEN it applies new writes continuously, and SIGTERM stops it cleanly (exit 0)', async () => {
    const { source, target } = await seededPair('stm', 20);
    const spec = getSpec('chat-history');
    await prepareTarget(spec, source, target);
    await createSync(source, spec, 'm-sync-task-main', 'forward');
    const e = env('m-sync-task-main');
    endpoints.set(e.SOURCE_DB_SECRET_ARN, source);
    endpoints.set(e.TARGET_DB_SECRET_ARN, target);
    const proc = new EventEmitter() as NodeJS.Process;
    const lines: string[] = [];
    const exit = syncTaskMain(e, proc, (l) => lines.push(l));
    try {
      for (const id of [9001, 9002]) {
        await query(
          source,
          `INSERT INTO chat_messages (id, session_id, role, body, created_at) VALUES ($1, (SELECT min(id) FROM chat_sessions), 'human', 'x', now())`,
          [id],
        );
        await until(
          async () => (await query(target, 'SELECT 1 FROM messages WHERE message_id = $1', [id])).length === 1,
        );
      }
    } finally {
      proc.emit('SIGTERM');
      await expect(exit).resolves.toBe(0);
      expect(lines.map((l) => JSON.parse(l).message)).toEqual(
        expect.arrayContaining(['sync task started', 'sync task stopping', 'sync task stopped cleanly']),
      );
      await dropSync(source, 'm-sync-task-main', 'forward', target);
    }
  }, 120_000);

  test('GIVEN no capture WHEN the task starts THEN it fails (exit 1): the workflow sees it STOPPED', async () => {
    const { source, target } = await seededPair('stn', 1);
    const e = env('m-sync-task-none');
    endpoints.set(e.SOURCE_DB_SECRET_ARN, source);
    endpoints.set(e.TARGET_DB_SECRET_ARN, target);
    const lines: string[] = [];
    await expect(syncTaskMain(e, new EventEmitter() as NodeJS.Process, (l) => lines.push(l))).resolves.toBe(1);
    expect(lines.map((l) => JSON.parse(l).error).find(Boolean)).toMatch(/^ReplicationSlotMissingError: /);
  }, 60_000);

  test('a malformed run setting is refused before anything connects', async () => {
    await expect(
      syncTaskMain({ ...env('m1'), SYNC_DIRECTIONS: 'sideways' }, new EventEmitter() as NodeJS.Process),
    ).rejects.toThrow(/SYNC_DIRECTIONS must be forward, reverse or forward,reverse/);
  });
});
