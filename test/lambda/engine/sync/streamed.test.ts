import { Client } from 'pg';
import { createSync, runSync, type SyncRunOptions, syncNames } from '../../../../lambda/engine/sync';
import { MAX_STREAMED_SUBTRANSACTIONS } from '../../../../lambda/engine/sync/streamed';
import type { DbEndpoint } from '../../../../lambda/engine';
import { asMigrationRole, freshDatabase, query, testServerOf } from '../../../support/pg';
import { copyAll, countWrites, ITEMS_DDL, itemsSpec, rowsOf, writes } from './helpers';

/**
 * Streamed in-progress transactions (streamed.ts, pgoutput protocol 2). The run's walsender decodes
 * with the minimum logical_decoding_work_mem (64 kB), so a few thousand rows are streamed in blocks
 * while the walsender still decodes them, and applied by their own destination session before their
 * commit, committed at it.
 */
describe('streamed transactions', () => {
  const server = testServerOf(18);
  const ROLE = 'sy_stream';

  async function pair(prefix: string, id: string) {
    const source = await asMigrationRole(await freshDatabase(`${prefix}s`, server), ROLE);
    const target = await asMigrationRole(await freshDatabase(`${prefix}t`, server), ROLE);
    await query(source, ITEMS_DDL);
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
    const sync = (o: Partial<SyncRunOptions> = {}) =>
      runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source, target, decodingWorkMemKb: 64, ...o });
    return { source, target, sync };
  }

  /** A session on `db` that keeps its transaction open across statements. */
  async function session(db: DbEndpoint): Promise<Client> {
    const c = new Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
    await c.connect();
    return c;
  }

  const rows = (from: number, to: number, tag: string) =>
    `INSERT INTO items SELECT g, '${tag}', repeat('x', 40), g FROM generate_series(${from}, ${to}) g`;

  test('WHEN a streamed transaction with subtransactions (released, rolled back, nested) commits THEN the target holds exactly its committed changes, and a transaction that committed meanwhile too', async () => {
    const p = await pair('systa', 'sta');
    await countWrites(p.target, 'public.items');
    const tx = await session(p.source);
    await tx.query('BEGIN');
    await tx.query(rows(1, 3000, 'top'));
    await tx.query('SAVEPOINT a');
    await tx.query(rows(3001, 6000, 'rolled back'));
    await tx.query('ROLLBACK TO SAVEPOINT a');
    await tx.query('SAVEPOINT b');
    await tx.query(`UPDATE items SET name = 'updated in b' WHERE id <= 1000`);
    await tx.query('SAVEPOINT c');
    await tx.query(`DELETE FROM items WHERE id BETWEEN 1001 AND 1500`);
    await tx.query('RELEASE SAVEPOINT c');
    await tx.query('RELEASE SAVEPOINT b');
    await query(p.source, rows(900_001, 900_010, 'meanwhile')); // commits before the streamed one
    await tx.query('SAVEPOINT d');
    await tx.query(rows(7001, 9000, 'in d'));
    await tx.query('SAVEPOINT e');
    await tx.query(`DELETE FROM items WHERE id BETWEEN 7001 AND 8000`);
    await tx.query('ROLLBACK TO SAVEPOINT d'); // e goes with it
    await tx.query(rows(9001, 12_000, 'after d'));
    await tx.query('COMMIT');
    await tx.end();

    const r = await p.sync();
    expect(r).toMatchObject({ caughtUp: true, transactions: 2, streamed: 1 });
    expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
    expect(await query(p.target, `SELECT count(*)::int AS n FROM items`)).toEqual([{ n: 5510 }]);
    // What the rolled-back subtransactions wrote was written and rolled back, never committed twice.
    expect(await writes(p.target)).toBeGreaterThanOrEqual(5510);
  });

  test('WHEN the streamed transaction aborts on the source THEN nothing of it reaches the target', async () => {
    const p = await pair('systb', 'stb');
    const tx = await session(p.source);
    await tx.query('BEGIN');
    await tx.query(rows(1, 8000, 'aborted'));
    await query(p.source, rows(900_001, 900_005, 'kept'));
    await tx.query('ROLLBACK');
    await tx.end();
    const r = await p.sync();
    expect(r).toMatchObject({ caughtUp: true, transactions: 1, inserted: 5, streamed: 0 });
    expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
  });

  test('WHEN the run ends while a streamed transaction is still open on the source THEN none of it is applied, and the next run applies it whole at its commit', async () => {
    const p = await pair('systc', 'stc');
    const tx = await session(p.source);
    await tx.query('BEGIN');
    await tx.query(rows(1, 8000, 'open'));
    await query(p.source, rows(900_001, 900_003, 'before'));
    const stop = new AbortController();
    const running = p.sync({ signal: stop.signal });
    // The committed transaction arrives after the open one's first blocks: it is applied, the open one is not.
    await targetHolds(p.target, 3);
    stop.abort();
    const first = await running;
    expect(first).toMatchObject({ transactions: 1, inserted: 3, streamed: 0 });
    expect(await query(p.target, `SELECT count(*)::int AS n FROM items`)).toEqual([{ n: 3 }]);
    await tx.query(rows(8001, 9000, 'open'));
    await tx.query('COMMIT');
    await tx.end();
    const second = await p.sync();
    expect(second).toMatchObject({ caughtUp: true, transactions: 1, inserted: 9000, streamed: 1 });
    expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
  });

  /** Poll `check` every 50 ms for up to 10 s. */
  async function until(check: () => Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`never: ${what}`);
  }

  /** Wait until the walsender of `id`'s forward slot has streamed at least `bytes` (pg_stat_replication_slots). */
  async function streamedAtLeast(db: DbEndpoint, id: string, bytes: number): Promise<void> {
    const sql = `SELECT stream_bytes::text AS b FROM pg_stat_replication_slots WHERE slot_name = $1`;
    const slot = syncNames(id, 'forward').slot;
    await until(
      async () => Number((await query<{ b: string | null }>(db, sql, [slot]))[0]?.b ?? 0) >= bytes,
      `${id} streamed ${bytes} bytes`,
    );
  }

  /** Wait until the target holds `n` rows. */
  async function targetHolds(db: DbEndpoint, n: number): Promise<void> {
    const sql = `SELECT count(*)::int AS n FROM items`;
    await until(async () => (await query<{ n: number }>(db, sql))[0].n === n, `the target holds ${n} rows`);
  }

  test('WHEN a subtransaction streamed while it ran rolls back, with the table first used inside it THEN only the rest is applied (its staging table is made again)', async () => {
    const p = await pair('systd', 'std');
    const stop = new AbortController();
    const running = p.sync({ signal: stop.signal });
    const tx = await session(p.source);
    await tx.query('BEGIN');
    await tx.query('SAVEPOINT a');
    await tx.query(rows(1, 3000, 'rolled back'));
    // Streamed (applied into the lane's open transaction) before the source rolls it back.
    await streamedAtLeast(p.source, 'std', 100_000);
    await tx.query('ROLLBACK TO SAVEPOINT a');
    await tx.query(rows(3001, 6000, 'kept'));
    await tx.query('COMMIT');
    await tx.end();
    await targetHolds(p.target, 3000);
    stop.abort();
    expect(await running).toMatchObject({ inserted: 3000, streamed: 1 });
    expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
  });

  test('WHEN the run fails after the streamed transaction committed on the destination, before the slot heard of it THEN the next run does not apply it again', async () => {
    const p = await pair('syste', 'ste');
    await countWrites(p.target, 'public.items');
    await query(p.source, rows(1, 6000, 'once'));
    const crash = new Error('crash after the destination commit');
    await expect(
      p.sync({
        faults: {
          afterApplyCommit: () => {
            throw crash;
          },
        },
      }),
    ).rejects.toThrow();
    expect(await writes(p.target)).toBe(6000);
    const again = await p.sync();
    expect(again).toMatchObject({ caughtUp: true, inserted: 0 });
    expect(await writes(p.target)).toBe(6000);
    expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
  });

  test('WHEN a streamed transaction brings more subtransactions than a lane takes (an EXCEPTION block per row, some failing) THEN the run starts the stream again without streaming and applies it whole', async () => {
    const p = await pair('systg', 'stg');
    await query(p.source, rows(1, 50, 'there before'));
    expect(await p.sync()).toMatchObject({ inserted: 50 });
    await query(p.source, rows(900_001, 900_003, 'before'));
    // Rows 1–50 exist: their subtransactions insert (WAL'd, streamed) and then abort on the unique violation.
    await query(
      p.source,
      `DO $$ BEGIN FOR i IN 1..${MAX_STREAMED_SUBTRANSACTIONS + 400} LOOP
         BEGIN INSERT INTO items VALUES (i, 'loop', repeat('y', 60), i); EXCEPTION WHEN unique_violation THEN NULL; END;
       END LOOP; END $$`,
    );
    await query(p.source, rows(900_004, 900_006, 'after'));
    const r = await p.sync();
    expect(r).toMatchObject({ caughtUp: true, streamed: 0, inserted: MAX_STREAMED_SUBTRANSACTIONS + 350 + 6 });
    expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
  });

  test('WHEN a table is first described inside a streamed transaction and the next transaction changes it THEN that one is applied too (pgoutput does not describe the table again)', async () => {
    const p = await pair('systh', 'sth');
    await query(p.source, rows(1, 6000, 'streamed'));
    await query(p.source, rows(900_001, 900_003, 'after'));
    await query(p.source, `UPDATE items SET n = -n WHERE id IN (1, 900001)`);
    const r = await p.sync();
    expect(r).toMatchObject({ caughtUp: true, streamed: 1, transactions: 3, inserted: 6003, updated: 2 });
    expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
  });

  test('WHEN two streamed transactions interleave while the sync runs, one commits and one aborts THEN each has its own destination session: the committed one is applied whole, nothing of the other', async () => {
    const p = await pair('systi', 'sti');
    const stop = new AbortController();
    const running = p.sync({ signal: stop.signal });
    const a = await session(p.source);
    const b = await session(p.source);
    await a.query('BEGIN');
    await b.query('BEGIN');
    for (let i = 0; i < 4; i++) {
      await a.query(rows(i * 2000 + 1, i * 2000 + 1000, 'a'));
      await b.query(rows(i * 2000 + 1001, i * 2000 + 2000, 'b'));
    }
    await streamedAtLeast(p.source, 'sti', 400_000);
    // The main session and one per open streamed transaction.
    await until(async () => {
      const [c] = await query<{ n: number }>(
        p.target,
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'switchyard-sync-apply'`,
      );
      return c.n >= 3;
    }, 'three apply sessions');
    await a.query('COMMIT');
    await b.query('ROLLBACK');
    await Promise.all([a.end(), b.end()]);
    await targetHolds(p.target, 4000);
    stop.abort();
    expect(await running).toMatchObject({ streamed: 1, transactions: 1, inserted: 4000 });
    expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
  });

  test('WHEN the main session waits for a lock a streamed transaction holds on the destination (a trigger counting rows) THEN the run starts again without streaming and applies both, nothing twice', async () => {
    const p = await pair('systj', 'stj');
    await query(
      p.target,
      `CREATE TABLE counted (id int PRIMARY KEY, n bigint NOT NULL);
       INSERT INTO counted VALUES (1, 0);
       CREATE FUNCTION count_item() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN UPDATE counted SET n = n + 1 WHERE id = 1; RETURN NULL; END $$;
       CREATE TRIGGER items_count AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION count_item()`,
    );
    const stop = new AbortController();
    const running = p.sync({ signal: stop.signal, streamedLockTimeoutMs: 500, flushRows: 500 });
    const a = await session(p.source);
    await a.query('BEGIN');
    await a.query(rows(1, 3000, 'streamed, open'));
    await streamedAtLeast(p.source, 'stj', 100_000);
    // The lane's trigger holds the counter row: this transaction's trigger waits for it on the destination.
    await query(p.source, rows(900_001, 900_001, 'small'));
    await until(async () => {
      const [c] = await query<{ n: number }>(p.target, `SELECT count(*)::int AS n FROM items WHERE id = 900001`);
      return c.n === 1;
    }, 'the small transaction applied');
    await a.query('COMMIT');
    await a.end();
    await targetHolds(p.target, 3001);
    stop.abort();
    expect(await running).toMatchObject({ streamed: 0, transactions: 2, inserted: 3001 });
    expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
    expect(await query(p.target, `SELECT n::int FROM counted`)).toEqual([{ n: 3001 }]);
  });

  test('WHEN streaming is off THEN the same transaction arrives whole at its commit and is applied the same', async () => {
    const p = await pair('systf', 'stf');
    await query(p.source, rows(1, 6000, 'whole'));
    const r = await p.sync({ streaming: false });
    expect(r).toMatchObject({ caughtUp: true, inserted: 6000, streamed: 0 });
    expect(await rowsOf(p.target, 'public.items')).toEqual(await rowsOf(p.source, 'public.items'));
  });
});
