import {
  connect,
  copyChunk,
  copyTable,
  type DbEndpoint,
  describeTableWith,
  loadPlan,
  parseSpec,
  prepareTarget,
  validateTable,
} from '../../../lambda/engine';
import { normaliseCollation } from '../../../lambda/engine/collation';
import type { TableLayout } from '../../../lambda/engine/sql';
import { asMigrationRole, freshDatabase, query } from '../../support/pg';

/** Text keys that sort differently byte-wise ("C") and linguistically (ICU "en"): capitals, digits, punctuation. */
const KEYS = `SELECT k FROM (SELECT chr(65 + g % 26) || g AS k FROM generate_series(1, 150) g UNION ALL SELECT chr(97 + g % 26) || '-' || g FROM generate_series(1, 150) g UNION ALL SELECT '_' || g FROM generate_series(1, 20) g) x`;

const spec = (targetCollation: string) =>
  parseSpec({
    version: 1,
    name: `codes-${targetCollation.replace(/\W/g, '').toLowerCase()}`,
    targetDdl: [`CREATE TABLE public.codes (code text COLLATE "${targetCollation}" PRIMARY KEY, v int NOT NULL)`],
    tables: [
      {
        name: 'codes',
        source: { table: 'codes' },
        key: ['code'],
        target: { table: 'codes' },
        columns: { v: 's.v' },
        chunkSize: 10,
      },
    ],
  });

describe('text keys that sort differently on the two sides', () => {
  /** Copy one chunk again, as a retry does (DELETE of its key range on the target, then the copy): the target's row count after it. */
  async function retryChunk(
    layout: TableLayout,
    source: DbEndpoint,
    target: DbEndpoint,
    chunkNo: number,
  ): Promise<number> {
    const [src, tgt] = [await connect(source), await connect(target)];
    try {
      const chunk = (await loadPlan(tgt, 'coll', 'codes')).find((c) => c.chunkNo === chunkNo)!;
      await copyChunk(layout, chunk, src, tgt, 'coll', { fresh: false });
      return Number((await tgt.query('SELECT count(*) AS n FROM public.codes')).rows[0].n);
    } finally {
      await src.end();
      await tgt.end();
    }
  }

  test('GIVEN a "C" key on the source and an ICU "en" key on the target WHEN a chunk is copied again (a retry) THEN its DELETE removes only its own rows, because the target compares ranges in the source\'s order', async () => {
    const source = await asMigrationRole(await freshDatabase('colls'));
    const target = await asMigrationRole(await freshDatabase('collt'));
    await query(source, `CREATE TABLE codes (code text COLLATE "C" PRIMARY KEY, v int NOT NULL)`);
    await query(source, `INSERT INTO codes SELECT k, length(k) FROM (${KEYS}) keys`);
    const s = spec('en-x-icu');
    await prepareTarget(s, source, target);
    const layout = await describeTableWith(s.tables[0], source, target);
    expect(layout.targetKeyCollations).toEqual(['pg_catalog."C"']);
    expect(await copyTable(layout, source, target, { runId: 'coll', concurrency: 2 })).toMatchObject({
      complete: true,
      rowsTotal: 320,
    });
    for (const chunkNo of [3, 12, 20]) expect(await retryChunk(layout, source, target, chunkNo)).toBe(320);
    expect((await validateTable(layout, source, target, { runId: 'coll' })).match).toBe(true);
    // Without the source's order on the target, the same retry deletes rows of other chunks that it does not copy back.
    expect(await retryChunk({ ...layout, targetKeyCollations: undefined }, source, target, 12)).toBeLessThan(320);
  });

  test('GIVEN the same collation on both sides WHEN described THEN nothing is forced (the target key index serves the ranges)', async () => {
    const source = await asMigrationRole(await freshDatabase('coll2s'));
    const target = await asMigrationRole(await freshDatabase('coll2t'));
    await query(source, `CREATE TABLE codes (code text COLLATE "C" PRIMARY KEY, v int NOT NULL)`);
    const s = spec('C');
    await prepareTarget(s, source, target);
    expect((await describeTableWith(s.tables[0], source, target)).targetKeyCollations).toBeUndefined();
  });

  test('GIVEN a source key collation the target has nothing like WHEN prepared THEN the target keeps its own order and PrepareTarget warns what a retry risks and how to avoid it', async () => {
    const source = await asMigrationRole(await freshDatabase('coll3s'));
    const target = await asMigrationRole(await freshDatabase('coll3t'));
    // Collations are per database: this one exists only on the source.
    await query(source, `CREATE COLLATION phonebook (provider = icu, locale = 'de-u-co-phonebk')`);
    await query(source, `CREATE TABLE codes (code text COLLATE phonebook PRIMARY KEY, v int NOT NULL)`);
    const s = spec('C');
    const prepared = await prepareTarget(s, source, target);
    expect(prepared.warnings).toEqual([
      expect.stringMatching(
        /^table codes: key column code sorts by collation icu:de-u-co-phonebk on the source and c on the target, .*COLLATE in targetDdl/,
      ),
    ]);
    const layout = await describeTableWith(s.tables[0], source, target);
    expect(layout.targetKeyCollations).toBeUndefined();
  });

  test('normalises collations that sort alike by byte', () => {
    expect(['C', 'POSIX', 'C.UTF-8', 'C.utf8', 'builtin:C.UTF-8', 'builtin:C'].map(normaliseCollation)).toEqual([
      'c',
      'c',
      'c',
      'c',
      'c',
      'c',
    ]);
    expect(normaliseCollation('en_US.UTF-8')).toBe('en_us.utf8');
    expect(normaliseCollation('icu:en')).toBe('icu:en');
    expect(normaliseCollation(null)).toBeNull();
  });
});
