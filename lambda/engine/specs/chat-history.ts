import { type MigrationSpec, parseSpec } from '../spec';

/**
 * The built-in example: the old chat-history schema (chat_sessions + chat_messages,
 * role strings, free-form metadata text, a zone-less timestamp) moved to the new
 * schema (conversations + messages, renamed columns, mapped roles, jsonb metadata).
 *
 * Needs PostgreSQL 16+ on the source for `IS JSON OBJECT`; `chatHistorySpecFor(major)` gives the
 * form older sources (13–15) can run.
 */
export const chatHistorySpec: MigrationSpec = parseSpec({
  version: 1,
  name: 'chat-history',
  targetDdl: [
    `CREATE TABLE IF NOT EXISTS conversations (
       conversation_id bigint PRIMARY KEY,
       owner text NOT NULL,
       title text NOT NULL,
       started_at timestamptz NOT NULL,
       updated_at timestamptz NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS messages (
       message_id bigint PRIMARY KEY,
       conversation_id bigint NOT NULL,
       role text NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
       content text NOT NULL,
       metadata jsonb NOT NULL,
       created_at timestamptz NOT NULL,
       updated_at timestamptz NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS messages_conversation_idx ON messages (conversation_id, created_at)`,
    // The new app hands out message ids from this sequence; StartReverseCapture moves it past the old side's ids (and a rollback moves the old side's past it).
    `CREATE SEQUENCE IF NOT EXISTS messages_message_id_seq OWNED BY messages.message_id`,
  ],
  tables: [
    {
      name: 'conversations',
      source: { table: 'chat_sessions' },
      key: ['id'],
      target: { table: 'conversations', key: ['conversation_id'] },
      columns: {
        owner: 'lower(s.user_name)',
        title: "coalesce(nullif(btrim(s.title), ''), 'Untitled')",
        // The old column is a zone-less timestamp written in UTC.
        started_at: "s.created_at AT TIME ZONE 'UTC'",
        updated_at: 's.updated_at',
      },
      // New-side writes back into the old schema while traffic is split (and on rollback).
      // Not every value survives the round trip: the owner's case and a blank title are gone.
      reverse: {
        user_name: 's.owner',
        title: 's.title',
        created_at: "s.started_at AT TIME ZONE 'UTC'",
        updated_at: 's.updated_at',
      },
      watermark: 'updated_at',
    },
    {
      name: 'messages',
      source: { table: 'chat_messages' },
      key: ['id'],
      target: { table: 'messages', key: ['message_id'] },
      columns: {
        conversation_id: 's.session_id',
        role:
          "CASE lower(s.role) WHEN 'human' THEN 'user' WHEN 'user' THEN 'user' WHEN 'bot' THEN 'assistant' WHEN " +
          "'assistant' THEN 'assistant' ELSE lower(s.role) END",
        content: "coalesce(s.body, '')",
        metadata:
          "CASE WHEN s.metadata IS NULL OR btrim(s.metadata) = '' THEN '{}'::jsonb WHEN s.metadata IS JSON " +
          "OBJECT THEN s.metadata::jsonb ELSE jsonb_build_object('legacy', s.metadata) END",
        created_at: 's.created_at',
        updated_at: 's.updated_at',
      },
      // Roles map back to the old vocabulary; metadata goes back as JSON text (legacy free text stays wrapped).
      reverse: {
        session_id: 's.conversation_id',
        role: "CASE s.role WHEN 'user' THEN 'human' WHEN 'assistant' THEN 'bot' ELSE s.role END",
        body: 's.content',
        metadata: 's.metadata::text',
        created_at: 's.created_at',
        updated_at: 's.updated_at',
      },
      watermark: 'updated_at',
    },
  ],
});

/** The name of the chat-history spec's form for sources before PostgreSQL 16. */
export const CHAT_HISTORY_BEFORE_16 = 'chat-history-pg13';

/**
 * The chat-history spec for a source of `major`. Before 16 there is no `IS JSON`: metadata that
 * looks like an object (`{…}`) is cast to jsonb, so a value that only looks like one stops its
 * chunk with ChunkDataError (named, rolled back) instead of being wrapped as legacy text.
 */
export function chatHistorySpecFor(major: number): MigrationSpec {
  if (major >= 16) return chatHistorySpec;
  return parseSpec({
    ...chatHistorySpec,
    name: CHAT_HISTORY_BEFORE_16,
    tables: chatHistorySpec.tables.map((t) =>
      t.columns.metadata
        ? {
            ...t,
            columns: {
              ...t.columns,
              metadata: t.columns.metadata.replace('s.metadata IS JSON OBJECT', "btrim(s.metadata) LIKE '{%}'"),
            },
          }
        : t,
    ),
  });
}
