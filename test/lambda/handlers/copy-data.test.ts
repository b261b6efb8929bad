import { DISTRIBUTED_COPY } from '../../../lambda/core/limits';
import { type DbEndpoint, describeTableWith, parseSpec, prepareTarget, validateTable } from '../../../lambda/engine';
import { chatHistorySpec } from '../../../lambda/engine/specs/chat-history';
import { registerSpec } from '../../../lambda/engine/specs';
import { copyData } from '../../../lambda/handlers/copy-data';
import type { PhaseDeps } from '../../../lambda/handlers/support/deps';
import { InvalidInputError } from '../../../lambda/handlers/support/input';
import { createLogger } from '../../../lambda/handlers/support/logger';
import { asMigrationRole, query, seededPair } from '../../support/pg';

/** The example spec cut small: 100 conversations in 4 chunks, 2,000 messages in 80. */
const SMALL = parseSpec({
  ...chatHistorySpec,
  name: 'chat-history-small-chunks',
  tables: chatHistorySpec.tables.map((t) => ({ ...t, chunkSize: 25 })),
});
/** One row per chunk: 2,100 chunks, more than a plan's item list may hold at one chunk per item. */
const TINY = parseSpec({
  ...chatHistorySpec,
  name: 'chat-history-tiny-chunks',
  tables: chatHistorySpec.tables.map((t) => ({ ...t, chunkSize: 1 })),
});
registerSpec(SMALL);
registerSpec(TINY);

type Plan = {
  tables: { table: string; chunks: number; chunksCopied: number }[];
  chunks: number;
  chunksPerItem: number;
  itemsAlreadyCopied: number;
  items: { table: string; from: number; to: number }[];
};

describe('CopyData handler, action plan (copy.mode distributed), as the migration login', () => {
  let adminTarget: DbEndpoint; // the superuser: inspects
  let source: DbEndpoint; // the migration login: LOGIN REPLICATION, owns its databases, not superuser
  let target: DbEndpoint;
  const logs: string[] = [];
  const deps = (specName: string) =>
    ({
      log: createLogger({}, (l) => logs.push(l)),
      specName,
      sourceDb: async () => source,
      targetDb: async () => target,
      now: () => Date.now(),
    }) as unknown as PhaseDeps;
  const run = (specName: string, input: unknown) =>
    copyData.make(() => deps(specName))(input, { getRemainingTimeInMillis: () => 900_000 });

  beforeAll(async () => {
    const pair = await seededPair('cdplan', 2_000);
    adminTarget = pair.target;
    source = await asMigrationRole(pair.source);
    target = await asMigrationRole(pair.target);
    // On RDS the migration login owns the app's tables (the master user created them).
    await query(
      pair.source,
      'ALTER TABLE chat_messages OWNER TO switchyard; ALTER TABLE chat_sessions OWNER TO switchyard',
    );
    await prepareTarget(SMALL, source, target, { deferIndexes: true });
  });

  test('GIVEN a prepared target WHEN planned THEN every chunk of every table is in exactly one group of consecutive chunks, and planning again gives the same groups', async () => {
    const plan = (await run(SMALL.name, { action: 'plan', migrationId: 'm-plan', chunksPerItem: 8 })) as Plan;
    expect(plan).toEqual({
      tables: [
        { table: 'conversations', chunks: 4, chunksCopied: 0 },
        { table: 'messages', chunks: 80, chunksCopied: 0 },
      ],
      chunks: 84,
      chunksPerItem: 8,
      itemsAlreadyCopied: 0,
      items: [
        { table: 'conversations', from: 0, to: 3 },
        ...Array.from({ length: 10 }, (_x, i) => ({ table: 'messages', from: i * 8, to: i * 8 + 7 })),
      ],
    });
    // The plan is stored in the target's bookkeeping schema: a retried PlanCopy reads it back.
    const stored = await query<{ n: number }>(
      adminTarget,
      `SELECT count(*)::int AS n FROM switchyard.copy_chunks WHERE run_id = 'm-plan'`,
    );
    expect(stored[0].n).toBe(84);
    expect(await run(SMALL.name, { action: 'plan', migrationId: 'm-plan', chunksPerItem: 8 })).toEqual(plan);
    expect(logs.join('\n')).not.toMatch(/message \d+|User_/); // names and counts only
  });

  test('GIVEN the plan WHEN each group is copied with chunkNos, three at a time as child executions would THEN the target matches the source and a resumed plan has no items left', async () => {
    const plan = (await run(SMALL.name, { action: 'plan', migrationId: 'm-groups', chunksPerItem: 8 })) as Plan;
    const results: { table: string; complete: boolean; chunks: number }[] = [];
    for (let i = 0; i < plan.items.length; i += 3) {
      const batch = plan.items.slice(i, i + 3).map((g) =>
        run(SMALL.name, {
          migrationId: 'm-groups',
          table: g.table,
          concurrency: 2,
          chunkNos: { from: g.from, to: g.to },
        }),
      );
      results.push(...((await Promise.all(batch)) as typeof results));
    }
    expect(results.every((r) => r.complete)).toBe(true);
    expect(results.map((r) => r.chunks)).toEqual(plan.items.map((g) => g.to - g.from + 1));
    for (const t of SMALL.tables) {
      const v = await validateTable(await describeTableWith(t, source, target), source, target, { runId: 'm-groups' });
      expect(v.match).toBe(true);
    }
    const resumed = (await run(SMALL.name, { action: 'plan', migrationId: 'm-groups', chunksPerItem: 8 })) as Plan;
    expect(resumed).toMatchObject({
      items: [],
      itemsAlreadyCopied: 11,
      tables: [
        { table: 'conversations', chunks: 4, chunksCopied: 4 },
        { table: 'messages', chunks: 80, chunksCopied: 80 },
      ],
    });
  });

  test('GIVEN more chunks than the item cap WHEN planned at one chunk per item THEN groups grow so the list stays within the cap and still covers every chunk', async () => {
    const plan = (await run(TINY.name, { action: 'plan', migrationId: 'm-tiny', chunksPerItem: 1 })) as Plan;
    expect(plan.chunks).toBe(2_100);
    expect(plan.items.length).toBeLessThanOrEqual(DISTRIBUTED_COPY.maxItems);
    expect(plan.chunksPerItem).toBeGreaterThan(2);
    expect(JSON.stringify(plan.items).length).toBeLessThanOrEqual(DISTRIBUTED_COPY.maxItemsBytes);
    const covered = plan.items.reduce((n, g) => n + g.to - g.from + 1, 0);
    expect(covered).toBe(2_100);
  });

  test('fails when chunksPerItem is out of range, naming the field, before any database is reached', async () => {
    const unreachable = () =>
      ({
        ...deps(SMALL.name),
        sourceDb: () => Promise.reject(new Error('database reached')),
        targetDb: () => Promise.reject(new Error('database reached')),
      }) as PhaseDeps;
    for (const chunksPerItem of [0, DISTRIBUTED_COPY.chunksPerItem.max + 1, 1.5]) {
      const err = await copyData
        .make(unreachable)({ action: 'plan', migrationId: 'm-plan', chunksPerItem })
        .catch((e: Error) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as Error).message).toMatch(/^CopyData: invalid input: chunksPerItem /);
    }
  });

  test('GIVEN tables WHEN copied in one invocation THEN every table completes on one pool, the result holds counts only, and a rerun copies nothing', async () => {
    const input = { migrationId: 'm-tables', tables: ['conversations', 'messages'], concurrency: 2 };
    expect(await run(SMALL.name, input)).toEqual({
      tables: 2,
      tablesComplete: 2,
      chunks: 84,
      chunksCopied: 84,
      rowsCopied: 2_100,
      rowsTotal: 2_100,
      complete: true,
    });
    for (const t of SMALL.tables) {
      const v = await validateTable(await describeTableWith(t, source, target), source, target, { runId: 'm-tables' });
      expect(v.match).toBe(true);
    }
    expect(await run(SMALL.name, input)).toMatchObject({ rowsCopied: 0, rowsTotal: 2_100, complete: true });
  });

  test('fails when both table and tables (or chunkNos with tables) are given, before any database is reached', async () => {
    const unreachable = () =>
      ({
        ...deps(SMALL.name),
        sourceDb: () => Promise.reject(new Error('database reached')),
        targetDb: () => Promise.reject(new Error('database reached')),
      }) as PhaseDeps;
    for (const input of [
      { migrationId: 'm-x', table: 'messages', tables: ['messages'] },
      { migrationId: 'm-x' },
      { migrationId: 'm-x', tables: ['messages'], chunkNos: { from: 0, to: 1 } },
    ]) {
      const err = await copyData
        .make(unreachable)(input)
        .catch((e: Error) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as Error).message).toMatch(
        /^CopyData: invalid input: (table give either table or tables|chunkNos applies to one table only)/,
      );
    }
  });

  test('fails when the action is unknown, listing the valid ones (none means copy)', async () => {
    const err = await run(SMALL.name, { action: 'split', migrationId: 'm-plan' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toBe(
      "CopyData: invalid input: action Invalid discriminator value. Expected 'copy' | 'undefined' | 'plan'",
    );
  });
});

describe('CopyData handler: two copies of the same chunk at once (a retried invocation beside the first)', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const deps = () =>
    ({
      log: createLogger({}, () => undefined),
      specName: 'chat-history',
      sourceDb: async () => source,
      targetDb: async () => target,
      now: () => Date.now(),
    }) as unknown as PhaseDeps;
  const copy = () =>
    copyData.make(deps)(
      { migrationId: 'm-twice', table: 'messages', concurrency: 1 },
      { getRemainingTimeInMillis: () => 900_000 },
    );

  beforeAll(async () => {
    const pair = await seededPair('cdtwice', 20_000);
    source = await asMigrationRole(pair.source);
    target = await asMigrationRole(pair.target);
    await query(
      pair.source,
      'ALTER TABLE chat_messages OWNER TO switchyard; ALTER TABLE chat_sessions OWNER TO switchyard',
    );
    await prepareTarget(chatHistorySpec, source, target, { deferIndexes: true });
    await copyData.make(deps)({ migrationId: 'm-twice', table: 'conversations' });
  });

  test('GIVEN the same chunk copied twice concurrently WHEN both run THEN neither fails with a unique violation and the table matches the source', async () => {
    const runs = await Promise.allSettled([copy(), copy(), copy()]);
    expect(runs.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok']);
    const layout = await describeTableWith(chatHistorySpec.tables[1], source, target);
    expect((await validateTable(layout, source, target, { runId: 'm-twice' })).match).toBe(true);
  });
});
