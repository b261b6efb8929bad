import { type DbEndpoint, loadSpecFile, type MigrationSpec } from '../engine';
import { DEFAULT_SPEC_NAME } from '../core/limits';
import { getSpec, registerSpec } from '../engine/specs';
import { CHAT_HISTORY_BEFORE_16 } from '../engine/specs/chat-history';
import { runSync } from '../engine/sync';
import { FetchHttpProbe } from '../adapters/http/fetch-probe';
import { ExecutionRecorder } from './execution-recorder';
import { localDeps, localWorld, seedExampleConfig, withSyncTasks } from './local-deps';
import { type Cleanup, prepareSides, type RehearsalSides } from './rehearsal-databases';
import { checkRehearsalOptions } from './rehearsal-input';
import { rehearsalReport } from './rehearsal-outcome';
import { type RehearsalService, startService } from './rehearsal-service';
import type { PgVersionOptions } from './version-servers';
import type { WriteIntegrity } from './ledger';
import {
  type CfnTemplate,
  definitionFromTemplate,
  type LocalExecution,
  type PauseDrillOptions,
  pauseDrill,
  pauseDrillInput,
  runLocally,
} from './workflow-runner';

export { RehearsalInputError } from './rehearsal-input';

export interface RehearsalOptions extends PgVersionOptions, PauseDrillOptions {
  /** Rows (chat messages) to seed. @default 100000 */
  readonly rows?: number;
  /** Make this state fail (a Task state name of the Migrate definition). */
  readonly failAt?: string;
  /** The new app starts failing once it gets this percentage of traffic. */
  readonly unhealthyAt?: number;
  /**
   * An operator starts the RollbackTraffic workflow while the step at this percentage bakes, as from
   * the console: it runs beside Migrate (halt flag, 100 % old, the new side's writes returned), and
   * Migrate must end halted.
   */
  readonly operatorRollbackAt?: number;
  /**
   * After Migrate completes, with the writers still running (100 % new), an operator starts
   * RollbackTraffic inside the stability period: every write, also those after Finalize and during
   * the rollback's settle and quiet windows, must end on the old side.
   */
  readonly rollbackAfterFinalize?: boolean;
  /** Rehearse against a copy of your own database (postgres://user:pass@host:port/db): it is only read. */
  readonly source?: string;
  /**
   * Your migration spec (JSON). @default - the chat-history spec; with a `source` that does not hold the
   * chat-history schema, every source table with a primary key, mapped as is (introspected)
   */
  readonly specFile?: string;
  /** Seconds each traffic step bakes while requests flow. @default 1 */
  readonly bakeSeconds?: number;
  /**
   * Keep the databases: the embedded server keeps running until `holdOpen` resolves (bin/rehearse:
   * Enter or Ctrl-C), how to connect is printed, and its data directory is kept afterwards.
   */
  readonly keep?: boolean;
  /** With `keep`: resolves when the user is done looking at the databases. @default - resolves at once */
  readonly holdOpen?: () => Promise<void>;
  /** Run embedded PostgreSQL in a process group of its own, so a terminal's Ctrl-C reaches only the rehearsal. @default false */
  readonly ownProcessGroup?: boolean;
  /** Use this PostgreSQL server (superuser endpoint) instead of starting an embedded one (tests). */
  readonly server?: DbEndpoint;
  /** The Migration stack template (synthesized by the caller). */
  readonly template: CfnTemplate;
  /** Progress lines. */
  readonly progress?: (line: string) => void;
  /** Resolves when the user asks to stop (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Clients only read (no writes through either app). Implied by `source` (your database is only read). @default false */
  readonly readOnly?: boolean;
  /** Target writes per second through the router, over all clients. @default 100 */
  readonly writesPerSecond?: number;
  /** The new app gets `latencyMs` slower once it serves this percentage of traffic (the canary gate must trip). */
  readonly slowAt?: number;
  /** Extra latency of the new app with `slowAt`. @default 50 */
  readonly latencyMs?: number;
  /** This route of the new app answers differently from the old one (e.g. `GET /messages/:id`): the smoke phase must stop the migration. */
  readonly breakRoute?: string;
  /**
   * Where the sync runs; must match the template's `sync.runner`. `ecs`: the long-running sync task,
   * run in this process (the same continuous engine the ECS task runs). @default 'lambda'
   */
  readonly syncRunner?: 'lambda' | 'ecs';
}

export interface RehearsalReport {
  outcome: 'completed' | 'rolled-back' | 'failed';
  /** The server of each side, e.g. `PostgreSQL 14.23` (an upgrade rehearsal: --old-pg / --new-pg). */
  postgres: { old: string; new: string };
  expected: boolean;
  /** With a fault injected: why the run did not show the injected cause (see verdict.ts). */
  unexpectedBecause?: string;
  error?: { name: string; cause: string };
  wallMs: number;
  rows: number;
  /** Task states in the order they ran; `startMs` from the start of the execution. */
  phases: { name: string; status: 'ok' | 'failed'; ms: number; startMs?: number }[];
  /** Every health gate's verdict, with the canary figures. */
  healthGates: HealthGateRecord[];
  /** Sync lag after each sync run. */
  syncLag: SyncLagSample[];
  integrity: {
    tables: {
      name: string;
      sourceRows: number;
      targetRows: number;
      sourceHash: string;
      targetHash: string;
      match: boolean;
    }[];
    /** The write ledger checked against the database that serves 100 % at the end (absent in read-only runs). */
    writes?: WriteIntegrity;
  };
  traffic: {
    finalWeights: { old: number; new: number };
    rollbackMs: number | null;
    steps: { weights: { old: number; new: number }; seconds: number; old: SideFigures; new: SideFigures }[];
  };
  requests: { total: number; errors: number; oldErrors: number; newErrors: number };
  config: { kind: string; target: string; action: string }[];
}

export interface HealthGateRecord {
  /** Index into traffic.steps. */
  step: number;
  weights: { old: number; new: number };
  healthy: boolean;
  /** Too little traffic to compare, nothing wrong seen: the workflow baked the step again instead of deciding. */
  needsMoreData?: boolean;
  summary: string;
  reasons: string[];
  canary?: { verdict: string; method: string };
}

export interface SyncLagSample {
  /** Milliseconds from the start of the execution. */
  atMs: number;
  direction: 'forward' | 'reverse';
  lagSeconds: number;
  changes: number;
}

/** What one side served in one traffic window. */
export interface SideFigures {
  requests: number;
  errors: number;
  /** Latency percentiles in ms (null without requests). */
  p50: number | null;
  p99: number | null;
}

/** The whole migration on one machine: real PostgreSQL, the synthesized Migrate definition, real HTTP traffic. */
export async function rehearse(opts: RehearsalOptions): Promise<RehearsalReport> {
  const t0 = Date.now();
  const say = opts.progress ?? (() => undefined);
  const definition = definitionFromTemplate(opts.template, 'migrate');
  checkRehearsalOptions(opts, definition);
  const given: MigrationSpec = opts.specFile ? loadSpecFile(opts.specFile) : getSpec(DEFAULT_SPEC_NAME);
  const cleanup: Cleanup = [];
  let kept: RehearsalSides | undefined;
  // --sync-runner ecs: no task outlives the rehearsal (the workflow stops it; a Ctrl-C may not get there).
  let stopSyncTasks: () => Promise<unknown> = async () => undefined;
  try {
    const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    const sides = await prepareSides(opts, given, suffix, say, cleanup);
    if (opts.keep) kept = sides;
    const service = await startService(opts, sides.spec, sides, say, cleanup);
    const deps = await rehearsalDeps(opts, sides, service, say);
    const migrationId = `rehearsal-${suffix}`;
    stopSyncTasks = async () => deps.syncTasks?.stopAll(migrationId);
    const recorder = new ExecutionRecorder(opts, service, () => operatorRollback(opts, deps, migrationId, say), say);
    const execution = await runLocally(
      opts.template,
      definition,
      () => deps,
      { migrationId, bakeSeconds: opts.bakeSeconds ?? 1, ...pauseDrillInput(opts) },
      { ...pauseDrill(opts, deps.pauses, deps.stage, say), ...recorder.hooks() },
    );
    let operator = recorder.operatorRollback ? await recorder.operatorRollback : undefined;
    if (opts.rollbackAfterFinalize && execution.status === 'SUCCEEDED') {
      recorder.failureSeenAt = Date.now() + AFTER_FINALIZE_WRITES_MS;
      operator = await rollbackAfterFinalize(opts, deps, migrationId, say);
    }
    if (operator)
      say(
        `operator: RollbackTraffic ${operator.status}${operator.error ? ` (${operator.error}: ${operator.cause})` : ''}`,
      );
    await service.traffic.stop();
    cleanup.pop();
    if (execution.status === 'SUCCEEDED' && !operator && service.writing)
      await returnLastWrites(sides, migrationId, say);
    return await rehearsalReport({ opts, t0, runId: migrationId, sides, service, recorder, execution, operator });
  } finally {
    await stopSyncTasks().catch(() => undefined);
    if (kept) await holdKeptDatabases(opts, kept, say);
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  }
}

/** The local world and the phase deps over both sides and the running service; a spec of yours is registered. */
async function rehearsalDeps(
  opts: RehearsalOptions,
  sides: RehearsalSides,
  service: RehearsalService,
  say: (line: string) => void,
) {
  const { routerPort, router, canary } = service;
  const plain = localWorld(sides.source, sides.target, {
    router,
    alarms: router,
    canaryMetrics: canary,
    probe: new FetchHttpProbe(`http://127.0.0.1:${routerPort}`),
  });
  // The task syncs the spec the phases use (the version-fitted, introspected or given one set below).
  const world = opts.syncRunner === 'ecs' ? withSyncTasks(plain, 'rehearsal', () => deps.specName) : plain;
  await seedExampleConfig(world);
  const deps = localDeps(world, {
    stage: 'rehearsal',
    defaults: { bakeSeconds: opts.bakeSeconds ?? 1 },
    sink: (line) => {
      const l = JSON.parse(line) as { message?: string; table?: string; chunkNo?: number; rows?: number };
      if (l.message === 'chunk copied') say(`    chunk ${l.table}#${l.chunkNo}: ${l.rows} rows`);
    },
  });
  const { spec } = sides;
  if (spec.name === 'introspected' || opts.specFile || spec.name === CHAT_HISTORY_BEFORE_16) {
    registerSpec(spec);
    (deps as { specName: string }).specName = spec.name;
  }
  return deps;
}

/** The operator's RollbackTraffic execution (--operator-rollback-at), as started from the console. */
function operatorRollback(
  opts: RehearsalOptions,
  deps: Awaited<ReturnType<typeof rehearsalDeps>>,
  migrationId: string,
  say: (line: string) => void,
  waitMs?: (state: string) => number,
): Promise<LocalExecution> {
  const start = Date.now();
  return runLocally(
    opts.template,
    definitionFromTemplate(opts.template, 'rollback-traffic'),
    () => deps,
    { migrationId },
    {
      waitMs,
      onStep: (o) =>
        say(
          `  operator [${((Date.now() - start) / 1000).toFixed(1)}s] ${o.ok ? 'ok  ' : 'FAIL'} ${o.state}` +
            (o.error ? ` - ${o.error}` : ''),
        ),
    },
  );
}

/** How long the new side alone takes writes after Finalize before the operator's rollback starts. */
const AFTER_FINALIZE_WRITES_MS = 2000;
/** Settle and quiet windows of that rollback: short, but real (writes still arrive during them). */
const AFTER_FINALIZE_WINDOW_MS = 1000;

/** `rollbackAfterFinalize`: the writers keep going on the new side, then RollbackTraffic as from the console. */
async function rollbackAfterFinalize(
  opts: RehearsalOptions,
  deps: Awaited<ReturnType<typeof rehearsalDeps>>,
  migrationId: string,
  say: (line: string) => void,
): Promise<LocalExecution> {
  say(`operator: the new side takes every write for ${AFTER_FINALIZE_WRITES_MS / 1000} s after Finalize`);
  await new Promise((r) => setTimeout(r, AFTER_FINALIZE_WRITES_MS));
  say('operator: starting RollbackTraffic inside the stability period (writers still running)');
  return operatorRollback(opts, deps, migrationId, say, (state) =>
    /SettleWindow|QuietWindow/.test(state) ? AFTER_FINALIZE_WINDOW_MS : 0,
  );
}

/**
 * After Finalize the reverse capture stays (until Decommission): return the writes the new side took
 * after the final drain, so the old side is current (what a rollback inside the stability period relies on).
 */
async function returnLastWrites(sides: RehearsalSides, migrationId: string, say: (line: string) => void) {
  const { spec, source, target } = sides;
  const back = await runSync({ migrationId, direction: 'reverse', spec, source: target, target: source }).catch(
    (e: Error) => {
      say(`returning the new side's last writes failed: ${e.name}: ${e.message}`);
      return undefined;
    },
  );
  if (back)
    say(
      `new side's writes after the final drain returned to old: ${back.inserted + back.updated + back.deleted} changes`,
    );
}

/** `--keep`: say how to connect to both databases and wait until the user is done with them. */
async function holdKeptDatabases(opts: RehearsalOptions, sides: RehearsalSides, say: (line: string) => void) {
  say(`databases kept (they run until you press Enter or Ctrl-C):`);
  for (const [label, db] of [
    ['old (source)', sides.source],
    ['new (target)', sides.target],
  ] as const)
    say(
      `  ${label}: psql "host=${db.host} port=${db.port} dbname=${db.database} user=${db.user}" ` +
        `(password: ${sides.passFileNote})`,
    );
  await (opts.holdOpen?.() ?? Promise.resolve());
}
