import { type DbEndpoint, describeTablesWith, parseSpec } from '../../../lambda/engine';
import { createSync, qualifiedTableSpec } from '../../../lambda/engine/sync';
import { validateManyUnderWrites } from '../../../lambda/engine/validate-under-writes';
import { query } from '../../support/pg';
import { copyAll, rolePair } from './sync/helpers';

/**
 * Many small tables, a writer touching all of them while they are validated: the recheck rounds are
 * shared, one sync run per round (not one per table per round), and every table matches.
 */
const TABLES = 80;
const ROWS = 20;
const ROUNDS = 5;
const name = (i: number) => `t${String(i).padStart(3, '0')}`;
const ddl = (i: number) => `CREATE TABLE public.${name(i)} (id bigint PRIMARY KEY, n int NOT NULL)`;
const spec = parseSpec({
  version: 1,
  name: 'many-vuw',
  targetDdl: Array.from({ length: TABLES }, (_x, i) => ddl(i)),
  tables: Array.from({ length: TABLES }, (_x, i) => ({
    name: name(i),
    source: { table: name(i) },
    key: ['id'],
    target: { table: name(i) },
    columns: { n: 's.n' },
  })),
});

describe('validation of many tables while the service keeps writing', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'vmuw';
  const layouts = () =>
    describeTablesWith(
      spec.tables.map((t) => qualifiedTableSpec(t)),
      source,
      target,
    );

  beforeAll(async () => {
    const sourceDdl = Array.from({ length: TABLES }, (_x, i) => ddl(i));
    ({ source, target } = await rolePair('vmuw', sourceDdl));
    for (let i = 0; i < TABLES; i++)
      await query(source, `INSERT INTO public.${name(i)} SELECT g, 0 FROM generate_series(1, ${ROWS}) g`);
    await createSync(source, spec, id, 'forward');
    await copyAll(spec, source, target);
  }, 300_000);

  /** Every table gets a change the sync has not applied yet: each differs at first. */
  const touchAll = async () => {
    for (let i = 0; i < TABLES; i++) await query(source, `UPDATE public.${name(i)} SET n = n + 1 WHERE id = 1`);
  };

  /** Updates, inserts and deletes round-robin over every table until stopped. */
  let i = 0; // across tests: the inserted keys never repeat
  const startWriter = () => {
    let writing = true;
    const done = (async () => {
      while (writing) {
        const t = name(i % TABLES);
        i++;
        await query(source, `UPDATE public.${t} SET n = n + 1 WHERE id = ${1 + (i % ROWS)}`);
        await query(source, `INSERT INTO public.${t} VALUES (${1000 + i}, ${i})`);
        if (i % 3 === 0) await query(source, `DELETE FROM public.${t} WHERE id = ${1000 + i - 1}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    return async () => {
      writing = false;
      await done;
    };
  };

  test('GIVEN a writer touching every table during validation WHEN validated under writes THEN every table matches, with one sync run per round, not per table', async () => {
    await touchAll();
    const stop = startWriter();
    const runs: string[] = [];
    try {
      const ls = await layouts();
      const results = await validateManyUnderWrites(ls, source, target, {
        runId: 'vmuw-1',
        migrationId: id,
        spec,
        rounds: ROUNDS,
        onSyncRun: (d) => runs.push(d),
      });
      expect(results.map((r) => r.validation.table)).toEqual(ls.map((l) => l.spec.name));
      expect(results.filter((r) => !r.match).map((r) => r.validation.table)).toEqual([]);
      const rechecked = results.filter((r) => r.rounds > 0);
      expect(rechecked).toHaveLength(TABLES);
      // Shared rounds: at most one forward run per round for all 80 differing tables.
      expect(runs.length).toBeGreaterThan(0);
      expect(runs.length).toBeLessThanOrEqual(Math.max(...results.map((r) => r.rounds)));
      expect(runs.every((d) => d === 'forward')).toBe(true);
    } finally {
      await stop();
    }
  }, 600_000);

  test('GIVEN one table changed behind the sync among many written ones WHEN validated under writes THEN only it is a mismatch naming the key', async () => {
    await touchAll();
    await query(target, `UPDATE public.${name(41)} SET n = -1 WHERE id = 7`);
    const stop = startWriter();
    try {
      const results = await validateManyUnderWrites(await layouts(), source, target, {
        runId: 'vmuw-2',
        migrationId: id,
        spec,
        rounds: 3,
      });
      const bad = results.filter((r) => !r.match);
      expect(bad).toHaveLength(1);
      expect(bad[0].validation.table).toContain(name(41));
      expect(bad[0].mismatches.changed).toEqual([['7']]);
    } finally {
      await stop();
    }
  }, 600_000);

  test('GIVEN a deadline already passed WHEN validated under writes THEN it stops with ValidationIncompleteError naming tables', async () => {
    await expect(
      validateManyUnderWrites(await layouts(), source, target, {
        runId: 'vmuw-3',
        migrationId: id,
        spec,
        deadline: Date.now() - 1,
      }),
    ).rejects.toMatchObject({ name: 'ValidationIncompleteError', message: expect.stringContaining(name(0)) });
  }, 120_000);
});
