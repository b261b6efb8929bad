import { type DbEndpoint, withClient } from '../engine/db';
import { buildDeferredIndexes } from '../engine/deferred-indexes';
import { copyTable } from '../engine/copy-tables';
import { describeTableWith, prepareTarget } from '../engine/prepare';
import { parseSpec } from '../engine/spec';
import { chatHistorySpec } from '../engine/specs/chat-history';
import { assertFence, createSync, installTombstones, qualifiedTableSpec, raiseFence, runSync } from '../engine/sync';
import { validateTable } from '../engine/validate';
import { seedChatHistory } from './chat-history-seed';

/*
 * Data drills of the sync's edge paths, on real PostgreSQL (`npm run drill`): a conflict on a
 * TOASTed column, a TRUNCATE on each side, a schema with foreign keys and unique constraints under
 * writes during the copy, a stale execution applying behind a newer one. Each ends with lost = 0 (every acknowledged write, or the later one of a
 * conflict, present on both sides) or a named error that loses nothing.
 */

export interface EngineDrillResult {
  readonly name: string;
  readonly ok: boolean;
  /** Acknowledged writes missing (or rows that should be gone, present) on the side that serves at the end. */
  readonly lost: number;
  readonly error?: string;
}

/** Creates an empty database (with wal_level logical and track_commit_timestamp on) and returns its endpoint. */
export type CreateDatabase = (name: string) => Promise<DbEndpoint>;

const ITEMS =
  'CREATE TABLE public.items (id bigint PRIMARY KEY, name text NOT NULL, big text, n int NOT NULL DEFAULT 0)';
const itemsSpec = parseSpec({
  version: 1,
  name: 'drill-items',
  targetDdl: [ITEMS],
  tables: [
    {
      name: 'items',
      source: { table: 'items' },
      key: ['id'],
      target: { table: 'items' },
      columns: { name: 's.name', big: 's.big', n: 's.n' },
    },
  ],
});
const BIG = (seed: string) => `(SELECT string_agg(md5('${seed}' || g), '') FROM generate_series(1, 320) g)`;

const sql = (db: DbEndpoint, text: string) => withClient(db, {}, async (c) => (await c.query(text)).rows);
const rowsOf = async (db: DbEndpoint) =>
  (await sql(db, 'SELECT t::text AS r FROM public.items t ORDER BY id')).map((r) => r.r as string);

/** Old and new items databases, copied, both directions captured (as after the first traffic step). */
async function twoWay(create: CreateDatabase, id: string): Promise<{ oldDb: DbEndpoint; newDb: DbEndpoint }> {
  const oldDb = await create(`${id}_old`);
  const newDb = await create(`${id}_new`);
  await sql(oldDb, ITEMS);
  await sql(oldDb, `INSERT INTO items SELECT g, 'item ' || g, ${BIG('seed')}, 0 FROM generate_series(1, 50) g`);
  await createSync(oldDb, itemsSpec, id, 'forward');
  await prepareTarget(itemsSpec, oldDb, newDb);
  const layout = await describeTableWith(qualifiedTableSpec(itemsSpec.tables[0]), oldDb, newDb);
  await copyTable(layout, oldDb, newDb, { runId: id });
  await sync(id, 'forward', oldDb, newDb);
  await createSync(newDb, itemsSpec, id, 'reverse');
  await installTombstones(oldDb, itemsSpec, id, 'reverse');
  await installTombstones(newDb, itemsSpec, id, 'forward');
  return { oldDb, newDb };
}

const syncRun = (id: string, direction: 'forward' | 'reverse', oldDb: DbEndpoint, newDb: DbEndpoint) => ({
  migrationId: id,
  direction,
  spec: itemsSpec,
  source: direction === 'forward' ? oldDb : newDb,
  target: direction === 'forward' ? newDb : oldDb,
  conflicts: true,
});
const sync = (id: string, direction: 'forward' | 'reverse', oldDb: DbEndpoint, newDb: DbEndpoint) =>
  runSync(syncRun(id, direction, oldDb, newDb));

/** Rows (as text) expected on both sides that are not there, plus rows that differ between the sides. */
async function lostRows(oldDb: DbEndpoint, newDb: DbEndpoint, expected: string[]): Promise<number> {
  const [o, n] = await Promise.all([rowsOf(oldDb), rowsOf(newDb)]);
  const missing = expected.filter((r) => !o.includes(r) || !n.includes(r)).length;
  const differing = o.filter((r) => !n.includes(r)).length + n.filter((r) => !o.includes(r)).length;
  return missing + differing;
}

async function toastConflict(create: CreateDatabase): Promise<number> {
  const { oldDb, newDb } = await twoWay(create, 'drill_toast');
  await sql(oldDb, `UPDATE items SET big = ${BIG('loser')} WHERE id = 1`);
  await sql(newDb, 'UPDATE items SET n = 7 WHERE id = 1'); // later: wins the whole row, its big untouched
  const winner = (await sql(newDb, 'SELECT t::text AS r FROM items t WHERE id = 1'))[0].r as string;
  await sync('drill_toast', 'reverse', oldDb, newDb);
  await sync('drill_toast', 'forward', oldDb, newDb);
  return lostRows(oldDb, newDb, [winner]);
}

async function truncateOn(create: CreateDatabase, side: 'old' | 'new'): Promise<number> {
  const id = `drill_trunc_${side}`;
  const { oldDb, newDb } = await twoWay(create, id);
  const [here, there] = side === 'old' ? [oldDb, newDb] : [newDb, oldDb];
  await sql(here, `INSERT INTO items VALUES (100, 'before the truncate', NULL, 0)`);
  await sql(here, 'TRUNCATE items');
  await sql(here, `INSERT INTO items VALUES (101, 'after the truncate', NULL, 0)`);
  await sql(there, `INSERT INTO items VALUES (102, 'other side, later', NULL, 0)`);
  const expected = [...(await rowsOf(here)), ...(await rowsOf(there)).filter((r) => r.startsWith('(102,'))];
  for (const d of ['forward', 'reverse', 'forward', 'reverse'] as const) await sync(id, d, oldDb, newDb);
  return lostRows(oldDb, newDb, expected);
}

/**
 * A stale execution after its lease expired (a frozen Lambda that wakes up) applies behind a newer
 * one: the newer one raised the fence on the new side and wrote there; the stale one's apply is
 * refused (StaleExecutionError, nothing of it committed), the newer one's edit stays, and the newer
 * one then applies the old side's writes: nothing lost, nothing overwritten.
 */
async function staleExecution(create: CreateDatabase): Promise<number> {
  const id = 'drill_stale';
  const { oldDb, newDb } = await twoWay(create, id);
  await raiseFence(newDb, { stage: 'drill', token: 2 });
  await sql(newDb, `UPDATE items SET name = 'edited on new by the live execution' WHERE id = 3`);
  await sql(oldDb, `INSERT INTO items VALUES (200, 'written on old', NULL, 0)`);
  await sql(oldDb, `UPDATE items SET name = 'older edit on old' WHERE id = 4`);
  const fenced = (token: number) => (c: Parameters<typeof assertFence>[0]) => assertFence(c, { stage: 'drill', token });
  const stale = await runSync({ ...syncRun(id, 'forward', oldDb, newDb), fence: fenced(1) }).catch((e: Error) => e);
  if (!(stale instanceof Error) || stale.name !== 'StaleExecutionError') return Number.POSITIVE_INFINITY;
  const edited = (await sql(newDb, 'SELECT t::text AS r FROM items t WHERE id = 3'))[0].r as string;
  await runSync({ ...syncRun(id, 'forward', oldDb, newDb), fence: fenced(2) });
  const expected = [edited, ...(await rowsOf(oldDb)).filter((r) => /^\((200|4),/.test(r))];
  const n = await rowsOf(newDb);
  return expected.filter((r) => !n.includes(r)).length;
}

async function constraintsUnderWrites(create: CreateDatabase): Promise<number> {
  const spec = parseSpec({
    ...chatHistorySpec,
    targetDdl: [
      ...chatHistorySpec.targetDdl,
      'ALTER TABLE messages ADD CONSTRAINT messages_conversation_fk FOREIGN KEY (conversation_id) REFERENCES conversations (conversation_id)',
      'ALTER TABLE messages ADD CONSTRAINT messages_created_unique UNIQUE (created_at)',
    ],
    tables: chatHistorySpec.tables.map((t) => ({ ...t, chunkSize: 250 })),
  });
  const source = await create('drill_fk_old');
  const target = await create('drill_fk_new');
  await withClient(source, {}, (c) => seedChatHistory(c, 500));
  await prepareTarget(spec, source, target, { deferIndexes: true });
  await createSync(source, spec, 'drill_fk', 'forward');
  const [conversations, messages] = await Promise.all(spec.tables.map((t) => describeTableWith(t, source, target)));
  await copyTable(conversations, source, target, { runId: 'drill_fk' });
  await copyTable(messages, source, target, { runId: 'drill_fk', chunkNos: { from: 0, to: 0 } });
  // Ordinary writes while the copy runs: a child of a new parent, a unique value moved to a row not copied yet.
  await sql(source, `INSERT INTO chat_sessions VALUES (9000, 'late', 'late', now(), now())`);
  await sql(source, `INSERT INTO chat_messages VALUES (9001, 9000, 'human', 'hi', NULL, '2030-01-01', now())`);
  await sql(
    source,
    `WITH one AS (SELECT created_at FROM chat_messages WHERE id = 1)
     UPDATE chat_messages m SET created_at = CASE WHEN m.id = 1 THEN one.created_at + interval '1 year' ELSE one.created_at END
       FROM one WHERE m.id IN (1, 499)`,
  );
  await copyTable(messages, source, target, { runId: 'drill_fk', chunkNos: { from: 1, to: 10 } });
  await buildDeferredIndexes(spec, target, { what: 'indexes' });
  await runSync({ migrationId: 'drill_fk', direction: 'forward', spec, source, target });
  await buildDeferredIndexes(spec, target, { what: 'constraints' });
  let lost = 0;
  for (const t of [conversations, messages]) {
    const v = await validateTable(t, source, target, { runId: 'drill_fk' });
    lost += v.differences.missing.length + v.differences.changed.length + v.differences.extra.length;
  }
  return lost;
}

const DRILLS: { name: string; run: (create: CreateDatabase) => Promise<number> }[] = [
  { name: 'conflict on a TOASTed column', run: toastConflict },
  { name: 'TRUNCATE on the old side', run: (c) => truncateOn(c, 'old') },
  { name: 'TRUNCATE on the new side', run: (c) => truncateOn(c, 'new') },
  { name: 'foreign keys and unique constraints under writes during the copy', run: constraintsUnderWrites },
  { name: 'a stale execution after its lease expired applies behind a newer one', run: staleExecution },
];

/** How many data drills `runEngineDrills` runs. */
export const ENGINE_DRILLS = DRILLS.length;

/** Run every data drill; a drill that throws fails with its error's name (no values: errors are redacted). */
export async function runEngineDrills(create: CreateDatabase): Promise<EngineDrillResult[]> {
  const out: EngineDrillResult[] = [];
  for (const d of DRILLS) {
    try {
      const lost = await d.run(create);
      out.push({ name: d.name, ok: lost === 0, lost });
    } catch (e) {
      out.push({ name: d.name, ok: false, lost: Number.NaN, error: `${(e as Error).name}: ${(e as Error).message}` });
    }
  }
  return out;
}
