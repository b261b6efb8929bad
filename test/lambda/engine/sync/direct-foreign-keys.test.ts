import { parseSpec } from '../../../../lambda/engine';
import { createSync, runSync } from '../../../../lambda/engine/sync';
import { asMigrationRole, freshDatabase, query, testServerOf } from '../../../support/pg';
import { copyAll, expectDirectRun, ITEMS_DDL, itemsSpec, rowsOf } from './helpers';

/** A partitioned target table (a foreign key on it) fed by a plain source table. */
const eventsSpec = parseSpec({
  version: 1,
  name: 'events',
  targetDdl: [
    `CREATE TABLE public.owners (n int PRIMARY KEY)`,
    `CREATE TABLE public.events (id bigint, at date, n int REFERENCES public.owners, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)`,
    `CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`,
    `CREATE TABLE public.events_2027 PARTITION OF public.events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')`,
  ],
  tables: [
    {
      name: 'events',
      source: { table: 'events' },
      key: ['id', 'at'],
      target: { table: 'events' },
      columns: { n: 's.n' },
    },
  ],
});

/**
 * Direct writes and the destination's foreign keys (direct.ts). A login that may set
 * session_replication_role COPYs a table whose only INSERT triggers are foreign-key checks as
 * PostgreSQL's apply worker writes (the source checked those rows); any other INSERT trigger keeps
 * every trigger firing. A login that may not keeps the checks.
 */
describe('direct writes and foreign keys on the destination', () => {
  const server = testServerOf(18);
  const TARGET_FK = [
    `CREATE TABLE public.owners (n int PRIMARY KEY)`,
    `ALTER TABLE public.items ADD CONSTRAINT items_owner FOREIGN KEY (n) REFERENCES public.owners DEFERRABLE INITIALLY DEFERRED`,
  ];

  /** A source and a copied target (items, plus the target's owners and its foreign key) for `role` (null: the superuser). */
  async function pair(prefix: string, role: string | null, id: string, on = server) {
    const db = async (name: string) => {
      const fresh = await freshDatabase(name, on);
      return role ? asMigrationRole(fresh, role) : fresh;
    };
    const source = await db(`${prefix}s`);
    const target = await db(`${prefix}t`);
    await query(source, ITEMS_DDL);
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
    for (const s of TARGET_FK) await query(target, s);
    const sync = () => runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source, target });
    return { source, target, sync };
  }

  describe('GIVEN a login granted SET on session_replication_role', () => {
    let p: Awaited<ReturnType<typeof pair>>;
    beforeAll(async () => {
      p = await pair('sydfk', 'sy_replica', 'dfk');
      await query(server, `GRANT SET ON PARAMETER session_replication_role TO sy_replica`);
    });

    test('WHEN a 12,000-row transaction goes direct into a table whose only INSERT trigger is a foreign key THEN the check is left to the source, as native apply does, and the target equals the source', async () => {
      await query(p.source, `INSERT INTO items SELECT g, 'fk', NULL, g FROM generate_series(1, 12000) g`);
      // The target's owners table is empty: a checked foreign key would fail every row at COMMIT.
      await expectDirectRun(p.sync, 12_000);
      expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
    });

    test('WHEN the table also has a trigger of its own THEN every trigger fires for every row (the foreign key is checked too)', async () => {
      await query(
        p.target,
        `INSERT INTO owners SELECT g FROM generate_series(20001, 32000) g;
         CREATE TABLE audit (n bigint);
         CREATE FUNCTION count_rows() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN INSERT INTO audit SELECT count(*) FROM new_rows; RETURN NULL; END $$;
         CREATE TRIGGER items_audit AFTER INSERT ON items REFERENCING NEW TABLE AS new_rows
           FOR EACH STATEMENT EXECUTE FUNCTION count_rows()`,
      );
      await query(p.source, `INSERT INTO items SELECT g, 'audited', NULL, g FROM generate_series(20001, 32000) g`);
      await expectDirectRun(p.sync, 12_000);
      expect((await query<{ n: number }>(p.target, `SELECT sum(n)::int AS n FROM audit`))[0].n).toBe(12_000);
      // A row whose owner the target lacks now fails the run: the check runs on this table.
      await query(p.source, `INSERT INTO items SELECT g, 'orphan', NULL, -1 FROM generate_series(40001, 52000) g`);
      await expect(p.sync()).rejects.toMatchObject({ name: 'SyncApplyError' });
      expect((await query<{ n: number }>(p.target, `SELECT count(*)::int AS n FROM items WHERE id > 40000`))[0].n).toBe(
        0,
      );
    });

    test('WHEN a partitioned table has a trigger of its own on one partition THEN it fires for the rows of that partition', async () => {
      const source = await asMigrationRole(await freshDatabase('sydfps', server), 'sy_replica');
      const target = await asMigrationRole(await freshDatabase('sydfpt', server), 'sy_replica');
      await query(source, `CREATE TABLE events (id bigint, at date, n int, PRIMARY KEY (id, at))`);
      await createSync(source, eventsSpec, 'dfp', 'forward');
      await copyAll(eventsSpec, source, target);
      await query(
        target,
        `INSERT INTO owners VALUES (1);
         CREATE TABLE audit (n bigint);
         CREATE FUNCTION count_row() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN INSERT INTO audit VALUES (1); RETURN NULL; END $$;
         CREATE TRIGGER events_audit AFTER INSERT ON events_2027 FOR EACH ROW EXECUTE FUNCTION count_row()`,
      );
      await query(
        source,
        `INSERT INTO events SELECT g, CASE WHEN g % 2 = 0 THEN date '2026-06-01' ELSE date '2027-06-01' END, 1
           FROM generate_series(1, 12000) g`,
      );
      const sync = () => runSync({ migrationId: 'dfp', direction: 'forward', spec: eventsSpec, source, target });
      await expectDirectRun(sync, 12_000);
      expect((await query<{ n: number }>(target, `SELECT sum(n)::int AS n FROM audit`))[0].n).toBe(6_000);
      expect(await rowsOf(target, 'public.events', 'id, at')).toEqual(await rowsOf(source, 'public.events', 'id, at'));
    });
  });

  test('GIVEN a superuser login on PostgreSQL 13 WHEN a 12,000-row transaction goes direct THEN the foreign key is left to the source and the target equals the source', async () => {
    const p = await pair('sydfs', null, 'dfs', testServerOf(13));
    await query(p.source, `INSERT INTO items SELECT g, 'fk', NULL, g FROM generate_series(1, 12000) g`);
    await expectDirectRun(p.sync, 12_000);
    expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
  });

  test('GIVEN a login that may not set session_replication_role WHEN a transaction goes direct THEN the foreign key is checked (a missing owner fails the run, nothing applied)', async () => {
    const p = await pair('sydfn', 'switchyard', 'dfn');
    await query(p.source, `INSERT INTO items SELECT g, 'fk', NULL, g FROM generate_series(1, 12000) g`);
    const err = await p.sync().catch((e) => e);
    expect(err).toMatchObject({
      name: 'SyncApplyError',
      message: expect.stringMatching(/constraint items_owner.*nothing lost/),
    });
    expect((await query<{ n: number }>(p.target, `SELECT count(*)::int AS n FROM items`))[0].n).toBe(0);
    await query(p.target, `INSERT INTO owners SELECT g FROM generate_series(1, 12000) g`);
    await expectDirectRun(p.sync, 12_000);
    expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
  });
});
