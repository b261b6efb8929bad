import {
  ChunkCopyError,
  ChunkDataError,
  connect,
  copyTable,
  type DbEndpoint,
  describeTableWith,
  loadPlan,
  parseSpec,
  prepareTarget,
} from '../../../lambda/engine';
import { ERRORS } from '../../../lambda/core/errors';
import { chatHistorySpec } from '../../../lambda/engine/specs/chat-history';
import { query, seededPair } from '../../support/pg';

const messages = chatHistorySpec.tables[1];
/** A secret-looking value planted in one row: it must never appear in an error. */
const SECRET = 'ssn-123-45-6789';

async function plan(target: DbEndpoint, runId: string) {
  const c = await connect(target);
  try {
    return await loadPlan(c, runId, 'messages');
  } finally {
    await c.end();
  }
}

describe('chunk failures', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;

  beforeAll(async () => {
    ({ source, target } = await seededPair('ce', 1_000));
    // Row 450 (chunk 4 of 100-row chunks) carries a role the target's CHECK refuses, and a secret in its body.
    await query(source, `UPDATE chat_messages SET role = '${SECRET}', body = '${SECRET}' WHERE id = 450`);
  });

  test('fails when a row breaks a target constraint: ChunkDataError names table, chunk, key range, constraint and SQLSTATE, never the value, and is tried once', async () => {
    // GIVEN a spec with 100-row chunks and a target trigger that counts tries of the bad row (a sequence survives rollbacks)
    const spec = parseSpec({ ...chatHistorySpec, tables: [{ ...messages, chunkSize: 100 }] });
    await prepareTarget(spec, source, target);
    await query(
      target,
      `CREATE SEQUENCE tries; CREATE FUNCTION count_try() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN PERFORM nextval(''tries''); RETURN NEW; END';
                         CREATE TRIGGER count_try BEFORE INSERT ON messages FOR EACH ROW WHEN (NEW.message_id = 450) EXECUTE FUNCTION count_try()`,
    );
    const layout = await describeTableWith(spec.tables[0], source, target);
    // WHEN copied one chunk at a time with three tries allowed
    const err = (await copyTable(layout, source, target, { runId: 'bad', concurrency: 1, attempts: 3 }).catch(
      (e: unknown) => e,
    )) as ChunkDataError;
    // THEN a named, non-transient error
    expect(err).toBeInstanceOf(ChunkDataError);
    expect(err.name).toBe(ERRORS.ChunkDataError);
    expect(err.name).not.toBe(ERRORS.ChunkCopyError); // the state machine's Retry matches ChunkCopyError by name
    expect(err.message).toBe(
      'copy of messages chunk 4 (keys [401, 501)) failed and was rolled back at constraint messages_role_check: new row for relation "messages" violates check constraint "messages_role_check" (SQLSTATE 23514)',
    );
    expect(err.message).not.toContain(SECRET);
    expect(JSON.stringify({ ...err, cause: undefined })).not.toContain(SECRET);
    expect(err.cause).toBeUndefined(); // the raw pg error (its detail quotes the row) is not carried along
    expect(err).toMatchObject({ table: 'messages', chunkNo: 4, code: '23514' });
    // tried once: neither the engine nor anything else retried a deterministic failure
    const [{ n }] = await query<{ n: string }>(target, 'SELECT last_value AS n FROM tries');
    expect(Number(n)).toBe(1);
    // the copy stopped: chunks before it are copied, the failed one and every later one were not started
    const chunks = await plan(target, 'bad');
    expect(chunks.filter((c) => c.copiedRows !== null).map((c) => c.chunkNo)).toEqual([0, 1, 2, 3]);
    expect(chunks.filter((c) => c.attempts > 0).map((c) => c.chunkNo)).toEqual([0, 1, 2, 3, 4]);
    await query(target, 'DROP TRIGGER count_try ON messages');
  });

  test('fails when a value does not fit a column type: ChunkDataError names the column without quoting the value', async () => {
    // GIVEN a projection that casts the body to int on the source side: the bad text is data, not a spec error
    const spec = parseSpec({
      ...chatHistorySpec,
      targetDdl: ['CREATE TABLE IF NOT EXISTS numbered (id bigint PRIMARY KEY, n int NOT NULL)'],
      tables: [
        {
          name: 'numbered',
          source: { table: 'chat_messages' },
          key: ['id'],
          target: { table: 'numbered' },
          columns: { n: 'CASE WHEN s.id = 450 THEN s.body ELSE s.id::text END' },
          chunkSize: 300,
        },
      ],
    });
    await prepareTarget(spec, source, target);
    const layout = await describeTableWith(spec.tables[0], source, target);
    const err = (await copyTable(layout, source, target, { runId: 'num', concurrency: 2 }).catch(
      (e: unknown) => e,
    )) as ChunkDataError;
    expect(err).toBeInstanceOf(ChunkDataError);
    expect(err.message).toMatch(
      /^copy of numbered chunk 1 \(keys \[301, 601\)\) failed and was rolled back(?: at column n)?: invalid input syntax for type integer: "…" \(SQLSTATE 22P02\)$/,
    );
    expect(err.message).not.toContain(SECRET);
  });

  test('GIVEN a connection killed on every try WHEN tries run out THEN ChunkCopyError (transient, retried by the state machine)', async () => {
    const spec = parseSpec({ ...chatHistorySpec, tables: [{ ...messages, chunkSize: 500 }] });
    await query(source, `UPDATE chat_messages SET role = 'bot', body = 'ok' WHERE id = 450`);
    await prepareTarget(spec, source, target);
    await query(
      target,
      `CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END';
                         CREATE TRIGGER die BEFORE INSERT ON messages FOR EACH ROW WHEN (NEW.message_id = 700) EXECUTE FUNCTION die()`,
    );
    const layout = await describeTableWith(spec.tables[0], source, target);
    const err = (await copyTable(layout, source, target, { runId: 'die', concurrency: 1, attempts: 2 }).catch(
      (e: unknown) => e,
    )) as ChunkCopyError;
    expect(err).toBeInstanceOf(ChunkCopyError);
    expect(err.name).toBe(ERRORS.ChunkCopyError);
    // the server's 57P01, or the socket error when the client notices the dead connection first
    expect(err.message).toMatch(
      /^copy of messages chunk 1 \(keys \[501, \+inf\)\) failed and was rolled back: (.*\(SQLSTATE 57P01\)|.*(ECONNRESET|EPIPE|Connection terminated).*)$/,
    );
    expect(err.message).not.toMatch(/SQLSTATE E/);
    expect((await plan(target, 'die')).find((c) => c.chunkNo === 1)!.attempts).toBe(2);
    await query(target, 'DROP TRIGGER die ON messages');
  });
});

describe('redactedReason', () => {
  test.each([
    ['invalid input syntax for type integer: "ssn-1"', 'invalid input syntax for type integer: "…"'],
    ['value "12345678901" is out of range for type integer', 'value "…" is out of range for type integer'],
    ['invalid byte sequence for encoding "UTF8": 0xe9 0x41', 'invalid byte sequence for encoding "UTF8": 0x…'],
    ['invalid input value for enum mood: "happy"', 'invalid input value for enum mood: "…"'],
    [
      'null value in column "content" of relation "messages" violates not-null constraint',
      'null value in column "content" of relation "messages" violates not-null constraint',
    ],
  ])('GIVEN %s WHEN redacted THEN values are gone and identifiers stay', async (message, expected) => {
    const { redactedReason } = await import('../../../lambda/engine/errors');
    expect(redactedReason({ message })).toBe(expected);
  });
});

describe('sqlState', () => {
  test.each([
    ['57P01', '57P01'],
    ['23505', '23505'],
    ['XX000', 'XX000'],
    ['EPIPE', undefined], // a socket error noticed before the server's 57P01: an errno name, not a SQLSTATE
    ['ECONNRESET', undefined],
    [undefined, undefined],
  ])('GIVEN code %s THEN the SQLSTATE is %s', async (code, expected) => {
    const { sqlState, describe: describeError } = await import('../../../lambda/engine/errors');
    expect(sqlState({ code, message: 'm' })).toBe(expected);
    expect(describeError({ code, message: 'write EPIPE' })).toBe(
      expected ? `write EPIPE (SQLSTATE ${expected})` : 'write EPIPE',
    );
  });
});
