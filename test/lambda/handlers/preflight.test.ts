import { MemoryConfigStore } from '../../../lambda/adapters/local/memory-config-store';
import { MemoryLockStore } from '../../../lambda/adapters/local/memory-lock';
import { MemorySnapshots } from '../../../lambda/adapters/local/local-snapshots';
import { MemoryRouter, StaticAlarms } from '../../../lambda/adapters/local/local-traffic';
import { connect, type DbEndpoint } from '../../../lambda/engine';
import { PreflightNoGoError } from '../../../lambda/core/preflight/evaluate';
import type { PhaseDeps } from '../../../lambda/handlers/support/deps';
import { InvalidInputError } from '../../../lambda/handlers/support/input';
import { createLogger } from '../../../lambda/handlers/support/logger';
import { preflight } from '../../../lambda/handlers/preflight';
import { backup as createSnapshot, backupStatus as snapshotStatus } from '../../../lambda/handlers/backup';
import { healthGate } from '../../../lambda/handlers/health-gate';
import { seededPair } from '../../support/pg';

async function localDeps(source: DbEndpoint, target: DbEndpoint, over: Partial<PhaseDeps> = {}): Promise<PhaseDeps> {
  const params = new MemoryConfigStore('parameter');
  await params.put('/chat/old/db/host', 'old');
  const snapshots = new MemorySnapshots();
  await snapshots.create('old-db', 'automated-1');
  return {
    stage: 'test',
    log: createLogger({}, () => undefined),
    specName: 'chat-history',
    sourceDb: async () => source,
    targetDb: async () => target,
    router: new MemoryRouter(),
    alarms: new StaticAlarms(),
    snapshots,
    lock: new MemoryLockStore(),
    oldDbId: 'old-db',
    configStores: [params],
    transferRules: { parameters: { from: '/chat/old', to: '/chat/new' } },
    repointOldDatabase: async () => undefined,
    defaults: {
      schedule: [5, 25, 50, 100],
      bakeSeconds: 0,
      maxCatchUpLagSeconds: 5,
      maxCatchUpMinutes: 60,
      copyConcurrency: 2,
    },
    now: () => Date.now(),
    ...over,
  };
}

describe('Preflight handler', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  beforeAll(async () => {
    ({ source, target } = await seededPair('p', 200));
  });

  test('GIVEN everything in place WHEN run THEN go, with every check reported', async () => {
    const out = await preflight.make(() => localDeps(source, target))({ migrationId: 'm1' });
    expect(out.go).toBe(true);
    expect(out.checks.map((c) => [c.name, c.ok])).toEqual([
      ['sourceDatabase', true],
      ['replication', true],
      ['slotWalLimit', true],
      ['storageHeadroom', true],
      ['connections', true],
      ['targetDatabase', true],
      ['configuration', true],
      ['healthAlarms', true],
      ['lastSnapshot', true],
      ['routing', true],
    ]);
  });

  test('fails with PreflightNoGoError listing every reason, not just the first', async () => {
    const deps = await localDeps(source, target, {
      router: new MemoryRouter({ old: 50, new: 50 }),
      alarms: new StaticAlarms([{ name: 'new-5xx', state: 'ALARM', since: new Date() }]),
      sourceDb: async () => ({ ...source, port: 1 }),
    });
    const err = await preflight
      .make(() => deps)({ migrationId: 'm1' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(PreflightNoGoError);
    expect(err.message).toMatch(/sourceDatabase: DatabaseUnreachableError: cannot connect to 127.0.0.1:1/);
    expect(err.message).toMatch(/healthAlarms: alarm new-5xx is in ALARM/);
    expect(err.message).toMatch(/routing: local router at old 50 \/ new 50 \(expected 100 \/ 0\)/);
    // The unreachable source fails its own check, the replication check and the connections check
    // (the storage check reads nothing without a storage reader: not applicable).
    expect(err.report.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name)).toEqual([
      'sourceDatabase',
      'replication',
      'slotWalLimit',
      'connections',
      'healthAlarms',
      'routing',
    ]);
  });

  test('GIVEN free storage known on both sides WHEN run THEN storageHeadroom judges each side from its WAL rate; unknown, it is not applicable', async () => {
    const storage = { freeStorageBytes: async () => 1024 ** 4 };
    const known = await preflight.make(() => localDeps(source, target, { storage }))({ migrationId: 'm1' });
    expect(known.checks.find((c) => c.name === 'storageHeadroom')).toMatchObject({
      ok: true,
      status: 'pass',
      detail: expect.stringMatching(/^old: 1024\.0 GB free, a 24 h stall retains [\d.]+ GB; new: 1024\.0 GB free/),
    });
    const unknown = await preflight.make(() => localDeps(source, target))({ migrationId: 'm1' });
    expect(unknown.checks.find((c) => c.name === 'storageHeadroom')).toMatchObject({ status: 'not-applicable' });
    const unreachable = await preflight
      .make(() => localDeps(source, target, { storage, sourceDb: async () => ({ ...source, port: 1 }) }))({
        migrationId: 'm1',
      })
      .catch((e) => e);
    expect(unreachable.report.checks.find((c: { name: string }) => c.name === 'storageHeadroom')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/DatabaseUnreachableError/),
    });
  });

  test('fails when a long-running transaction is open on the source', async () => {
    const blocker = await connect(source);
    await blocker.query("BEGIN; SELECT 1; SET LOCAL application_name = 'blocker'");
    await new Promise((r) => setTimeout(r, 1100));
    const err = await preflight
      .make(() => localDeps(source, target))({ migrationId: 'm1', maxTransactionSeconds: 1 })
      .catch((e) => e);
    await blocker.query('ROLLBACK');
    await blocker.end();
    expect(err.message).toMatch(/sourceDatabase: 1 transaction\(s\) open longer than 1 s/);
  });

  test('fails when the copy would take the connections the live service needs, on either side, naming what to lower', async () => {
    // A Distributed Map of 100 workers × 16 chunk copies: 1,603 connections on a server that allows 100.
    const err = await preflight
      .make(() => localDeps(source, target))({ migrationId: 'm1', copyConcurrency: 16, copyWorkers: 100 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(PreflightNoGoError);
    expect(err.report.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name)).toEqual([
      'connections',
    ]);
    expect(err.message).toMatch(
      /connections: old needs up to 1603 connection\(s\) \(copy 16 × 100 worker\(s\) \+ 3 for sync, lock and checks\); max_connections \d+ \(\d+ reserved\), \d+ in use, \d+ kept free for the service: only \d+ available; lower copyConcurrency \(or copy.maxConcurrency\)/,
    );
    expect(err.message).toMatch(/new needs up to 1603 connection/);
  });

  test('fails with InvalidInputError on malformed input', async () => {
    await expect(preflight.make(() => localDeps(source, target))({ migrationId: '' })).rejects.toThrow(
      InvalidInputError,
    );
  });
});

describe('Backup handlers', () => {
  test('create is idempotent and status reports available', async () => {
    const deps = await localDeps({} as DbEndpoint, {} as DbEndpoint);
    const create = createSnapshot.make(() => deps);
    const a = await create({ migrationId: 'm-7' });
    const b = await create({ migrationId: 'm-7' });
    expect(a).toEqual({ snapshotId: 'switchyard-test-m-7', status: 'available' });
    expect(b).toEqual(a);
    await expect(snapshotStatus.make(() => deps)({ migrationId: 'm-7', snapshotId: a.snapshotId })).resolves.toEqual({
      snapshotId: a.snapshotId,
      status: 'available',
    });
    await expect(snapshotStatus.make(() => deps)({ migrationId: 'm-7', snapshotId: 'nope' })).rejects.toThrow(
      'snapshot nope does not exist',
    );
  });
});

describe('HealthGate handler', () => {
  test('an alarm that cannot be read makes the gate unhealthy, with the reason', async () => {
    const deps = await localDeps({} as DbEndpoint, {} as DbEndpoint, {
      alarms: {
        read: async () => {
          throw Object.assign(new Error('cloudwatch:DescribeAlarms was denied'), { name: 'AwsAccessDeniedError' });
        },
      },
    });
    await expect(healthGate.make(() => deps)({ migrationId: 'm1' })).resolves.toMatchObject({
      healthy: false,
      reasons: ['health alarms could not be read: AwsAccessDeniedError: cloudwatch:DescribeAlarms was denied'],
    });
  });

  test('INSUFFICIENT_DATA beyond the grace period is unhealthy', async () => {
    const deps = await localDeps({} as DbEndpoint, {} as DbEndpoint, {
      alarms: new StaticAlarms([{ name: 'a', state: 'INSUFFICIENT_DATA', since: new Date(0) }]),
    });
    await expect(
      healthGate.make(() => deps)({ migrationId: 'm1', insufficientDataGraceSeconds: 60 }),
    ).resolves.toMatchObject({ healthy: false });
  });
});
