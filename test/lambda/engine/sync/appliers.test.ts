import type { DbEndpoint } from '../../../../lambda/engine';
import { createSync, runSync, slotStatus } from '../../../../lambda/engine/sync';
import { query } from '../../../support/pg';
import { copyAll, countWrites, itemsSpec, rolePair, rowsOf, writes } from './helpers';

/**
 * runSync holds the slot's advisory lock on the source for each batch (peek, apply, commit, advance)
 * and re-reads the stored position under it: two appliers of one slot (a bake and an operator's
 * drain) must still apply every change exactly once, in any interleaving.
 */
describe('two appliers of one slot', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'appliers';

  beforeAll(async () => {
    ({ source, target } = await rolePair('syap'));
    await query(source, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 30000) g`);
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
    await countWrites(target, 'public.items');
  });

  test('GIVEN writes for 3 s WHEN two continuous appliers and a bounded drain run on the same slot THEN every write is applied exactly once', async () => {
    const before = await writes(target);
    const ac = new AbortController();
    const run = (extra: object) =>
      runSync({ migrationId: id, direction: 'forward', spec: itemsSpec, source, target, pollMs: 10, ...extra });
    const a = run({ signal: ac.signal });
    const b = run({ signal: ac.signal, batchChanges: 7 });
    // Every write touches a key nothing else touches: no coalescing, so the destination's row writes count the applies.
    let n = 0;
    const writer = async (w: number) => {
      const end = Date.now() + 3000;
      for (let i = 0; Date.now() < end; i++) {
        const k = 100_000 * (w + 1) + i;
        if (i % 4 === 3)
          await query(
            source,
            `BEGIN; INSERT INTO items VALUES (${k}, 'tx', NULL, 0); UPDATE items SET n = -1 WHERE id = ${10_000 * w + i + 1}; COMMIT`,
          );
        else await query(source, `INSERT INTO items VALUES (${k}, 'w', NULL, 0)`);
        n += i % 4 === 3 ? 2 : 1;
      }
    };
    const drain = (async () => {
      await new Promise((r) => setTimeout(r, 1500));
      return run({ maxMs: 1000 });
    })();
    await Promise.all([writer(0), writer(1), writer(2)]);
    ac.abort();
    const [ra, rb, rc] = await Promise.all([a, b, drain]);
    const rest = await run({});
    const applied = [ra, rb, rc, rest].reduce((s, r) => s + r.inserted + r.updated, 0);
    expect(applied).toBe(n);
    expect((await writes(target)) - before).toBe(n);
    expect(ra.transactions + rb.transactions).toBeGreaterThan(0);
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
    const again = await run({});
    expect(again).toMatchObject({ transactions: 0, alreadyApplied: 0, caughtUp: true });
    expect((await slotStatus(source, id, 'forward')).confirmedLsn).toBe(again.appliedLsn);
  }, 60_000);
});
