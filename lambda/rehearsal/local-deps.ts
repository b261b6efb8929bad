import { environmentTransferRules } from '../core/config/transfer';
import { DEFAULT_SPEC_NAME, MAX_CATCH_UP_MINUTES, STAGE_DEFAULTS } from '../core/limits';
import type { DbEndpoint } from '../engine/db';
import type { AlarmReader, TrafficRouter } from '../core/traffic/ports';
import type { PhaseDeps } from '../handlers/support/deps';
import { createLogger, type LogSink } from '../handlers/support/logger';
import type { CanaryMetrics, HttpProbe } from '../core/verify/ports';
import { MemoryLockStore } from '../adapters/local/memory-lock';
import { MemoryPauseStore } from '../adapters/local/memory-pause';
import { MemorySnapshots } from '../adapters/local/local-snapshots';
import { MemoryRouter, StaticAlarms } from '../adapters/local/local-traffic';
import { MemoryConfigStore } from '../adapters/local/memory-config-store';
import { InProcessSyncTasks } from '../adapters/local/in-process-sync-task';
import { runSyncTask } from '../handlers/sync-actions/continuous';

/** The local stand-ins for one stage: two databases, a router, alarms, snapshots and config stores. */
export interface LocalWorld {
  readonly source: DbEndpoint;
  readonly target: DbEndpoint;
  readonly router: TrafficRouter;
  readonly alarms: AlarmReader;
  readonly snapshots: MemorySnapshots;
  /** The stage lock, shared by every execution over this world. */
  readonly lock: MemoryLockStore;
  /** Held traffic steps (the task tokens resume and abort answer). */
  readonly pauses: MemoryPauseStore;
  readonly parameters: MemoryConfigStore;
  readonly secrets: MemoryConfigStore;
  /** Smoke requests through the local router (direct access by header). @default - none */
  readonly probe?: HttpProbe;
  /** Both sides' recorded request samples for the canary gate. @default - none */
  readonly canaryMetrics?: CanaryMetrics;
  /** `sync.runner: ecs`: the sync task, run in this process. @default - none (bounded runs) */
  readonly syncTasks?: InProcessSyncTasks;
}

export function localWorld(source: DbEndpoint, target: DbEndpoint, parts: Partial<LocalWorld> = {}): LocalWorld {
  return {
    source,
    target,
    router: new MemoryRouter(),
    alarms: new StaticAlarms(),
    snapshots: new MemorySnapshots(),
    lock: new MemoryLockStore(),
    pauses: new MemoryPauseStore(),
    parameters: new MemoryConfigStore('parameter'),
    secrets: new MemoryConfigStore('secret'),
    ...parts,
  };
}

/**
 * The world with an in-process sync task (`sync.runner: ecs`): the same continuous runs the ECS task
 * makes, over this world's databases.
 */
export function withSyncTasks(
  world: LocalWorld,
  stage = 'local',
  /** The spec the task syncs, read when it starts (as the task definition's SPEC_NAME: the stage's spec). */
  specName: () => string = () => DEFAULT_SPEC_NAME,
): LocalWorld & { syncTasks: InProcessSyncTasks } {
  const deps = localDeps(world, { stage });
  const syncTasks = new InProcessSyncTasks((spec, signal) =>
    runSyncTask({ ...deps, specName: specName() }, spec, signal),
  );
  return Object.assign(world, { syncTasks });
}

/** Seed the example configuration the chat service keeps under its old namespace. */
export async function seedExampleConfig(world: LocalWorld): Promise<void> {
  await world.parameters.put('/chat/old/db/host', world.source.host);
  await world.parameters.put('/chat/old/db/port', String(world.source.port));
  await world.parameters.put('/chat/old/db/name', world.source.database);
  await world.parameters.put('/chat/old/feature/streaming', 'on');
  await world.parameters.put('/chat/old/signing-key', 'local-signing-key', { secure: true, kmsKeyId: 'alias/chat' });
  await world.secrets.put(
    'chat/old/db',
    JSON.stringify({ username: world.source.user, password: world.source.password }),
  );
  await world.secrets.put('chat/old/openai-api-key', 'sk-local-example');
  await world.snapshots.create('chat-old-db', 'automated-nightly');
}

/** PhaseDeps over a LocalWorld: the same handler code the Lambda functions run, with local adapters. */
export function localDeps(
  world: LocalWorld,
  opts: { stage?: string; sink?: LogSink; defaults?: Partial<PhaseDeps['defaults']> } = {},
): PhaseDeps {
  return {
    stage: opts.stage ?? 'local',
    log: createLogger({ service: 'switchyard', stage: opts.stage ?? 'local' }, opts.sink ?? (() => undefined)),
    specName: DEFAULT_SPEC_NAME,
    sourceDb: async () => world.source,
    targetDb: async () => world.target,
    router: world.router,
    alarms: world.alarms,
    snapshots: world.snapshots,
    lock: world.lock,
    pauses: world.pauses,
    probe: world.probe,
    canaryMetrics: world.canaryMetrics,
    syncTasks: world.syncTasks,
    oldDbId: 'chat-old-db',
    configStores: [world.parameters, world.secrets],
    transferRules: environmentTransferRules(
      { parameterPath: '/chat/old', secretPrefix: 'chat/old' },
      { parameterPath: '/chat/new', secretPrefix: 'chat/new' },
    ),
    repointOldDatabase: async () => undefined,
    defaults: {
      schedule: STAGE_DEFAULTS.weightSchedule,
      bakeSeconds: 0,
      maxCatchUpLagSeconds: STAGE_DEFAULTS.maxCatchUpLagSeconds,
      maxCatchUpMinutes: MAX_CATCH_UP_MINUTES.default,
      copyConcurrency: STAGE_DEFAULTS.copyConcurrency,
      ...opts.defaults,
    },
    now: () => Date.now(),
  };
}
