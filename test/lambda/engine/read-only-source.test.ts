import {
  ChunkDataError,
  copyTable,
  type DbEndpoint,
  describeTableWith,
  type MigrationSpec,
  parseSpec,
  prepareTarget,
  UnsafeExpressionError,
  validateTable,
} from '../../../lambda/engine';
import { chatHistorySpec } from '../../../lambda/engine/specs/chat-history';
import { asMigrationRole, query, seededPair } from '../../support/pg';

const messages = chatHistorySpec.tables[1];

/** Everything an attacker could change in the source: rows, sequences, settings, locks, large objects. */
async function sourceState(db: DbEndpoint) {
  const [r] = await query<Record<string, string>>(
    db,
    `SELECT (SELECT count(*) FROM chat_messages)::text AS n, (SELECT sum(hashtextextended(m::text, 0)) FROM chat_messages m)::text AS h,
            (SELECT count(*) FROM pg_largeobject_metadata)::text AS lo, (SELECT count(*) FROM pg_class WHERE relname = 'stolen')::text AS stolen,
            (SELECT last_value FROM probe_seq)::text AS seq`,
  );
  return r;
}

const withColumn = (col: string, expr: string) => ({
  ...chatHistorySpec,
  tables: [{ ...messages, columns: { ...messages.columns, [col]: expr } }],
});
const withQuery = (q: string) => ({
  ...chatHistorySpec,
  tables: [{ ...messages, source: { query: q } }],
});

const ATTACKS: [string, () => unknown][] = [
  [
    'a second statement after the source query',
    () => withQuery('SELECT * FROM chat_messages; DELETE FROM chat_messages'),
  ],
  ['a statement hidden behind a comment', () => withQuery('SELECT * FROM chat_messages /* ; */ WHERE true')],
  [
    'a line comment swallowing the rest of the wrapper',
    () => withColumn('content', 's.body -- ) FROM chat_messages s; DELETE FROM chat_messages; SELECT (1'),
  ],
  ['dollar quoting that hides a quote from naive scanners', () => withColumn('content', "$$'$$ || (SELECT 1)::text")],
  [
    'set_config turning the read-only default off',
    () => withColumn('content', "set_config('default_transaction_read_only', 'off', false)"),
  ],
  [
    'a schema-qualified set_config',
    () => withColumn('content', "pg_catalog.set_config('transaction_read_only', 'off', true)"),
  ],
  ['an advisory lock', () => withColumn('content', 'pg_advisory_lock(1)::text')],
  ['nextval', () => withColumn('content', "nextval('probe_seq')::text")],
  ['setval', () => withColumn('content', "setval('probe_seq', 1)::text")],
  [
    'dblink',
    () => withColumn('content', "(SELECT x FROM dblink('dbname=x', 'DELETE FROM chat_messages') AS t(x text))"),
  ],
  ['a large-object write', () => withColumn('content', 'lo_create(0)::text')],
  ['terminating other sessions', () => withColumn('content', 'pg_terminate_backend(1)::text')],
  ['cancelling other sessions', () => withColumn('content', 'pg_cancel_backend(1)::text')],
  ['a writable CTE', () => withQuery('WITH d AS (DELETE FROM chat_messages RETURNING *) SELECT * FROM d')],
  [
    'an UPDATE inside a scalar subquery',
    () =>
      withColumn(
        'content',
        "(WITH u AS (UPDATE chat_messages SET body = 'x' RETURNING body) SELECT body FROM u LIMIT 1)",
      ),
  ],
  [
    'a MERGE',
    () =>
      withQuery(
        'WITH m AS (MERGE INTO chat_messages c USING chat_messages d ON c.id = d.id WHEN MATCHED THEN DELETE RETURNING c.*) SELECT * FROM m',
      ),
  ],
  ['SELECT … INTO', () => withQuery('SELECT * INTO stolen FROM chat_messages')],
  ['FOR UPDATE', () => withQuery('SELECT * FROM chat_messages FOR UPDATE')],
  ['COPY', () => withColumn('content', "(COPY chat_messages TO '/tmp/x')")],
  [
    'query_to_xml running SQL text',
    () => withColumn('content', "query_to_xml('DELETE FROM chat_messages RETURNING 1', true, false, '')::text"),
  ],
  ['an unbalanced parenthesis escaping the wrapper', () => withColumn('content', 's.body) AS x, (s.body')],
];

describe('the source stays read-only', () => {
  let admin: DbEndpoint; // the superuser: sets up and inspects
  let source: DbEndpoint; // the migration login: LOGIN REPLICATION, owns the database and schema public, not superuser
  let target: DbEndpoint;
  let before: Record<string, string>;

  beforeAll(async () => {
    const pair = await seededPair('ro', 400);
    admin = pair.source;
    await query(admin, 'CREATE SEQUENCE probe_seq');
    source = await asMigrationRole(pair.source);
    target = await asMigrationRole(pair.target);
    // On RDS the migration login owns the app's tables (the master user created them).
    await query(admin, 'ALTER TABLE chat_messages OWNER TO switchyard; ALTER TABLE chat_sessions OWNER TO switchyard');
    before = await sourceState(admin);
  });

  test.each(ATTACKS)(
    'fails when a spec carries %s, with UnsafeExpressionError naming the table and column',
    async (_name, make) => {
      // GIVEN the spec text WHEN parsed THEN it is refused before any database is touched
      const err = (() => {
        try {
          parseSpec(make());
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(UnsafeExpressionError);
      expect(err!.name).toBe('UnsafeExpressionError');
      expect(err!.message).toMatch(/table messages: (column content|source query) /);
      // WHEN a caller skips parseSpec THEN the engine refuses it too, and the source is unchanged
      const unparsed = { ...(make() as MigrationSpec), targetSchema: 'public' } as MigrationSpec;
      await expect(prepareTarget(unparsed, source, target)).rejects.toThrow(UnsafeExpressionError);
      await expect(describeTableWith(unparsed.tables[0], source, target)).rejects.toThrow(UnsafeExpressionError);
      expect(await sourceState(admin)).toEqual(before);
    },
  );

  test('GIVEN strings and quoted identifiers that look like attacks WHEN parsed THEN they are accepted', () => {
    const ok = parseSpec(
      withColumn('content', `coalesce(s.body, 'x; DELETE FROM t -- /* $$ set_config( ') || E'\\'; drop' || s."body"`),
    );
    expect(ok.tables[0].columns.content).toContain('DELETE');
    expect(() =>
      parseSpec(
        withQuery(`SELECT m.id, m.body AS "update; delete", m.* FROM chat_messages m WHERE m.body <> 'for update'`),
      ),
    ).not.toThrow();
    expect(() => parseSpec(withColumn('content', 'substring(s.body FROM 1 FOR 3) || s.update'))).not.toThrow(); // a column named update, after a dot
    expect(() =>
      parseSpec(withQuery('SELECT * FROM chat_messages m ORDER BY m.id FETCH FIRST 10 ROWS ONLY')),
    ).not.toThrow();
  });

  test('fails when a function with side effects gets past the check: every source transaction is READ ONLY, even after set_config in an earlier one', async () => {
    // GIVEN source functions the static check cannot see into: one switches the session's read-only default off, one deletes
    await query(
      source,
      `CREATE FUNCTION sneaky(x bigint) RETURNS text LANGUAGE plpgsql AS 'BEGIN PERFORM set_config(''default_transaction_read_only'', ''off'', false); RETURN x::text; END'`,
    );
    await query(
      source,
      `CREATE FUNCTION evil(x bigint) RETURNS text LANGUAGE plpgsql AS 'BEGIN DELETE FROM chat_messages WHERE id = x; RETURN x::text; END'`,
    );
    const spec = parseSpec({
      ...chatHistorySpec,
      tables: [
        {
          ...messages,
          columns: { ...messages.columns, content: 'CASE WHEN s.id <= 100 THEN sneaky(s.id) ELSE evil(s.id) END' },
          chunkSize: 100,
        },
      ],
    });
    await prepareTarget(spec, source, target);
    const layout = await describeTableWith(spec.tables[0], source, target);
    // WHEN copied on one connection pair (chunk 0 runs sneaky, chunk 1 runs evil on the same session)
    const err = await copyTable(layout, source, target, { runId: 'ro', concurrency: 1 }).catch(
      (e: unknown) => e as Error,
    );
    // THEN the write is refused by the server and named, and the source is unchanged
    expect(err).toBeInstanceOf(ChunkDataError);
    expect((err as Error).message).toMatch(
      /copy of messages chunk 1 \(keys \[101, 201\)\) failed .*read-only transaction.*\(SQLSTATE 25006\)/,
    );
    expect(await sourceState(admin)).toEqual(before);
  });

  test('GIVEN a read-only role in the source config WHEN the engine reads THEN it runs as that role', async () => {
    await query(
      admin,
      `DO $$ BEGIN CREATE ROLE switchyard_reader NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
                         GRANT switchyard_reader TO switchyard; GRANT SELECT ON ALL TABLES IN SCHEMA public TO switchyard_reader`,
    );
    const reader = { ...source, readOnlyRole: 'switchyard_reader' };
    const spec = parseSpec({ ...chatHistorySpec, tables: [{ ...messages, chunkSize: 150 }] });
    await prepareTarget(spec, reader, target);
    const layout = await describeTableWith(spec.tables[0], reader, target);
    const copy = await copyTable(layout, reader, target, { runId: 'reader', concurrency: 2 });
    expect(copy).toMatchObject({ complete: true, rowsTotal: 400 });
    expect((await validateTable(layout, reader, target, { runId: 'reader' })).match).toBe(true);
    const { connect } = await import('../../../lambda/engine');
    const c = await connect(reader, { readOnly: true });
    try {
      expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe('switchyard_reader');
      await expect(c.query('BEGIN; SET TRANSACTION READ WRITE; DELETE FROM chat_messages')).rejects.toThrow(
        /permission denied/,
      );
    } finally {
      await c.end();
    }
    expect(await sourceState(admin)).toEqual(before);
  });
});
