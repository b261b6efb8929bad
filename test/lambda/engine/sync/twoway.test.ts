import { type DbEndpoint, parseSpec } from '../../../../lambda/engine';
import { chatHistorySpec } from '../../../../lambda/engine/specs/chat-history';
import {
  checkReverseMappings,
  createSync,
  installTombstones,
  reverseMapping,
  ReverseMappingMissingError,
  roundTripCheck,
  runSync,
} from '../../../../lambda/engine/sync';
import { query } from '../../../support/pg';
import { copyAll, countWrites, itemsSpec, rolePair, rowsOf, writes } from './helpers';

const id = 'twoway';
const fwd = (source: DbEndpoint, target: DbEndpoint, extra: object = {}) =>
  runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source, target, conflicts: true, ...extra });
const rev = (oldDb: DbEndpoint, newDb: DbEndpoint, extra: object = {}) =>
  runSync({ migrationId: id, direction: 'reverse', spec: itemsSpec, source: newDb, target: oldDb, ...extra });

describe('reverse sync and both directions at once', () => {
  let oldDb: DbEndpoint;
  let newDb: DbEndpoint;

  beforeAll(async () => {
    ({ source: oldDb, target: newDb } = await rolePair('sy2'));
    await query(oldDb, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 100) g`);
    await createSync(oldDb, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, oldDb, newDb);
    await runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source: oldDb, target: newDb });
    await createSync(newDb, itemsSpec, id, 'reverse');
    // As the sync phase's reverse capture does: both sides record their local deletes from now on.
    await installTombstones(oldDb, itemsSpec, id, 'reverse');
    await installTombstones(newDb, itemsSpec, id, 'forward');
    await countWrites(oldDb, 'public.items');
    await countWrites(newDb, 'public.items');
  });

  test('GIVEN writes on the new side WHEN the reverse sync runs THEN they land on the old side through the derived reverse mapping', async () => {
    await query(newDb, `INSERT INTO items VALUES (500, 'written on new', NULL, 5)`);
    await query(newDb, `UPDATE items SET name = 'edited on new' WHERE id = 1`);
    await query(newDb, `DELETE FROM items WHERE id = 2`);
    const r = await rev(oldDb, newDb);
    expect(r).toMatchObject({ transactions: 3, inserted: 1, updated: 1, deleted: 1, conflicts: 0 });
    expect(await rowsOf(oldDb, 'public.items')).toEqual(await rowsOf(newDb, 'public.items'));
  });

  test('GIVEN both sides writing at once WHEN both directions run concurrently THEN every write lands exactly once on the other side and nothing ping-pongs', async () => {
    const oldBefore = await writes(oldDb);
    const newBefore = await writes(newDb);
    const writer = async (db: DbEndpoint, base: number) => {
      for (let i = 0; i < 30; i++) {
        await query(db, `INSERT INTO items VALUES (${base + i}, 'w', NULL, ${i})`);
        if (i % 3 === 0) await query(db, `UPDATE items SET n = n + 1000 WHERE id = ${base + i}`);
      }
    };
    const runs = Promise.all([
      fwd(oldDb, newDb, { maxMs: 1500, pollMs: 20 }),
      rev(oldDb, newDb, { maxMs: 1500, pollMs: 20 }),
    ]);
    await Promise.all([writer(oldDb, 10_000), writer(newDb, 20_000)]);
    const [f1, r1] = await runs;
    const [f, r] = await Promise.all([fwd(oldDb, newDb), rev(oldDb, newDb)]);
    expect(f.conflicts + r.conflicts + f1.conflicts + r1.conflicts).toBe(0);
    expect(await rowsOf(oldDb, 'public.items')).toEqual(await rowsOf(newDb, 'public.items'));
    // Each side's 30 inserts + 10 updates were applied on the other side exactly once…
    expect([f1.inserted + f.inserted, f1.updated + f.updated]).toEqual([30, 10]);
    expect([r1.inserted + r.inserted, r1.updated + r.updated]).toEqual([30, 10]);
    // …and the applied transactions came back as skipped (loop guard), never re-applied.
    expect(f1.loopSkipped + f.loopSkipped).toBeGreaterThan(0);
    expect(r1.loopSkipped + r.loopSkipped).toBeGreaterThan(0);
    const oldWrites = (await writes(oldDb)) - oldBefore;
    const newWrites = (await writes(newDb)) - newBefore;
    // 40 local row writes + at most 40 applied ones (an insert and its update coalesce into one upsert when they share a batch).
    for (const w of [oldWrites, newWrites]) {
      expect(w).toBeGreaterThanOrEqual(70);
      expect(w).toBeLessThanOrEqual(80);
    }
    // Once drained, another pass of each direction applies nothing and writes nothing: no ping-pong.
    const [f2, r2] = await Promise.all([fwd(oldDb, newDb), rev(oldDb, newDb)]);
    expect([f2.transactions, r2.transactions]).toEqual([0, 0]);
    expect((await writes(oldDb)) - oldBefore).toBe(oldWrites);
    expect((await writes(newDb)) - newBefore).toBe(newWrites);
  });

  // Changed on purpose with tombstones: an update committed after the other side's delete of the same row now wins
  // (it used to be discarded: "delete wins whatever the times" lost that acknowledged update).
  test('GIVEN the same key written on both sides WHEN synced both ways THEN the later commit wins on both sides and the conflict is counted and recorded without row values', async () => {
    await query(oldDb, `UPDATE items SET name = 'old side edit' WHERE id = 50`);
    await query(newDb, `UPDATE items SET name = 'new side edit (later)' WHERE id = 50`);
    await query(oldDb, `DELETE FROM items WHERE id = 60`);
    await query(newDb, `UPDATE items SET name = 'updated on new after the old side deleted' WHERE id = 60`);
    const f = await fwd(oldDb, newDb);
    const r = await rev(oldDb, newDb);
    expect(f.conflicts).toBe(2); // id 50: local (new) newer; id 60: the incoming delete is older than the local update: skipped
    expect(r.conflicts).toBe(0); // id 60: the update is newer than the old side's delete (its tombstone): re-inserted, recorded on the new side
    expect(await rowsOf(oldDb, 'public.items')).toEqual(await rowsOf(newDb, 'public.items'));
    const rows = await query<{ id: string; name: string }>(
      oldDb,
      `SELECT id, name FROM items WHERE id IN (50, 60) ORDER BY id`,
    );
    expect(rows.map((x) => x.name)).toEqual(['new side edit (later)', 'updated on new after the old side deleted']);
    const recorded = await query<Record<string, unknown>>(
      newDb,
      `SELECT table_name, key_columns, key, kind, winner, direction FROM switchyard.conflicts ORDER BY id`,
    );
    expect(recorded).toEqual([
      {
        table_name: 'items',
        key_columns: ['id'],
        key: ['50'],
        kind: 'update-update',
        winner: 'local',
        direction: 'forward',
      },
      {
        table_name: 'items',
        key_columns: ['id'],
        key: ['60'],
        kind: 'update-delete',
        winner: 'local',
        direction: 'forward',
      },
    ]);
    expect(JSON.stringify(await query(newDb, `SELECT * FROM switchyard.conflicts`))).not.toMatch(/edit/);
  });

  test('GIVEN identity and lossy mappings WHEN round-tripped on a sample THEN only the columns that do not survive are named', async () => {
    expect(await roundTripCheck(itemsSpec, oldDb, newDb, { sample: 50 })).toEqual([
      {
        table: 'items',
        sampled: 50,
        columns: [
          { column: 'name', differing: 0 },
          { column: 'big', differing: 0 },
          { column: 'n', differing: 0 },
        ],
        notSurviving: [],
        notWritten: [],
      },
    ]);
    await query(oldDb, `UPDATE items SET name = 'MiXed Case' WHERE id = 3`);
    const lossy = parseSpec({
      ...itemsSpec,
      tables: [
        {
          ...itemsSpec.tables[0],
          columns: { name: 'upper(s.name)', big: 's.big', n: 's.n' },
          reverse: { name: 'lower(s.name)', big: 's.big', n: 's.n' },
        },
      ],
    });
    const [report] = await roundTripCheck(lossy, oldDb, newDb, { sample: 50 });
    expect(report.notSurviving).toEqual(['name']);
  });

  test('fails when a forward mapping cannot be inverted and the spec declares neither reverse nor forwardOnly', () => {
    const noReverse = { ...chatHistorySpec, tables: chatHistorySpec.tables.map(({ reverse: _r, ...t }) => t) };
    expect(() => checkReverseMappings(noReverse)).toThrow(ReverseMappingMissingError);
    expect(() => checkReverseMappings(noReverse)).toThrow(/conversations: .*owner, title, started_at.*forwardOnly/);
    expect(() => checkReverseMappings(chatHistorySpec)).not.toThrow();
    const ok = parseSpec({ ...chatHistorySpec, tables: noReverse.tables.map((t) => ({ ...t, forwardOnly: true })) });
    expect(() => checkReverseMappings(ok)).not.toThrow();
    expect(reverseMapping(itemsSpec.tables[0])).toEqual({ name: 's."name"', big: 's."big"', n: 's."n"' });
  });
});
