import { describeTableWith, type DbEndpoint } from '../../../lambda/engine';
import { createSync, qualifiedTableSpec } from '../../../lambda/engine/sync';
import { validateUnderWrites } from '../../../lambda/engine/validate-under-writes';
import { query } from '../../support/pg';
import { copyAll, itemsSpec, rolePair } from './sync/helpers';

const ROWS = 2000;

describe('validation while the service keeps writing', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'vuw';
  const layout = () => describeTableWith(qualifiedTableSpec(itemsSpec.tables[0]), source, target);

  beforeAll(async () => {
    ({ source, target } = await rolePair('vuw'));
    await query(
      source,
      `INSERT INTO public.items (id, name) SELECT g, 'item ' || g FROM generate_series(1, ${ROWS}) g`,
    );
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
  });

  test('GIVEN a writer inserting, updating and deleting during validation WHEN validated under writes THEN it matches, with the changed keys rechecked', async () => {
    let writing = true;
    let i = 0;
    const writer = (async () => {
      while (writing) {
        i++;
        await query(source, `INSERT INTO public.items (id, name) VALUES (${ROWS + i}, 'new ${i}')`);
        await query(source, `UPDATE public.items SET n = n + 1 WHERE id = ${1 + (i % 300)}`);
        if (i % 4 === 0) await query(source, `DELETE FROM public.items WHERE id = ${500 + i}`);
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    const r = await validateUnderWrites(await layout(), source, target, {
      runId: 'vuw',
      migrationId: id,
      spec: itemsSpec,
    });
    writing = false;
    await writer;
    expect(r.mismatches).toEqual({ missing: [], extra: [], changed: [], truncated: false });
    expect(r.match).toBe(true);
    expect(r.keysRechecked).toBeGreaterThan(0);
  });

  test('GIVEN a busy service (hundreds of rows written per round) WHEN validated under writes THEN the pending keys do not overflow the listing: it matches', async () => {
    let writing = true;
    let next = 100_000;
    const writer = async () => {
      while (writing) {
        const from = next;
        next += 40;
        await query(
          source,
          `INSERT INTO public.items (id, name) SELECT g, 'busy' FROM generate_series(${from}, ${from + 39}) g`,
        );
      }
    };
    const writers = [writer(), writer()];
    await new Promise((r) => setTimeout(r, 500));
    const r = await validateUnderWrites(await layout(), source, target, {
      runId: 'vuw',
      migrationId: id,
      spec: itemsSpec,
    });
    writing = false;
    await Promise.all(writers);
    expect(r.mismatches.truncated).toBe(false);
    expect(r.match).toBe(true);
    expect(r.keysRechecked).toBeGreaterThan(100);
  });

  test("GIVEN a target row changed behind the sync's back WHEN validated under writes THEN it is a mismatch naming the key", async () => {
    await query(target, `UPDATE public.items SET name = 'tampered' WHERE id = 7`);
    const r = await validateUnderWrites(await layout(), source, target, {
      runId: 'vuw2',
      migrationId: id,
      spec: itemsSpec,
      rounds: 2,
    });
    expect(r.match).toBe(false);
    expect(r.mismatches.changed).toEqual([['7']]);
  });

  test('GIVEN a permanent difference in a TOASTed column of a row the service keeps updating WHEN validated under writes THEN the busy row does not hide it: a mismatch naming the key', async () => {
    const big = `(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 320) g)`; // ~10 KB, stored out of line
    await query(source, `UPDATE public.items SET big = ${big} WHERE id = 9`);
    await query(source, `UPDATE public.items SET big = ${big} WHERE id = 9`);
    const { runSync } = await import('../../../lambda/engine/sync');
    await runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source, target });
    // Changed behind the sync's back; the source's updates of n leave big out (unchanged TOAST), so it never heals.
    await query(target, `UPDATE public.items SET big = 'damaged' WHERE id = 9`);
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await query(source, `UPDATE public.items SET n = n + 1 WHERE id = 9`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const r = await validateUnderWrites(await layout(), source, target, {
        runId: 'vuw3',
        migrationId: id,
        spec: itemsSpec,
        rounds: 4,
      });
      expect(r.match).toBe(false);
      expect(r.mismatches.changed).toContainEqual(['9']);
    } finally {
      writing = false;
      await writer;
    }
  });
});
