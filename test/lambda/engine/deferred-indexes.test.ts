import {
  buildDeferredIndexes,
  copyTable,
  type DbEndpoint,
  describeTableWith,
  parseSpec,
  prepareTarget,
  SchemaMismatchError,
  validateTable,
} from '../../../lambda/engine';
import { chatHistorySpec } from '../../../lambda/engine/specs/chat-history';
import { query, seededPair } from '../../support/pg';

/** The example with a foreign key and a unique constraint besides the secondary index, and small chunks. */
const spec = parseSpec({
  ...chatHistorySpec,
  targetDdl: [
    ...chatHistorySpec.targetDdl,
    'ALTER TABLE messages ADD CONSTRAINT messages_conversation_fk FOREIGN KEY (conversation_id) REFERENCES conversations (conversation_id)',
    'ALTER TABLE messages ADD CONSTRAINT messages_created_unique UNIQUE (created_at)',
  ],
  tables: chatHistorySpec.tables.map((t) => ({ ...t, chunkSize: 250 })),
});

async function indexesOf(db: DbEndpoint, table: string) {
  return (
    await query<{ name: string }>(
      db,
      `SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`,
      [table],
    )
  ).map((r) => r.name);
}
async function constraintsOf(db: DbEndpoint, table: string) {
  return (
    await query<{ name: string }>(
      db,
      `SELECT conname AS name FROM pg_constraint WHERE conrelid = $1::regclass AND contype <> 'n' ORDER BY 1`,
      [table],
    )
  ).map((r) => r.name);
}
/** Counts DELETE statements on messages (a sequence keeps counting across rollbacks). */
async function countDeletes(target: DbEndpoint) {
  await query(
    target,
    `CREATE SEQUENCE IF NOT EXISTS deletes; CREATE OR REPLACE FUNCTION count_delete() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN PERFORM nextval(''deletes''); RETURN NULL; END';
                       CREATE OR REPLACE TRIGGER count_delete BEFORE DELETE ON messages FOR EACH STATEMENT EXECUTE FUNCTION count_delete()`,
  );
  return async () =>
    Number(
      (
        await query<{ n: string; called: boolean }>(target, 'SELECT last_value AS n, is_called AS called FROM deletes')
      ).map((r) => (r.called ? r.n : 0))[0],
    );
}

describe('load first, index after', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  beforeAll(async () => {
    ({ source, target } = await seededPair('di', 2_000));
  });

  test('GIVEN deferIndexes is not asked for WHEN prepared THEN every index and constraint is created as written', async () => {
    const other = await seededPair('dn', 10);
    expect((await prepareTarget(spec, other.source, other.target)).deferred).toEqual([]);
    expect(await indexesOf(other.target, 'messages')).toEqual([
      'messages_conversation_idx',
      'messages_created_unique',
      'messages_pkey',
    ]);
  });

  test('GIVEN an empty target WHEN prepared THEN secondary indexes and FK/unique constraints are deferred, the primary key and CHECK stay', async () => {
    const prep = await prepareTarget(spec, source, target, { deferIndexes: true });
    expect([...prep.deferred].sort()).toEqual([
      'public.messages.messages_conversation_fk',
      'public.messages.messages_conversation_idx',
      'public.messages.messages_created_unique',
    ]);
    expect(await indexesOf(target, 'messages')).toEqual(['messages_pkey']);
    expect(await constraintsOf(target, 'messages')).toEqual(['messages_pkey', 'messages_role_check']);
    // a second prepare does not defer or record anything twice
    expect((await prepareTarget(spec, source, target, { deferIndexes: true })).deferred).toEqual([]);
  });

  test('GIVEN a fresh plan WHEN copied THEN no chunk deletes its range; WHEN a chunk is re-copied (resume) THEN it deletes first', async () => {
    const deletes = await countDeletes(target);
    for (const t of spec.tables) {
      const layout = await describeTableWith(t, source, target);
      expect((await copyTable(layout, source, target, { runId: 'di', concurrency: 2 })).rowsTotal).toBeGreaterThan(0);
    }
    expect(await deletes()).toBe(0);
    const layout = await describeTableWith(spec.tables[1], source, target);
    await query(
      target,
      `UPDATE switchyard.copy_chunks SET copied_rows = NULL, copied_at = NULL WHERE run_id = 'di' AND table_name = 'messages' AND chunk_no IN (2, 5)`,
    );
    const again = await copyTable(layout, source, target, { runId: 'di' });
    expect(again.rowsCopied).toBe(500);
    expect(await deletes()).toBe(2);
    expect((await validateTable(layout, source, target, { runId: 'di' })).match).toBe(true);
    await query(target, 'DROP TRIGGER count_delete ON messages');
  });

  test('WHEN buildDeferredIndexes runs after the copy THEN every index and constraint is back, timed, and a second call builds nothing', async () => {
    const r = await buildDeferredIndexes(spec, target, { concurrency: 2 });
    expect(r.built.map((b) => `${b.kind} ${b.name}`).sort()).toEqual([
      'constraint messages_conversation_fk',
      'constraint messages_created_unique',
      'index messages_conversation_idx',
    ]);
    expect(r.built.every((b) => b.seconds >= 0)).toBe(true);
    expect(r.seconds).toBeGreaterThan(0);
    expect(r.pending).toBe(0);
    expect(await indexesOf(target, 'messages')).toEqual([
      'messages_conversation_idx',
      'messages_created_unique',
      'messages_pkey',
    ]);
    expect(await constraintsOf(target, 'messages')).toEqual([
      'messages_conversation_fk',
      'messages_created_unique',
      'messages_pkey',
      'messages_role_check',
    ]);
    expect(
      await query(
        target,
        `SELECT indisvalid AS valid, indisready AS ready FROM pg_index WHERE indexrelid = 'messages_conversation_idx'::regclass`,
      ),
    ).toEqual([{ valid: true, ready: true }]);
    // and the planner knows the table's size (the build ends with ANALYZE)
    expect(await query(target, `SELECT reltuples::int AS n FROM pg_class WHERE oid = 'messages'::regclass`)).toEqual([
      { n: 2_000 },
    ]);
    expect((await buildDeferredIndexes(spec, target)).built).toEqual([]);
  });

  test('fails when a deferred constraint does not hold for the copied rows, naming it, and a fixed rerun finishes', async () => {
    const pair = await seededPair('dx', 300);
    await prepareTarget(spec, pair.source, pair.target, { deferIndexes: true });
    for (const t of spec.tables)
      await copyTable(await describeTableWith(t, pair.source, pair.target), pair.source, pair.target, { runId: 'dx' });
    await query(
      pair.target,
      'UPDATE messages SET created_at = (SELECT created_at FROM messages WHERE message_id = 1) WHERE message_id = 2',
    );
    const err = (await buildDeferredIndexes(spec, pair.target).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(SchemaMismatchError);
    expect(err!.message).toMatch(
      /^building deferred constraint messages_created_unique on public.messages failed: could not create unique index "messages_created_unique" \(SQLSTATE 23505\)$/,
    );
    await query(
      pair.target,
      "UPDATE messages SET created_at = created_at + interval '1 microsecond' WHERE message_id = 2",
    );
    const r = await buildDeferredIndexes(spec, pair.target);
    expect(r.built.map((b) => b.name)).toEqual(['messages_created_unique']);
    expect(r.pending).toBe(0);
  });
});
