import type { Client } from 'pg';

/** The old chat-history schema the built-in spec migrates from. */
export const OLD_CHAT_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS chat_sessions (
     id bigint PRIMARY KEY,
     user_name text NOT NULL,
     title text,
     created_at timestamp NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS chat_messages (
     id bigint PRIMARY KEY,
     session_id bigint NOT NULL REFERENCES chat_sessions (id),
     role varchar(16) NOT NULL,
     body text,
     metadata text,
     created_at timestamptz NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE INDEX IF NOT EXISTS chat_messages_updated_idx ON chat_messages (updated_at)`,
  // The old app hands out message ids from this sequence.
  `CREATE SEQUENCE IF NOT EXISTS chat_messages_id_seq OWNED BY chat_messages.id`,
  `CREATE INDEX IF NOT EXISTS chat_sessions_updated_idx ON chat_sessions (updated_at)`,
];

/** Messages per session in the generated data. */
export const MESSAGES_PER_SESSION = 20;

/**
 * Create the old schema and fill it with `messages` deterministic chat messages
 * (and messages/20 sessions), generated inside the database. Same input, same rows.
 * Mixed-case roles, empty/NULL/JSON/legacy metadata, emoji and multi-byte text included.
 */
export async function seedChatHistory(c: Client, messages: number): Promise<{ sessions: number; messages: number }> {
  for (const stmt of OLD_CHAT_SCHEMA) await c.query(stmt);
  const sessions = Math.max(1, Math.ceil(messages / MESSAGES_PER_SESSION));
  const base = "timestamp '2024-01-01 00:00:00'";
  await c.query(
    `INSERT INTO chat_sessions (id, user_name, title, created_at, updated_at)
     SELECT g, 'User_' || (g % 997), CASE WHEN g % 7 = 0 THEN NULL WHEN g % 11 = 0 THEN '  ' ELSE 'Chat ' || g || ' über café ☕' END,
            ${base} + g * interval '1 minute', (${base} + g * interval '1 minute') AT TIME ZONE 'UTC' + interval '1 hour'
       FROM generate_series(1, $1::bigint) g`,
    [sessions],
  );
  await c.query(
    `INSERT INTO chat_messages (id, session_id, role, body, metadata, created_at, updated_at)
     SELECT g, (g - 1) / ${MESSAGES_PER_SESSION} + 1,
            (ARRAY['human', 'BOT', 'Human', 'bot', 'system', 'tool'])[1 + g % 6],
            CASE WHEN g % 50 = 0 THEN NULL
                 ELSE 'message ' || g || ' ' || repeat(md5(g::text), (1 + g % 4)::int)
                      || CASE WHEN g % 13 = 0 THEN ' 🚀 日本語' ELSE '' END END,
            CASE g % 5 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN '{"client": "web", "n": ' || (g % 100) || '}'
                       WHEN 3 THEN 'client=ios;v=' || (g % 9) ELSE '{"tags": ["a", "b"]}' END,
            timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
            timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' + interval '5 minutes'
       FROM generate_series(1, $1::bigint) g`,
    [messages],
  );
  await c.query(`SELECT setval('chat_messages_id_seq', greatest(1, (SELECT coalesce(max(id), 0) FROM chat_messages)))`);
  await c.query('ANALYZE chat_sessions; ANALYZE chat_messages');
  return { sessions, messages };
}
