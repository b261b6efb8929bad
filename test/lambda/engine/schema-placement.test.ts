import { Client } from 'pg';
import {
  copyTable,
  type DbEndpoint,
  describeTableWith,
  parseSpec,
  prepareTarget,
  validateTable,
} from '../../../lambda/engine';
import { chatHistorySpec } from '../../../lambda/engine/specs/chat-history';
import { asMigrationRole, query, seededPair } from '../../support/pg';

/** A plain pg client with the server's default session (search_path "$user", public), like the new app's. */
async function appQuery<T>(db: DbEndpoint, sql: string): Promise<T[]> {
  const c = new Client({ host: db.host, port: db.port, database: db.database, user: db.user, password: db.password });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

async function relations(db: DbEndpoint) {
  return query<{ schema: string; name: string }>(
    db,
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1, 2`,
  );
}

describe('target tables land in the target schema', () => {
  test('GIVEN the RDS-like login named switchyard (search_path "$user", public) WHEN prepared and copied THEN the tables are in public and the app sees the rows', async () => {
    const pair = await seededPair('sp', 600);
    const source = await asMigrationRole(pair.source);
    const target = await asMigrationRole(pair.target);
    await query(
      pair.source,
      'ALTER TABLE chat_messages OWNER TO switchyard; ALTER TABLE chat_sessions OWNER TO switchyard',
    );
    const spec = parseSpec({
      ...chatHistorySpec,
      tables: chatHistorySpec.tables.map((t) => ({ ...t, chunkSize: 200 })),
    });

    await prepareTarget(spec, source, target);
    for (const t of spec.tables) {
      const layout = await describeTableWith(t, source, target);
      await copyTable(layout, source, target, { runId: 'sp', concurrency: 2 });
      expect((await validateTable(layout, source, target, { runId: 'sp' })).match).toBe(true);
    }

    // The login's own search_path would have put unqualified DDL into the bookkeeping schema `switchyard`.
    const [{ search_path }] = await appQuery<{ search_path: string }>(target, 'SHOW search_path');
    expect(search_path).toBe('"$user", public');
    const rels = await relations(pair.target);
    expect(rels.filter((r) => r.schema === 'public').map((r) => r.name)).toEqual([
      'conversations',
      'messages',
      'messages_message_id_seq',
    ]);
    expect(rels.filter((r) => r.schema === 'switchyard').map((r) => r.name)).toEqual([
      'applied_ddl',
      'copy_chunks',
      'deferred_indexes',
    ]);
    // The new app, with a default session, as the same login and as another one.
    expect(await appQuery<{ n: number }>(target, 'SELECT count(*)::int AS n FROM messages')).toEqual([{ n: 600 }]);
    expect(await appQuery<{ n: number }>(pair.target, 'SELECT count(*)::int AS n FROM messages')).toEqual([{ n: 600 }]);
  });

  test('GIVEN targetSchema app WHEN prepared and copied THEN unqualified DDL, COPY and validation all use app', async () => {
    const { source, target } = await seededPair('sa', 300);
    // (A table parsed before carries its schema: build it afresh so it takes the spec's.)
    const spec = parseSpec({
      ...chatHistorySpec,
      targetSchema: 'app',
      tables: [{ ...chatHistorySpec.tables[1], target: { table: 'messages', key: ['message_id'] }, chunkSize: 100 }],
    });
    await prepareTarget(spec, source, target);
    const layout = await describeTableWith(spec.tables[0], source, target);
    const copy = await copyTable(layout, source, target, { runId: 'app' });
    expect(copy.rowsTotal).toBe(300);
    expect((await validateTable(layout, source, target, { runId: 'app' })).match).toBe(true);
    const rels = await relations(target);
    expect(rels.filter((r) => r.schema === 'app').map((r) => r.name)).toEqual([
      'conversations',
      'messages',
      'messages_message_id_seq',
    ]);
    expect(rels.filter((r) => r.schema === 'public')).toEqual([]);
    expect(await query<{ n: number }>(target, 'SELECT count(*)::int AS n FROM app.messages')).toEqual([{ n: 300 }]);
  });
});
