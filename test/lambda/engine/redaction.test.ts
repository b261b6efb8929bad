import { type DbEndpoint, parseSpec, redactedReason } from '../../../lambda/engine';
import { createSync, roundTripCheck, runSync } from '../../../lambda/engine/sync';
import { query } from '../../support/pg';
import { copyAll, rolePair } from './sync/helpers';

/*
 * No row value in any error: one redaction rule (redactedReason, lambda/engine/errors.ts) on every
 * PostgreSQL message that reaches an error, a log line, a Step Functions cause or a notification.
 * SECRET stands for a row's value: it must never appear.
 */

const SECRET = 'SECRET-4711';

describe('one redaction rule for PostgreSQL messages', () => {
  test.each([
    [`invalid input syntax for type integer: "${SECRET}"`, 'invalid input syntax for type integer: "…"'],
    [`value "${SECRET}" is out of range for type integer`, 'value "…" is out of range for type integer'],
    [`invalid input value for enum mood: "${SECRET}"`, 'invalid input value for enum mood: "…"'],
    [
      `duplicate key value violates unique constraint "items_name_key" DETAIL: Key (name)=(${SECRET}) already exists.`,
      'duplicate key value violates unique constraint "items_name_key" DETAIL: Key (name)=(…) already exists.',
    ],
    [
      `new row for relation "items" violates check constraint "c" DETAIL: Failing row contains (1, ${SECRET}, (2,3)).`,
      'new row for relation "items" violates check constraint "c" DETAIL: Failing row contains (…).',
    ],
    [`malformed array literal: "{${SECRET}"`, 'malformed array literal: "…"'],
    [`syntax error at or near '${SECRET}'`, "syntax error at or near '…'"],
    ['invalid byte sequence for encoding "UTF8": 0x00 0xff', 'invalid byte sequence for encoding "UTF8": 0x…'],
  ])('redacts %s', (raw, redacted) => {
    expect(redactedReason(new Error(raw))).toBe(redacted);
  });

  describe('on the error paths that carry a PostgreSQL message', () => {
    let oldDb: DbEndpoint;
    let newDb: DbEndpoint;
    const spec = (
      reverse: Record<string, string>,
      ddl = 'CREATE TABLE public.items (id bigint PRIMARY KEY, name text NOT NULL)',
    ) =>
      parseSpec({
        version: 1,
        name: 'redact',
        targetDdl: [ddl],
        tables: [
          {
            name: 'items',
            source: { table: 'items' },
            key: ['id'],
            target: { table: 'items' },
            columns: { name: 's.name' },
            reverse,
          },
        ],
      });

    beforeAll(async () => {
      ({ source: oldDb, target: newDb } = await rolePair('syrd', [
        'CREATE TABLE public.items (id bigint PRIMARY KEY, name text NOT NULL)',
      ]));
      await query(oldDb, `INSERT INTO items VALUES (1, $1)`, [SECRET]);
    });

    test('GIVEN a reverse mapping that cannot cast a sampled value WHEN the round-trip check runs THEN its named error carries no value', async () => {
      const s = spec({ name: '(s.name)::int::text' });
      await copyAll(s, oldDb, newDb);
      const err = await roundTripCheck(s, oldDb, newDb).catch((e) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe('SchemaMismatchError');
      expect(err.message).toMatch(/items/);
      expect(`${err.message} ${err.stack}`).not.toContain(SECRET);
    });

    test('GIVEN a change the destination refuses with a message quoting its value WHEN the sync applies it THEN its named error names the table, never the value', async () => {
      await query(
        newDb,
        `CREATE FUNCTION public.only_numbers() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM NEW.name::int; RETURN NEW; END $$`,
      );
      await query(
        newDb,
        `CREATE TRIGGER only_numbers BEFORE INSERT OR UPDATE ON public.items FOR EACH ROW EXECUTE FUNCTION public.only_numbers()`,
      );
      const s = spec({});
      await createSync(oldDb, s, 'redact', 'forward');
      await query(oldDb, `INSERT INTO items VALUES (2, $1)`, [SECRET]);
      const err = await runSync({
        migrationId: 'redact',
        direction: 'forward',
        spec: s,
        source: oldDb,
        target: newDb,
      }).catch((e) => e);
      expect(err.name).toBe('SyncApplyError');
      expect(err.message).toMatch(/slot sy_redact_fwd/);
      expect(err.message).toMatch(/22P02/);
      expect(`${err.message} ${err.stack}`).not.toContain(SECRET);
    });
  });
});
