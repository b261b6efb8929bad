import { PassThrough } from 'node:stream';
import {
  type DbEndpoint,
  type MigrationSpec,
  parseSpec,
  prepareTarget,
  copyTable,
  describeTableWith,
} from '../../../../lambda/engine';
import { qualifiedTableSpec, type SyncRunResult } from '../../../../lambda/engine/sync';
import * as direct from '../../../../lambda/engine/sync/direct';
import { asMigrationRole, freshDatabase, query } from '../../../support/pg';

/** An `items` table on the old side, moved as-is (identity mapping) to the new side. */
export const ITEMS_DDL = `CREATE TABLE public.items (id bigint PRIMARY KEY, name text NOT NULL, big text, n int NOT NULL DEFAULT 0)`;

export const itemsSpec: MigrationSpec = parseSpec({
  version: 1,
  name: 'items',
  targetDdl: [ITEMS_DDL],
  tables: [
    {
      name: 'items',
      source: { table: 'items' },
      key: ['id'],
      target: { table: 'items' },
      columns: { name: 's.name', big: 's.big', n: 's.n' },
      chunkSize: 50,
    },
  ],
});

/** A source and a target database, both as the non-superuser migration login (which owns them). */
export async function rolePair(
  prefix: string,
  sourceDdl: string[] = [ITEMS_DDL],
): Promise<{ source: DbEndpoint; target: DbEndpoint }> {
  const source = await asMigrationRole(await freshDatabase(`${prefix}s`));
  const target = await asMigrationRole(await freshDatabase(`${prefix}t`));
  for (const s of sourceDdl) await query(source, s);
  return { source, target };
}

/** Prepare the target and copy every table with the existing engine. */
export async function copyAll(
  spec: MigrationSpec,
  source: DbEndpoint,
  target: DbEndpoint,
  runId = 'copy-1',
): Promise<void> {
  await prepareTarget(spec, source, target);
  for (const t of spec.tables)
    await copyTable(await describeTableWith(qualifiedTableSpec(t), source, target), source, target, { runId });
}

/** Rows of a table as text, ordered by key: compares two sides exactly. */
export async function rowsOf(db: DbEndpoint, table: string, key = 'id'): Promise<string[]> {
  const r = await query<{ r: string }>(db, `SELECT t::text AS r FROM ${table} t ORDER BY ${key}`);
  return r.map((x) => x.r);
}

/**
 * Run `sync` expecting it to insert `rows` rows and catch up, with one writeDirect call writing all
 * of them directly (a COPY into the table, not the upsert).
 */
export async function expectDirectRun(sync: () => Promise<SyncRunResult>, rows: number): Promise<void> {
  const spy = jest.spyOn(direct, 'writeDirect');
  try {
    expect(await sync()).toMatchObject({ inserted: rows, caughtUp: true });
    const written = await Promise.all(spy.mock.results.map((x) => x.value));
    const sizes = spy.mock.calls.map(([, batch], i) => (written[i] ? batch.reduce((n, t) => n + t.rows.size, 0) : 0));
    expect(sizes).toContain(rows);
  } finally {
    spy.mockRestore();
  }
}

/** Count every row write on `table` (a trigger), to prove nothing is applied twice. */
export async function countWrites(db: DbEndpoint, table: string): Promise<void> {
  await query(db, `CREATE TABLE IF NOT EXISTS public.write_log (tbl text, op text, n bigint)`);
  await query(
    db,
    `CREATE OR REPLACE FUNCTION public.log_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.write_log VALUES (TG_TABLE_NAME, TG_OP, 1); RETURN NULL; END $$`,
  );
  await query(
    db,
    `CREATE TRIGGER log_write AFTER INSERT OR UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION public.log_write()`,
  );
}

export async function writes(db: DbEndpoint): Promise<number> {
  const [r] = await query<{ n: number }>(db, `SELECT count(*)::int AS n FROM public.write_log`);
  return r.n;
}

/** The endpoint as the postgres:// URL `switchyard sync` takes. */
export const postgresUrl = (e: DbEndpoint) => `postgres://${e.user}:${e.password}@${e.host}:${e.port}/${e.database}`;

/** stdout/stderr/signal for `syncCommand`, with what each stream received so far. */
export function cliIo(signal = new AbortController().signal) {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  return { io: { stdout: out, stderr: err, signal }, text: () => ({ out: o, err: e }) };
}
