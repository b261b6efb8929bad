import { type DbEndpoint, parseSpec, validateTable, describeTableWith } from '../../../../lambda/engine';
import { createSync, qualifiedTableSpec, runSync } from '../../../../lambda/engine/sync';
import { query } from '../../../support/pg';
import { parseCopyPoint, seenByCopy } from '../../../../lambda/engine/sync/keyless';
import { validateUnderWrites } from '../../../../lambda/engine/validate-under-writes';
import { copyAll, rolePair } from './helpers';

/** An audit log: no key at all, NULLs, a type without equality (json), one without btree order (point). */
const AUDIT_DDL =
  'CREATE TABLE public.audit (at timestamptz, actor text, action text, detail json, spot point, big text, n numeric)';
const big = `(SELECT string_agg(md5(random()::text || g), '') FROM generate_series(1, 320) g)`; // stored out of line

const spec = parseSpec({
  version: 1,
  name: 'keyless',
  targetDdl: [AUDIT_DDL],
  tables: [
    {
      name: 'audit',
      source: { table: 'audit' },
      key: ['at', 'actor', 'action', 'detail', 'spot', 'big', 'n'],
      target: { table: 'audit' },
      columns: {},
      keyless: true,
      forwardOnly: true,
      chunkSize: 2,
    },
  ],
});

/** The table's rows as a sorted multiset of their text (duplicates kept). */
async function multiset(db: DbEndpoint): Promise<string[]> {
  const r = await query<{ r: string }>(db, `SELECT t::text AS r FROM public.audit t`);
  return r.map((x) => x.r).sort();
}

describe('seenByCopy: the source transactions a keyless copy holds', () => {
  const p = parseCopyPoint('1000:1010:1003,1007', '0/5000');
  test.each([
    [999, 0x4000n, true],
    [1003, 0x4000n, false],
    [1005, 0x4000n, true],
    [1010, 0x4000n, false],
    [1005, 0x5001n, false],
  ])('GIVEN xid %d committed at %s THEN seen = %s', (xid, lsn, seen) => {
    expect(seenByCopy(p, xid, lsn)).toBe(seen);
  });
  test('GIVEN a snapshot just after an xid epoch wrapped THEN xids of the previous epoch are widened below it', () => {
    const wrapped = parseCopyPoint(`${(1n << 32n) + 5n}:${(1n << 32n) + 9n}:`, '0/10');
    expect(seenByCopy(wrapped, 0xfffffff0, 0x10n)).toBe(true);
    expect(seenByCopy(wrapped, 9, 0x10n)).toBe(false);
    expect(seenByCopy(wrapped, 7, 0x10n)).toBe(true);
  });
});

describe('keyless tables (no primary or unique key) synced forward', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'keyless';

  beforeAll(async () => {
    ({ source, target } = await rolePair('sykl', [AUDIT_DDL]));
    await query(
      source,
      `INSERT INTO audit SELECT '2026-01-01'::timestamptz, 'a', 'x', '{"k": 1}', point(1, 2), NULL, 1.0 FROM generate_series(1, 3);
       INSERT INTO audit SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM generate_series(1, 2);
       INSERT INTO audit SELECT now(), 'u' || g, 'y', NULL, NULL, '', g FROM generate_series(1, 20) g`,
    );
  });

  test('GIVEN a spec table without forwardOnly, or with mapped columns WHEN parsed THEN it is refused by field', () => {
    const t = spec.tables[0];
    expect(() => parseSpec({ ...spec, tables: [{ ...t, forwardOnly: undefined }] })).toThrow(
      /forwardOnly must be true for a keyless table/,
    );
    expect(() => parseSpec({ ...spec, tables: [{ ...t, key: ['at'], columns: { actor: 's.actor' } }] })).toThrow(
      /columns must be empty for a keyless table/,
    );
  });

  test('GIVEN the source without REPLICA IDENTITY FULL WHEN the sync is created THEN it is refused by name', async () => {
    await expect(createSync(source, spec, id, 'forward')).rejects.toThrow(
      /public\.audit has no primary key and no REPLICA IDENTITY FULL/,
    );
  });

  test('GIVEN duplicates and NULLs WHEN copied and synced THEN one of two identical rows is updated or deleted, never both', async () => {
    await query(source, `ALTER TABLE audit REPLICA IDENTITY FULL`);
    await createSync(source, spec, id, 'forward');
    // Between the slot and the copy: in the stream AND in the copy, so replaying them would double them.
    await query(
      source,
      `INSERT INTO audit (actor) VALUES ('pre'), ('pre');
       UPDATE audit SET action = 'p' WHERE ctid = (SELECT min(ctid) FROM audit WHERE actor = 'pre');
       DELETE FROM audit WHERE actor = 'u20'`,
    );
    await copyAll(spec, source, target);
    expect(await multiset(target)).toEqual(await multiset(source));

    // One of three identical rows deleted, one of two all-NULL rows updated, a duplicate inserted.
    await query(source, `DELETE FROM audit WHERE ctid = (SELECT min(ctid) FROM audit WHERE actor = 'a')`);
    await query(
      source,
      `UPDATE audit SET action = 'seen' WHERE ctid = (SELECT min(ctid) FROM audit WHERE actor IS NULL)`,
    );
    await query(
      source,
      `INSERT INTO audit SELECT at, actor, action, detail, spot, big, n FROM audit WHERE actor = 'u1'`,
    );
    // In one transaction: an identical row added then one removed again; a row updated twice; a TOASTed value kept.
    await query(
      source,
      `BEGIN;
       INSERT INTO audit VALUES (NULL, 'dup', NULL, NULL, NULL, NULL, NULL), (NULL, 'dup', NULL, NULL, NULL, NULL, NULL);
       DELETE FROM audit WHERE ctid = (SELECT min(ctid) FROM audit WHERE actor = 'dup');
       UPDATE audit SET n = 100 WHERE actor = 'u2'; UPDATE audit SET n = 200 WHERE actor = 'u2';
       INSERT INTO audit VALUES (now(), 'toast', 'z', NULL, NULL, ${big}, 0);
       COMMIT`,
    );
    await query(source, `UPDATE audit SET n = 1 WHERE actor = 'toast'`); // big is unchanged: not sent ('u')
    const r = await runSync({ migrationId: id, direction: 'forward', spec, source, target });
    expect(r).toMatchObject({ conflicts: 0, caughtUp: true });
    const [counts] = await query<{ a: number; nul: number; seen: number; dup: number; u1: number; u2: number }>(
      target,
      `SELECT count(*) FILTER (WHERE actor = 'a')::int AS a, count(*) FILTER (WHERE actor IS NULL AND action IS NULL)::int AS nul,
              count(*) FILTER (WHERE action = 'seen')::int AS seen, count(*) FILTER (WHERE actor = 'dup')::int AS dup,
              count(*) FILTER (WHERE actor = 'u1')::int AS u1, count(*) FILTER (WHERE actor = 'u2' AND n = 200)::int AS u2
         FROM audit`,
    );
    expect(counts).toEqual({ a: 2, nul: 1, seen: 1, dup: 1, u1: 2, u2: 1 });
    const [toast] = await query<{ ok: boolean }>(
      target,
      `SELECT length(big) = 10240 AND n = 1 AS ok FROM audit WHERE actor = 'toast'`,
    );
    expect(toast.ok).toBe(true);
    expect(await multiset(target)).toEqual(await multiset(source));
  });

  test('GIVEN both identical rows deleted and a row deleted that the target lacks WHEN synced THEN the rest is exact', async () => {
    await query(target, `DELETE FROM audit WHERE actor = 'u3'`); // drifted: its DELETE finds nothing and removes nothing
    await query(source, `DELETE FROM audit WHERE actor IN ('u1', 'u3')`);
    await query(source, `UPDATE audit SET detail = '{"k": 2}' WHERE actor = 'a'`);
    await runSync({ migrationId: id, direction: 'forward', spec, source, target });
    expect(await multiset(target)).toEqual(await multiset(source));
  });

  test('GIVEN the synced table WHEN validated THEN count and hash match, without a key bisection', async () => {
    const layout = await describeTableWith(qualifiedTableSpec(spec.tables[0]), source, target);
    const v = await validateTable(layout, source, target, { runId: 'copy-1' });
    expect(v).toMatchObject({ match: true, chunks: 1 });
    await query(target, `INSERT INTO audit (actor) VALUES ('extra')`);
    const bad = await validateTable(layout, source, target, { runId: 'copy-1' });
    expect(bad).toMatchObject({ match: false, mismatchedChunks: [0] });
    expect(bad.differences).toEqual({ missing: [], extra: [], changed: [], truncated: false });
    // Under writes: no keys to recheck, so the difference must not pass as "nothing left".
    const under = await validateUnderWrites(layout, source, target, {
      runId: 'copy-1',
      migrationId: id,
      spec,
      rounds: 2,
    });
    expect(under.match).toBe(false);
    await query(target, `DELETE FROM audit WHERE actor = 'extra'`);
    expect(
      (await validateUnderWrites(layout, source, target, { runId: 'copy-1', migrationId: id, spec, rounds: 2 })).match,
    ).toBe(true);
  });
  test('GIVEN writes to the table throughout WHEN validated under writes THEN it matches at a consistent cut', async () => {
    const layout = await describeTableWith(qualifiedTableSpec(spec.tables[0]), source, target);
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing) {
        await query(source, `INSERT INTO audit (actor, n) VALUES ('busy', ${n % 3}), ('busy', ${n % 3})`);
        await query(source, `DELETE FROM audit WHERE ctid = (SELECT min(ctid) FROM audit WHERE actor = 'busy')`);
        n++;
      }
    })();
    try {
      const v = await validateUnderWrites(layout, source, target, {
        runId: 'copy-1',
        migrationId: id,
        spec,
        rounds: 5,
      });
      expect(v.match).toBe(true);
    } finally {
      writing = false;
      await writer;
    }
    expect(n).toBeGreaterThan(0);
  }, 120_000);
});
