import type { DbEndpoint } from '../../../lambda/engine';
import { registerSpec } from '../../../lambda/engine/specs';
import { createSync, SyncLagError } from '../../../lambda/engine/sync';
import type { PhaseDeps } from '../../../lambda/handlers/support/deps';
import { createLogger } from '../../../lambda/handlers/support/logger';
import { sync } from '../../../lambda/handlers/sync';
import { query } from '../../support/pg';
import { copyAll, itemsSpec, rolePair, rowsOf } from '../engine/sync/helpers';

registerSpec(itemsSpec);

/**
 * The catch-up before any traffic: Migrate calls `drain` with `catchUp` until the lag is below
 * `maxLagSeconds`; once `minutes` have passed since the first call without getting there, the
 * handler fails with SyncLagError instead of looping for as long as the source outruns the sync.
 */
describe('sync handler, drain with a catch-up limit, as the migration login', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'catchup';
  const logs: string[] = [];
  const deps = () =>
    ({
      log: createLogger({}, (l) => logs.push(l)),
      specName: itemsSpec.name,
      sourceDb: async () => source,
      targetDb: async () => target,
      now: () => Date.now(),
    }) as unknown as PhaseDeps;
  /** `secondsLeft` is the invocation's remaining time: the handler keeps 30 s for itself, so 31 s leaves a 1-second run. */
  const drain = (catchUp: object, secondsLeft = 900) =>
    sync.make(deps)(
      { action: 'drain', migrationId: id, direction: 'forward', catchUp },
      { getRemainingTimeInMillis: () => secondsLeft * 1000 },
    ) as Promise<Record<string, unknown>>;
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

  beforeAll(async () => {
    ({ source, target } = await rolePair('sycu'));
    await query(source, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 1000) g`);
    await createSync(source, itemsSpec, id, 'forward');
    await copyAll(itemsSpec, source, target);
    // A backlog of 300 transactions of 1,000 rows each: more than a 1-second run applies.
    await query(
      source,
      `DO $$ BEGIN FOR i IN 1..300 LOOP INSERT INTO items SELECT 10000 + i * 1000 + g, 'w', NULL, 0 FROM generate_series(0, 999) g; COMMIT; END LOOP; END $$`,
    );
  });

  test('fails when the catch-up is still behind after its minutes, naming the lag and what to do, and loses nothing', async () => {
    const err = await drain({ maxLagSeconds: 0, minutes: 1, startedAt: minutesAgo(2) }, 31).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncLagError);
    expect((err as Error).message).toMatch(
      /^CatchUp: the forward sync has not caught up after 2 min \(limit 1\): lag [\d.]+ s .* maximum 0 s; .*No traffic moved and nothing was lost/,
    );
    // What the failed round applied stays applied; the rest is still in the slot: a later drain converges.
    const more = await drain({ maxLagSeconds: 0, minutes: 1 });
    expect(more).toMatchObject({ done: true });
    expect(await rowsOf(target, 'public.items')).toEqual(await rowsOf(source, 'public.items'));
  }, 60_000);

  test('GIVEN a first call that cannot finish in its run WHEN it returns THEN it is not done and says when the catch-up started, for the next call', async () => {
    await query(
      source,
      `DO $$ BEGIN FOR i IN 1..300 LOOP INSERT INTO items SELECT 1000000 + i * 1000 + g, 'w', NULL, 0 FROM generate_series(0, 999) g; COMMIT; END LOOP; END $$`,
    );
    const before = Date.now();
    const first = await drain({ maxLagSeconds: 0, minutes: 1 }, 31);
    expect(first).toMatchObject({ done: false });
    expect(Date.parse(first.catchUpStartedAt as string)).toBeGreaterThanOrEqual(before - 1000);
    // The next call carries the start along and, within the minutes, keeps going.
    const next = await drain({ maxLagSeconds: 0, minutes: 1, startedAt: first.catchUpStartedAt });
    expect(next).toMatchObject({ done: true, catchUpStartedAt: first.catchUpStartedAt });
  }, 60_000);

  test('GIVEN a caught-up sync WHEN the catch-up started long ago THEN it passes: the limit only stops a catch-up that is behind', async () => {
    const r = await drain({ maxLagSeconds: 0, minutes: 1, startedAt: minutesAgo(120) });
    expect(r).toMatchObject({ done: true, lagSeconds: 0 });
    expect(logs.join('\n')).not.toMatch(/'w'|item \d+/); // counts and positions only
  });
});
