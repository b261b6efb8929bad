import { seedChatHistory } from '../../../lambda/rehearsal/chat-history-seed';
import {
  ChunkCopyError,
  connect,
  copyTable,
  DatabaseUnreachableError,
  type DbEndpoint,
  describeTableWith,
  loadPlan,
  loadSpecFile,
  type MigrationSpec,
  parseSpec,
  prepareTarget,
  SchemaMismatchError,
  SpecError,
  validateTable,
} from '../../../lambda/engine';
import { chatHistorySpec } from '../../../lambda/engine/specs/chat-history';
import { freshDatabase, query, seededPair } from '../../support/pg';

const ROWS = 5_000;
/** The example spec with small chunks so every test crosses many chunk boundaries. */
const spec: MigrationSpec = {
  ...chatHistorySpec,
  tables: chatHistorySpec.tables.map((t) => ({ ...t, chunkSize: 700 })),
};

async function sourceFingerprint(db: DbEndpoint) {
  return query(
    db,
    `SELECT (SELECT count(*) FROM chat_messages)::int AS m, (SELECT sum(hashtextextended(c::text, 0)) FROM chat_messages c)::text AS hm,
                           (SELECT sum(hashtextextended(c::text, 0)) FROM chat_sessions c)::text AS hs`,
  );
}

async function migrate(source: DbEndpoint, target: DbEndpoint, runId: string, concurrency = 2) {
  await prepareTarget(spec, source, target);
  const out = [];
  for (const t of spec.tables) {
    const layout = await describeTableWith(t, source, target);
    out.push(await copyTable(layout, source, target, { runId, concurrency }));
  }
  return out;
}

async function validateAll(source: DbEndpoint, target: DbEndpoint, runId: string) {
  const out = [];
  for (const t of spec.tables)
    out.push(
      await validateTable(await describeTableWith(t, source, target), source, target, { runId, concurrency: 2 }),
    );
  return out;
}

describe('data engine on the chat-history example', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  let before: unknown;

  beforeAll(async () => {
    source = await freshDatabase('src');
    target = await freshDatabase('tgt');
    const c = await connect(source);
    await seedChatHistory(c, ROWS);
    await c.end();
    before = await sourceFingerprint(source);
  });

  test('GIVEN the old schema WHEN copied THEN every row arrives, mapped, and validation reports a 100% match', async () => {
    const copies = await migrate(source, target, 'run-1');
    expect(copies.map((c) => [c.table, c.rowsTotal, c.complete])).toEqual([
      ['conversations', ROWS / 20, true],
      ['messages', ROWS, true],
    ]);
    expect(copies[1].chunks).toBe(Math.ceil(ROWS / 700));

    const report = await validateAll(source, target, 'run-1');
    for (const r of report) {
      expect(r.match).toBe(true);
      expect(r.source).toEqual(r.target);
      expect(r.differences).toEqual({ missing: [], extra: [], changed: [], truncated: false });
    }
    expect(report[1].source.rows).toBe(ROWS);

    const roles = await query<{ role: string; n: number }>(
      target,
      'SELECT role, count(*)::int AS n FROM messages GROUP BY role ORDER BY role',
    );
    expect(roles.map((r) => r.role)).toEqual(['assistant', 'system', 'tool', 'user']);
    const [m] = await query<{ metadata: unknown; content: string }>(
      target,
      'SELECT metadata, content FROM messages WHERE message_id = 3',
    );
    expect(m.metadata).toEqual({ legacy: 'client=ios;v=3' });
    const [empty] = await query<{ metadata: unknown }>(target, 'SELECT metadata FROM messages WHERE message_id = 5');
    expect(empty.metadata).toEqual({});
    const [conv] = await query<{ title: string; started_at: Date; owner: string }>(
      target,
      'SELECT title, started_at, owner FROM conversations WHERE conversation_id = 7',
    );
    expect(conv.title).toBe('Untitled');
    expect(conv.owner).toBe('user_7');
    expect(conv.started_at.toISOString()).toBe('2024-01-01T00:07:00.000Z');
  });

  test('re-running prepare and copy is idempotent: nothing is applied or copied twice', async () => {
    const prep = await prepareTarget(spec, source, target);
    expect(prep).toMatchObject({ ddlApplied: 0, ddlSkipped: chatHistorySpec.targetDdl.length });
    const copies = await migrate(source, target, 'run-1');
    expect(copies.every((c) => c.rowsCopied === 0 && c.complete)).toBe(true);
    const [{ n }] = await query<{ n: number }>(target, 'SELECT count(*)::int AS n FROM messages');
    expect(n).toBe(ROWS);
  });

  test('a new run id re-copies every chunk and converges to the same rows', async () => {
    const copies = await migrate(source, target, 'run-2', 3);
    expect(copies[1].rowsCopied).toBe(ROWS);
    expect((await validateAll(source, target, 'run-2')).every((r) => r.match)).toBe(true);
  });

  test('GIVEN rows changed, deleted and added in the target WHEN validated THEN each differing key is named', async () => {
    await query(target, "UPDATE messages SET content = 'tampered' WHERE message_id = 1234");
    await query(target, 'DELETE FROM messages WHERE message_id = 4321');
    await query(target, "INSERT INTO messages SELECT 999999, 1, 'user', 'x', '{}', now(), now()");
    const layout = await describeTableWith(spec.tables[1], source, target);
    const r = await validateTable(layout, source, target, { runId: 'run-2', leafRows: 64 });
    expect(r.match).toBe(false);
    expect(r.differences).toEqual({ missing: [['4321']], extra: [['999999']], changed: [['1234']], truncated: false });
    expect(r.source.rows).toBe(ROWS);
    expect(r.target.rows).toBe(ROWS);
    expect(r.mismatchedChunks.length).toBeGreaterThanOrEqual(2);
    // Re-copying the run repairs it.
    await query(
      target,
      `UPDATE switchyard.copy_chunks SET copied_at = NULL, copied_rows = NULL WHERE run_id = 'run-2' AND chunk_no = ANY($1)`,
      [r.mismatchedChunks],
    );
    await copyTable(layout, source, target, { runId: 'run-2' });
    expect((await validateTable(layout, source, target, { runId: 'run-2' })).match).toBe(true);
  });

  test('the source is only ever read', async () => {
    // Restore the rows the catch-up test added, then compare with the fingerprint taken after seeding.
    await query(source, 'DELETE FROM chat_messages WHERE id = 100001; DELETE FROM chat_sessions WHERE id = 100001');
    const c = await connect(source, { readOnly: true });
    await expect(c.query('DELETE FROM chat_messages')).rejects.toThrow(/read-only transaction/);
    await c.end();
    const after = await query(source, 'SELECT count(*)::int AS m FROM chat_messages');
    expect(after[0].m).toBe((before as { m: number }[])[0].m);
  });
});

describe('a connection killed mid-chunk', () => {
  test('GIVEN the target connection dies during a COPY WHEN the copy is rerun THEN it resumes and matches exactly', async () => {
    const { source, target } = await seededPair('k', 3_000);
    await prepareTarget(spec, source, target);
    // A trigger that stalls one row, so the COPY of its chunk is reliably in flight when we kill it.
    await query(
      target,
      `CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$;
                         CREATE TRIGGER stall BEFORE INSERT ON messages FOR EACH ROW WHEN (NEW.message_id = 1500) EXECUTE FUNCTION stall()`,
    );
    const layout = await describeTableWith(spec.tables[1], source, target);
    const copying = copyTable(layout, source, target, { runId: 'kill', concurrency: 2, attempts: 1 }).catch(
      (e: unknown) => e,
    );
    let killed = 0;
    for (let i = 0; i < 200 && !killed; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const rows = await query<{ ok: boolean }>(
        target,
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`,
      );
      killed = rows.length;
    }
    expect(killed).toBe(1);
    const err = (await copying) as Error;
    expect(err).toBeInstanceOf(ChunkCopyError);
    expect(err.name).toBe('ChunkCopyError');
    expect(err.message).toMatch(
      /copy of messages chunk 2 \(keys \[1401, 2101\)\) failed and was rolled back: .*\(SQLSTATE 57P01\)/,
    );
    await query(target, 'DROP TRIGGER stall ON messages');

    const killedChunk = (await loadPlanOf(target, 'kill')).find((ch) => ch.chunkNo === 2)!;
    expect(killedChunk.copiedRows).toBeNull();
    const [{ n }] = await query<{ n: number }>(
      target,
      'SELECT count(*)::int AS n FROM messages WHERE message_id BETWEEN 1401 AND 2100',
    );
    expect(n).toBe(0); // the killed chunk's transaction left nothing behind

    const resumed = await copyTable(layout, source, target, { runId: 'kill', concurrency: 2 });
    expect(resumed.complete).toBe(true);
    expect(resumed.rowsTotal).toBe(3_000);
    expect(resumed.rowsCopied).toBeLessThan(3_000);
    const v = await validateTable(layout, source, target, { runId: 'kill' });
    expect(v.match).toBe(true);
    expect(v.target.rows).toBe(3_000);
  });
});

describe('a transient failure with retries left', () => {
  test('GIVEN a chunk connection killed once WHEN attempts remain THEN the chunk is retried and the copy completes', async () => {
    const { source, target } = await seededPair('r', 2_000);
    await prepareTarget(spec, source, target);
    // Stall row 900 only while the flag row exists; the test removes the flag as it kills the backend.
    await query(
      target,
      `CREATE TABLE flag (x int); INSERT INTO flag VALUES (1);
      CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT 1 FROM flag) THEN PERFORM pg_sleep(30); END IF; RETURN NEW; END $$;
      CREATE TRIGGER stall BEFORE INSERT ON messages FOR EACH ROW WHEN (NEW.message_id = 900) EXECUTE FUNCTION stall()`,
    );
    const layout = await describeTableWith(spec.tables[1], source, target);
    const copying = copyTable(layout, source, target, { runId: 'retry', attempts: 3 }).catch((e: unknown) => e);
    let killed = 0;
    for (let i = 0; i < 200 && !killed; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const sleeping = await query<{ pid: number }>(
        target,
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`,
      );
      if (!sleeping.length) continue;
      await query(target, 'DELETE FROM flag');
      killed = (await query(target, 'SELECT pg_terminate_backend($1)', [sleeping[0].pid])).length;
    }
    expect(killed).toBe(1);
    const result = await copying;
    expect(result).toMatchObject({ complete: true, rowsTotal: 2_000 });
    expect((await validateTable(layout, source, target, { runId: 'retry' })).match).toBe(true);
  });
});

async function loadPlanOf(target: DbEndpoint, runId: string) {
  const c = await connect(target);
  try {
    return await loadPlan(c, runId, 'messages');
  } finally {
    await c.end();
  }
}

describe('bad specs and unreachable databases', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  beforeAll(async () => {
    ({ source, target } = await seededPair('b', 100));
  });

  const withTable = (patch: Record<string, unknown>) =>
    parseSpec({ ...chatHistorySpec, tables: [{ ...chatHistorySpec.tables[1], ...patch }] });

  async function targetTables() {
    return (
      await query<{ t: string }>(
        target,
        "SELECT tablename AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
      )
    ).map((r) => r.t);
  }

  test('fails when the source table is missing, naming it, before any write', async () => {
    const bad = withTable({ source: { table: 'chat_mesages' } });
    await expect(prepareTarget(bad, source, target)).rejects.toThrow(SchemaMismatchError);
    await expect(prepareTarget(bad, source, target)).rejects.toThrow(
      /table messages: source table chat_mesages cannot be read: relation "public.chat_mesages" does not exist/,
    );
    expect(await targetTables()).toEqual([]);
  });

  test('fails when an expression references a missing column, naming the target column', async () => {
    const bad = withTable({ columns: { ...chatHistorySpec.tables[1].columns, content: 's.text' } });
    await expect(prepareTarget(bad, source, target)).rejects.toThrow(
      /expression for target column content \(s.text\) does not work on the source table chat_messages: column s.text does not exist/,
    );
    expect(await targetTables()).toEqual([]);
  });

  test('fails when the target lacks a mapped column, and rolls its DDL back', async () => {
    const bad = withTable({ columns: { ...chatHistorySpec.tables[1].columns, sentiment: "'neutral'" } });
    await expect(prepareTarget(bad, source, target)).rejects.toThrow(
      'table messages: target table public.messages has no column sentiment',
    );
    expect(await targetTables()).toEqual([]);
  });

  test('fails when the watermark column is missing', async () => {
    await expect(prepareTarget(withTable({ watermark: 'modified_at' }), source, target)).rejects.toThrow(
      /watermark column modified_at is missing/,
    );
  });

  test('fails when a spec is malformed, naming every field', () => {
    expect(() =>
      parseSpec({
        version: 2,
        name: 'X',
        tables: [{ name: 'a', source: { table: 'a"; drop' }, key: [], target: { table: 'b' }, columns: {} }],
      }),
    ).toThrow(SpecError);
    try {
      parseSpec({
        version: 1,
        name: 'x',
        tables: [{ name: 'a', source: { table: 'a"; drop' }, key: [], target: { table: 'b' }, columns: {} }],
      });
    } catch (e) {
      expect((e as Error).message).toContain('tables.0.source');
      expect((e as Error).message).toContain('tables.0.key must name at least one key column');
    }
  });

  test('fails when a key column is also mapped', () => {
    expect(() => withTable({ columns: { message_id: 's.id' } })).toThrow('tables.0.columns.message_id is a key column');
  });

  test('fails with DatabaseUnreachableError naming host and port but never the password', async () => {
    const down = { ...source, port: 1, password: 'hunter2-secret' };
    const err = await prepareTarget(spec, down, target).catch((e) => e);
    expect(err).toBeInstanceOf(DatabaseUnreachableError);
    expect(err.message).toContain('cannot connect to 127.0.0.1:1/');
    expect(err.message).not.toContain('hunter2-secret');
  });
});

describe('spec files', () => {
  const fs = jest.requireActual('fs') as typeof import('fs');
  const os = jest.requireActual('os') as typeof import('os');
  const path = jest.requireActual('path') as typeof import('path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specs-'));

  test('a JSON spec file loads and validates', () => {
    const file = path.join(dir, 'ok.json');
    fs.writeFileSync(file, JSON.stringify(chatHistorySpec));
    expect(loadSpecFile(file).tables.map((t) => t.name)).toEqual(['conversations', 'messages']);
  });

  test('fails with SpecError when the file is missing or not JSON', () => {
    expect(() => loadSpecFile(path.join(dir, 'missing.json'))).toThrow(/cannot read spec file .*missing.json/);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{ nope');
    expect(() => loadSpecFile(bad)).toThrow(SpecError);
    expect(() => loadSpecFile(bad)).toThrow(/is not valid JSON/);
  });
});
