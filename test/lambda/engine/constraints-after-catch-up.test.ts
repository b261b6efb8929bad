import {
  buildDeferredIndexes,
  copyTable,
  describeTableWith,
  parseSpec,
  prepareTarget,
  validateTable,
} from '../../../lambda/engine';
import { chatHistorySpec } from '../../../lambda/engine/specs/chat-history';
import { createSync, runSync } from '../../../lambda/engine/sync';
import { query, seededPair } from '../../support/pg';

/*
 * Indexes after the copy, constraints after the catch-up: ordinary writes during a chunked copy
 * leave the target briefly inconsistent (a child copied before its parent reached the target, a
 * unique value moved from a copied row to one not copied yet) until the sync applies them.
 */

const spec = parseSpec({
  ...chatHistorySpec,
  targetDdl: [
    ...chatHistorySpec.targetDdl,
    'ALTER TABLE messages ADD CONSTRAINT messages_conversation_fk FOREIGN KEY (conversation_id) REFERENCES conversations (conversation_id)',
    'ALTER TABLE messages ADD CONSTRAINT messages_created_unique UNIQUE (created_at)',
    'CREATE UNIQUE INDEX messages_updated_unique ON messages (updated_at)',
  ],
  tables: chatHistorySpec.tables.map((t) => ({ ...t, chunkSize: 250 })),
});

describe('constraints are validated after the catch-up, indexes built after the copy', () => {
  test('GIVEN writes during the copy that break a foreign key and two unique constraints until the sync catches up WHEN indexes are built after the copy and constraints after the catch-up THEN both pass and the target validates', async () => {
    const { source, target } = await seededPair('dca', 300);
    await prepareTarget(spec, source, target, { deferIndexes: true });
    await createSync(source, spec, 'dca', 'forward');
    const [conversations, messages] = await Promise.all(spec.tables.map((t) => describeTableWith(t, source, target)));
    await copyTable(conversations, source, target, { runId: 'dca' });
    await copyTable(messages, source, target, { runId: 'dca', chunkNos: { from: 0, to: 0 } });
    // The app writes while the copy runs: a new conversation with a message (its chunk is still to come),
    // and unique values moved from a copied row (id 1) to one not copied yet (id 299).
    await query(source, `INSERT INTO chat_sessions VALUES (1000, 'late', 'late', now(), now())`);
    await query(
      source,
      `INSERT INTO chat_messages VALUES (301, 1000, 'human', 'hi', NULL, timestamptz '2030-01-01', timestamptz '2030-01-01')`,
    );
    await query(
      source,
      `WITH one AS (SELECT created_at, updated_at FROM chat_messages WHERE id = 1)
       UPDATE chat_messages m SET created_at = CASE WHEN m.id = 1 THEN one.created_at + interval '1 year' ELSE one.created_at END,
                                  updated_at = CASE WHEN m.id = 1 THEN one.updated_at + interval '1 year' ELSE one.updated_at END
         FROM one WHERE m.id IN (1, 299)`,
    );
    await copyTable(messages, source, target, { runId: 'dca', chunkNos: { from: 1, to: 1 } });

    const indexes = await buildDeferredIndexes(spec, target, { what: 'indexes' });
    expect(indexes.built.map((b) => b.name)).toEqual(['messages_conversation_idx']);
    expect(indexes.pending).toBe(3);

    await runSync({ migrationId: 'dca', direction: 'forward', spec, source, target });
    const constraints = await buildDeferredIndexes(spec, target, { what: 'constraints' });
    expect(constraints.built.map((b) => b.name).sort()).toEqual([
      'messages_conversation_fk',
      'messages_created_unique',
      'messages_updated_unique',
    ]);
    expect(constraints.pending).toBe(0);
    for (const t of [conversations, messages])
      expect((await validateTable(t, source, target, { runId: 'dca' })).match).toBe(true);
  });
});
