import { syncCommand } from '../../bin/cli/sync';
import { syncSwitchoverCommand } from '../../bin/cli/sync-lifecycle';
import type { DbEndpoint } from '../../lambda/engine';
import { postgresUrl, rolePair } from '../lambda/engine/sync/helpers';
import { query } from '../support/pg';
import { cliSyncPrefix, switchyardFootprint } from './support/catalog';
import {
  appInsertsOnTarget,
  cleanup,
  cliIo,
  missingWrites,
  REAL_SCHEMA,
  REAL_SEED,
  type RealSyncOutcome,
  syncUnderWrites,
  tableContents,
} from './support/real-schema';

/**
 * `switchyard sync` (no spec) on a schema as applications write them (see support/real-schema.ts),
 * with writers on the source through the copy and the streaming sync, then switchover.
 * The same scenario runs on every major and cross-version pair in test/versions/real-schemas.test.ts.
 */
describe('switchyard sync: a real application schema under live writes', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  let run: RealSyncOutcome;

  beforeAll(async () => {
    ({ source, target } = await rolePair('syreal', [...REAL_SCHEMA, ...REAL_SEED]));
    // The writers keep writing until the switchover's fence ends their sessions.
    run = await syncUnderWrites(source, target, { throughSwitchover: true });
  }, 150_000);

  afterAll(async () => {
    if (source) await cleanup(source, target);
  });

  test('GIVEN writers through the copy, the stream and the switchover WHEN the fence stops them THEN both exit 0', () => {
    expect(run.syncErr).not.toMatch(/^error/m);
    expect(run.syncCode).toBe(0);
    expect(run.switchoverText).not.toMatch(/^error/m);
    expect(run.switchoverCode).toBe(0);
    expect(run.duringStream).toBeGreaterThan(0);
    expect(run.fencedWriters).toBe(3);
  });

  test('GIVEN the switchover WHEN every table is compared by key as text THEN the target equals the source', async () => {
    expect(await tableContents(target)).toEqual(await tableContents(source));
  });

  test('GIVEN the ledger of acknowledged writes WHEN read on the target THEN every one is there (and every delete)', async () => {
    expect(run.ledger.size).toBeGreaterThan(50);
    expect(await missingWrites(target, run.ledger)).toEqual([]);
  });

  test('GIVEN the target schema WHEN compared with the source THEN identity, enum, generated, partitions and keys are kept', async () => {
    const kinds = `SELECT a.attname::text AS col, format_type(a.atttypid, a.atttypmod) AS type, a.attidentity AS ident,
                          a.attgenerated AS gen FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0
                      AND NOT a.attisdropped ORDER BY a.attnum`;
    for (const t of [
      'shop.customers',
      'shop.orders',
      'shop."Order Items"',
      'shop.invoices',
      'shop.events',
      'shop.customer_tags',
    ])
      expect({ [t]: await query(target, kinds, [t]) }).toEqual({ [t]: await query(source, kinds, [t]) });
    // A partitioned table arrives as one plain table: its partitions' own keys are not there.
    const fks = `SELECT conname::text, pg_get_constraintdef(oid) AS def, condeferrable, condeferred FROM pg_constraint k
                  WHERE connamespace = 'shop'::regnamespace AND contype IN ('f', 'c', 'u', 'p')
                    AND NOT EXISTS (SELECT 1 FROM pg_class p WHERE p.oid = k.conrelid AND p.relispartition) ORDER BY 1`;
    expect(await query(target, fks)).toEqual(await query(source, fks));
  });

  test('GIVEN the switchover WHEN the application inserts on the target without ids THEN defaults and sequences work', async () => {
    expect(await appInsertsOnTarget(source, target)).toEqual({
      customerIdPastSource: true,
      generatedTax: true,
      invoiceIdPastSource: true,
      invoiceNumberPastSource: true,
      eventIdPastSource: true,
    });
    await expect(
      query(target, `INSERT INTO shop.customers ("Email", "displayName") VALUES ('no-at-sign', 'x')`),
    ).rejects.toThrow(/Email/);
  });
});

/**
 * Known failure (for the lead): introspect.ts creates enum types but not domain types, so the
 * target's CREATE TABLE fails with `type "shop.email" does not exist` (SchemaMismatchError) and
 * nothing is copied. Fix: catalogDomains in introspect-catalog.ts and CREATE DOMAIN statements
 * (before the sequences and tables) in introspectSchema; see the report of branch wip/schemas.
 */
describe('switchyard sync: a domain type', () => {
  test('GIVEN a column of a domain type WHEN sync --once runs THEN the target has the domain and the rows', async () => {
    const { source, target } = await rolePair('sydomain', [
      `CREATE SCHEMA shop`,
      `CREATE DOMAIN shop.email AS text NOT NULL CHECK (VALUE LIKE '%@%')`,
      `CREATE TABLE shop.people (id bigserial PRIMARY KEY, "Email" shop.email, emails shop.email[])`,
      `INSERT INTO shop.people ("Email", emails) SELECT 'p' || g || '@example.com', ARRAY['a@b'] FROM generate_series(1, 20) g`,
    ]);
    const flags = { source: postgresUrl(source), target: postgresUrl(target) };
    const r = cliIo();
    expect(await syncCommand({ ...flags, once: true }, r.io)).toBe(0);
    const domain = `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'shop.people'::regclass AND attnum > 0 ORDER BY attnum`;
    expect(await query(target, domain)).toEqual(await query(source, domain));
    expect(await query(target, `SELECT p::text FROM shop.people p ORDER BY id`)).toEqual(
      await query(source, `SELECT p::text FROM shop.people p ORDER BY id`),
    );
    await expect(query(target, `INSERT INTO shop.people ("Email") VALUES ('no-at-sign')`)).rejects.toThrow(/email/);
    await cleanup(source, target);
  });
});

/**
 * Schemas that lean on an extension (uuid-ossp defaults, citext columns) or on their own function
 * in a default: the target needs them before its CREATE TABLE.
 */
describe('switchyard sync: extensions and functions the tables use', () => {
  const DDL = [
    `CREATE EXTENSION IF NOT EXISTS "uuid-ossp"`,
    `CREATE EXTENSION IF NOT EXISTS citext`,
    `CREATE FUNCTION public.next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'C-' || floor(random() * 1e9)::text $$`,
    `CREATE TABLE public.accounts (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), login citext NOT NULL UNIQUE,
       code text NOT NULL DEFAULT public.next_code())`,
    `INSERT INTO public.accounts (login) SELECT 'User' || g FROM generate_series(1, 20) g`,
  ];

  test('GIVEN the extensions and the function already on the target WHEN sync --once runs THEN it copies and the app inserts', async () => {
    const { source, target } = await rolePair('syext', DDL);
    for (const s of DDL.slice(0, 3)) await query(target, s);
    const r = cliIo();
    expect(await syncCommand({ source: postgresUrl(source), target: postgresUrl(target), once: true }, r.io)).toBe(0);
    expect(await query(target, `SELECT a::text FROM accounts a ORDER BY id`)).toEqual(
      await query(source, `SELECT a::text FROM accounts a ORDER BY id`),
    );
    await query(target, `INSERT INTO accounts (login) VALUES ('new')`);
    await expect(query(target, `INSERT INTO accounts (login) VALUES ('USER1')`)).rejects.toThrow(/unique/);
    await cleanup(source, target);
  });

  test('GIVEN a target without the function WHEN sync runs THEN it is refused by name before anything is created', async () => {
    const { source, target } = await rolePair('syext2', DDL);
    const before = await switchyardFootprint(source, cliSyncPrefix(source, target));
    const r = cliIo();
    expect(await syncCommand({ source: postgresUrl(source), target: postgresUrl(target), once: true }, r.io)).toBe(1);
    expect(r.text.err).toContain('error SchemaMismatchError: the target lacks what the source tables use');
    expect(r.text.err).toContain(
      'function public.next_code() (used by the default of public.accounts.code) is missing',
    );
    expect(await switchyardFootprint(source, cliSyncPrefix(source, target))).toEqual(before);
    expect(await query(target, `SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'`)).toEqual([]);

    // With the function there, the extensions the tables use are created on the target, and the sync runs.
    await query(target, DDL[2]);
    const again = cliIo();
    expect(await syncCommand({ source: postgresUrl(source), target: postgresUrl(target), once: true }, again.io)).toBe(
      0,
    );
    expect(again.text.err).toContain(
      'target: created extension(s) the tables use: citext (schema public), uuid-ossp (schema public)',
    );
    expect(await query(target, `SELECT a::text FROM accounts a ORDER BY id`)).toEqual(
      await query(source, `SELECT a::text FROM accounts a ORDER BY id`),
    );
    await query(target, `INSERT INTO accounts (login) VALUES ('new')`);
    await cleanup(source, target);
  });
});

describe('switchyard sync: an unlogged table', () => {
  test('GIVEN an UNLOGGED table WHEN sync runs THEN it is refused by name before anything is created', async () => {
    const { source, target } = await rolePair('syunlog', [
      `CREATE TABLE public.items (id int PRIMARY KEY)`,
      `CREATE UNLOGGED TABLE public.sessions (k text PRIMARY KEY, v text)`,
    ]);
    const before = await switchyardFootprint(source, cliSyncPrefix(source, target));
    const r = cliIo();
    expect(await syncCommand({ source: postgresUrl(source), target: postgresUrl(target), once: true }, r.io)).toBe(1);
    expect(r.text.err).toContain('error ReplicationNotConfiguredError: unlogged table(s) public.sessions:');
    expect(r.text.err).toContain('--table');
    expect(await switchyardFootprint(source, cliSyncPrefix(source, target))).toEqual(before);
    const r2 = cliIo();
    const tables = ['items'];
    expect(
      await syncCommand({ source: postgresUrl(source), target: postgresUrl(target), tables, once: true }, r2.io),
    ).toBe(0);
    await cleanup(source, target);
  });
});

/**
 * Known failure (for the lead): the rollback window (`switchover --reverse`) applies the target's
 * new rows into the source, whose identity column is GENERATED ALWAYS: `cannot insert a
 * non-DEFAULT value into column "id"` (SyncApplyError), the reverse sync stops. Cause:
 * sync/apply.ts applyUpserts inserts without OVERRIDING SYSTEM VALUE; the one-word fix is in the
 * report of branch wip/schemas (with it this test passes).
 */
describe('switchyard sync switchover --reverse: a GENERATED ALWAYS identity on the source', () => {
  test('GIVEN writes on the target after switchover WHEN they flow back THEN the source gets every one', async () => {
    const { source, target } = await rolePair('syrevid', [
      `CREATE SCHEMA shop`,
      `CREATE TABLE shop.customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text, total numeric,
         tax numeric GENERATED ALWAYS AS (total * 2) STORED)`,
      `CREATE TABLE shop."Order Items" ("orderId" int, "lineNo" int, "gift note" text, PRIMARY KEY ("orderId", "lineNo"))`,
      `INSERT INTO shop.customers (name, total) SELECT 'c' || g, g FROM generate_series(1, 10) g`,
      `INSERT INTO shop."Order Items" SELECT g, 1, 'n' FROM generate_series(1, 10) g`,
    ]);
    const flags = { source: postgresUrl(source), target: postgresUrl(target) };
    expect(await syncCommand({ ...flags, once: true }, cliIo().io)).toBe(0);
    const ac = new AbortController();
    const sw = cliIo(ac.signal);
    const running = syncSwitchoverCommand({ ...flags, maxLagBytes: 1 << 30, reverse: true }, sw.io);
    const deadline = Date.now() + 120_000;
    while (!/following/.test(sw.text.err) && !/^error/m.test(sw.text.err) && Date.now() < deadline)
      await new Promise((x) => setTimeout(x, 100));
    await query(target, `INSERT INTO shop.customers (name, total) VALUES ('on target', 5)`);
    await query(target, `UPDATE shop.customers SET name = 'upd', total = 7 WHERE id = 1`);
    await query(target, `INSERT INTO shop."Order Items" VALUES (99, 1, 'x')`);
    await query(target, `UPDATE shop."Order Items" SET "lineNo" = 2 WHERE "orderId" = 1`);
    await query(target, `DELETE FROM shop."Order Items" WHERE "orderId" = 2`);
    ac.abort();
    expect(await running).toBe(0);
    for (const t of ['shop.customers', 'shop."Order Items"'])
      expect({ [t]: await query(source, `SELECT x::text FROM ${t} x ORDER BY 1`) }).toEqual({
        [t]: await query(target, `SELECT x::text FROM ${t} x ORDER BY 1`),
      });
    await cleanup(source, target);
  });
});
