import type { DbEndpoint } from '../../lambda/engine';
import { syncCommand } from '../../bin/cli/sync';
import { syncCleanupCommand, syncSwitchoverCommand } from '../../bin/cli/sync-lifecycle';
import { cliIo, postgresUrl, rolePair } from '../lambda/engine/sync/helpers';
import { query } from '../support/pg';
import { cliSyncPrefix, switchyardFootprint } from './support/catalog';

/** Two tables without any key (duplicates and NULLs allowed, json and point columns) beside a keyed one. */
const SCHEMA = [
  `CREATE TABLE audit_log (at timestamptz NOT NULL DEFAULT now(), actor text, action text, detail json, spot point)`,
  `CREATE TABLE clicks (page text, n int)`,
  `CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL)`,
  `INSERT INTO audit_log (at, actor, action, detail) SELECT '2026-01-01', 'seed', 'x', '{"a": 1}' FROM generate_series(1, 30)`,
  `INSERT INTO audit_log (actor) SELECT NULL FROM generate_series(1, 5)`,
  `INSERT INTO clicks SELECT CASE WHEN g % 4 = 0 THEN NULL ELSE 'p' || g % 3 END, g % 2 FROM generate_series(1, 200) g`,
  `INSERT INTO accounts (name) SELECT 'a' || g FROM generate_series(1, 20) g`,
];

/** Each table's rows as a sorted multiset of their text. */
async function contents(db: DbEndpoint): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of ['audit_log', 'clicks', 'accounts'])
    out[t] = (await query<{ r: string }>(db, `SELECT t::text AS r FROM ${t} t`)).map((x) => x.r).sort();
  return out;
}

/** One writer transaction: duplicates in, one of identical rows updated or deleted, NULL rows, a keyed update. */
const write = (i: number) =>
  `BEGIN;
   INSERT INTO audit_log (at, actor, action, detail, spot) VALUES ('2026-02-01', 'w', 'i', '{"i": ${i % 3}}', point(${i % 2}, 0)),
     ('2026-02-01', 'w', 'i', '{"i": ${i % 3}}', point(${i % 2}, 0));
   DELETE FROM audit_log WHERE ctid = (SELECT ctid FROM audit_log WHERE actor = 'w' ORDER BY ctid LIMIT 1);
   UPDATE audit_log SET action = 'u${i % 4}' WHERE ctid = (SELECT ctid FROM audit_log WHERE action = 'i' ORDER BY ctid DESC LIMIT 1);
   UPDATE audit_log SET actor = 'n' WHERE ctid = (SELECT ctid FROM audit_log WHERE actor IS NULL LIMIT 1);
   INSERT INTO audit_log (actor) VALUES (NULL);
   INSERT INTO clicks VALUES (NULL, NULL), ('p${i % 3}', ${i % 2});
   DELETE FROM clicks WHERE ctid = (SELECT ctid FROM clicks WHERE page = 'p${(i + 1) % 3}' LIMIT 1);
   INSERT INTO accounts (name) VALUES ('w${i}');
   UPDATE accounts SET name = name || '+' WHERE id = ${1 + (i % 20)};
   COMMIT`;

describe('switchyard sync: tables without any key', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  let flags: { source: string; target: string };

  beforeAll(async () => {
    ({ source, target } = await rolePair('sykeyless', SCHEMA));
    flags = { source: postgresUrl(source), target: postgresUrl(target) };
  });

  test('GIVEN keyless tables and no --allow-full-identity WHEN sync runs THEN it names every one and creates nothing', async () => {
    const prefix = cliSyncPrefix(source, target);
    const before = [await switchyardFootprint(source, prefix), await switchyardFootprint(target, prefix)];
    const r = cliIo();
    expect(await syncCommand({ ...flags, once: true }, r.io)).toBe(1);
    expect(r.text().err).toContain('ReplicaIdentityMissingError');
    expect(r.text().err).toContain('public.audit_log has no primary key and no unique index over NOT NULL columns');
    expect(r.text().err).toContain('public.clicks has no primary key and no unique index over NOT NULL columns');
    expect(r.text().err).not.toContain('public.accounts');
    expect([await switchyardFootprint(source, prefix), await switchyardFootprint(target, prefix)]).toEqual(before);
    const [ri] = await query<{ ri: string }>(
      source,
      `SELECT relreplident AS ri FROM pg_class WHERE oid = 'audit_log'::regclass`,
    );
    expect(ri.ri).toBe('d');
  });

  test('GIVEN --allow-full-identity and writes throughout WHEN sync runs and stops THEN every table holds the same multiset of rows', async () => {
    const abort = new AbortController();
    const r = cliIo(abort.signal);
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing) await query(source, write(n++));
    })();
    writer.catch(() => {
      writing = false;
    });
    const running = syncCommand({ ...flags, allowFullIdentity: true }, r.io);
    // Writes went on during the slot's creation, the copy and the catch-up; let some reach the streaming loop too.
    for (let i = 0; i < 2400 && !r.text().err.includes('lag ') && !r.text().err.includes('error'); i++)
      await new Promise((res) => setTimeout(res, 100));
    const streamingFrom = n;
    while (writing && n < streamingFrom + 10) await new Promise((res) => setTimeout(res, 50));
    writing = false;
    await writer;
    abort.abort();
    const code = await running;
    expect(r.text().err).not.toMatch(/^error/m);
    expect(code).toBe(0);
    expect(r.text().err).toContain('wrote to the source: REPLICA IDENTITY FULL on public.audit_log, public.clicks');
    expect(r.text().err).toContain('keyless (no primary or unique key): audit_log, clicks');
    expect(n).toBeGreaterThan(10);
    const [want, got] = [await contents(source), await contents(target)];
    expect(got.audit_log.length).toBeGreaterThan(30);
    expect(got).toEqual(want);
  }, 300_000);

  test('GIVEN a synced keyless table WHEN switchover --reverse runs THEN it is refused by name before the source is fenced', async () => {
    const r = cliIo();
    expect(await syncSwitchoverCommand({ ...flags, reverse: true, maxLagBytes: 1 << 30 }, r.io)).toBe(1);
    expect(r.text().err).toContain('ReverseMappingMissingError');
    expect(r.text().err).toContain('public.audit_log, public.clicks have no primary or unique key');
    await query(source, `INSERT INTO clicks VALUES ('still writable', 1)`);
    expect(await syncCleanupCommand(flags, cliIo().io)).toBe(0);
  });
});
