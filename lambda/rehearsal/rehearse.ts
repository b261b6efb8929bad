import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  connect,
  type DbEndpoint,
  describeTableWith,
  loadSpecFile,
  type MigrationSpec,
  validateTable,
  withClient,
} from '../engine';
import { introspectIdentitySpec } from '../engine/introspect';
import { copyToLocal } from './local-copy';
import { injectedCauseMissing } from './verdict';
import { DEFAULT_SPEC_NAME } from '../core/limits';
import { percentile } from '../core/verify/figures';
import { parsePostgresUrl } from '../engine/postgres-url';
import { getSpec, registerSpec } from '../engine/specs';
import { CHAT_HISTORY_BEFORE_16 } from '../engine/specs/chat-history';
import { runSync } from '../engine/sync';
import { sourceRelation, targetKey, targetRelation } from '../engine/spec';
import { seedChatHistory } from './chat-history-seed';
import { startDetachedCluster } from './detached-cluster';
import { startLocalCluster, type LocalCluster } from './embedded-postgres';
import {
  chatSpecForServers,
  ownedDatabaseOn,
  type PgVersionOptions,
  serverName,
  startNewSideCluster,
} from './version-servers';
import { localDeps, localWorld, seedExampleConfig } from './local-deps';
import {
  type CfnTemplate,
  definitionFromTemplate,
  type PauseDrillOptions,
  pauseDrill,
  pauseDrillInput,
  pauseDrillProblem,
  runLocally,
  taskStateNames,
} from './workflow-runner';
import { FetchHttpProbe } from '../adapters/http/fetch-probe';
import { RecordedCanaryMetrics } from '../adapters/local/sample-canary';
import { PHASE } from '../phases';
import { ServiceClients } from './clients';
import { ChatApp, NEW_MESSAGES, OLD_MESSAGES } from './http-apps';
import { checkLedger, type WriteIntegrity } from './ledger';
import { LocalWeightedRouter } from './weighted-router';

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

type SyncOut = { direction: 'forward' | 'reverse'; changes: number; lagSeconds: number };

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

function sideFigures(requests: number, errors: number, latencies: number[]): SideFigures {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { requests, errors, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

export class RehearsalInputError extends Error {
  public readonly name = 'RehearsalInputError';
}

function sourceEndpoint(url: string): DbEndpoint {
  const r = parsePostgresUrl(url);
  if ('endpoint' in r) return r.endpoint;
  throw new RehearsalInputError(
    r.problem === 'not-a-url'
      ? '--source must be a postgres:// URL like postgres://user:password@host:5432/db'
      : `--source must be a postgres:// URL, got protocol: ${r.protocol}`,
  );
}

/** The whole migration on one machine: real PostgreSQL, the synthesized Migrate definition, real HTTP traffic. */
export async function rehearse(opts: RehearsalOptions): Promise<RehearsalReport> {
  const t0 = Date.now();
  const say = opts.progress ?? (() => undefined);
  const rows = opts.rows ?? 100_000;
  const definition = definitionFromTemplate(opts.template, 'migrate');
  if (opts.failAt && !taskStateNames(definition).includes(opts.failAt)) {
    throw new RehearsalInputError(
      `--fail-at must name a task state of the Migrate workflow, got: ${opts.failAt}; states: ${taskStateNames(definition).join(', ')}`,
    );
  }
  for (const [flag, v] of [
    ['--unhealthy-at', opts.unhealthyAt],
    ['--slow-at', opts.slowAt],
    ['--operator-rollback-at', opts.operatorRollbackAt],
  ] as const) {
    if (v !== undefined && !(v >= 1 && v <= 100))
      throw new RehearsalInputError(`${flag} must be a percentage from 1 to 100, got: ${v}`);
  }
  const pauseProblem = pauseDrillProblem(opts);
  if (pauseProblem) throw new RehearsalInputError(pauseProblem);
  const routes = ['GET /messages/:id', 'GET /health', 'GET /items/:n'];
  if (opts.breakRoute !== undefined && !routes.includes(opts.breakRoute))
    throw new RehearsalInputError(
      `--break must name a read route of the chat app, got: ${opts.breakRoute}; routes: ${routes.join(', ')}`,
    );
  let spec: MigrationSpec = opts.specFile ? loadSpecFile(opts.specFile) : getSpec(DEFAULT_SPEC_NAME);

  const cleanup: (() => Promise<void>)[] = [];
  const keptDatabases: { label: string; db: DbEndpoint }[] = [];
  let passFileNote = 'the one of your own server';
  try {
    let server = opts.server;
    let cluster: LocalCluster | undefined;
    if (!server) {
      say('starting embedded PostgreSQL ...');
      cluster = opts.ownProcessGroup
        ? await startDetachedCluster({ cleanup: !opts.keep, major: opts.oldPg })
        : await startLocalCluster({ cleanup: !opts.keep, major: opts.oldPg });
      cleanup.push(() => cluster!.stop());
      server = cluster.endpoint('postgres');
      if (opts.keep) {
        say(`data directory kept: ${cluster.dataDir}`);
        // The password of this throwaway local server goes into a pgpass file (0600), not onto the screen.
        const file = path.join(path.dirname(cluster.dataDir), 'pgpass');
        fs.writeFileSync(file, `127.0.0.1:${cluster.port}:*:postgres:${server.password}\n`, { mode: 0o600 });
        passFileNote = `PGPASSFILE=${file}`;
      }
    }
    const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    const admin = await connect(server);
    const created: string[] = [];
    const createDb = async (name: string) => {
      await admin.query(`CREATE DATABASE ${name}`);
      created.push(name);
      return { ...server!, database: name };
    };
    cleanup.push(async () => {
      if (opts.server && !opts.keep)
        for (const db of created.reverse())
          await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    });

    // The service and the migration log in as a non-superuser (LOGIN REPLICATION, owner of both
    // databases), like the RDS master user: named `switchyard`, like the bookkeeping schema, on a
    // server of our own (a shared test server gets a name of its own).
    const login = {
      user: opts.server ? `sy_rehearsal_${suffix}` : 'switchyard',
      password: randomBytes(16).toString('hex'),
    };
    await admin.query(`CREATE ROLE ${login.user} LOGIN REPLICATION PASSWORD '${login.password}'`);
    cleanup.push(async () => {
      if (opts.server && !opts.keep) await admin.query(`DROP ROLE IF EXISTS ${login.user}`).catch(() => undefined);
    });
    const owned = async (name: string) => {
      const db = await createDb(name);
      await admin.query(`ALTER DATABASE ${name} OWNER TO ${login.user}`);
      const c = await connect(db);
      await c.query(`ALTER SCHEMA public OWNER TO ${login.user}`);
      await c.end();
      return { ...db, ...login };
    };
    let source: DbEndpoint;
    if (opts.source) {
      // Your database is only read: the rehearsal's old side is a local copy of it (nothing is created there).
      const yours = sourceEndpoint(opts.source);
      say(`source: ${yours.host}:${yours.port}/${yours.database} (only read: the old side is a local copy)`);
      const holdsChat = () =>
        withClient(
          yours,
          { readOnly: true },
          async (c) =>
            (
              await c.query(
                `SELECT to_regclass('public.chat_messages') IS NOT NULL AND to_regclass('public.chat_sessions') IS NOT NULL AS chat`,
              )
            ).rows[0].chat === true,
        );
      if (!opts.specFile && !(await holdsChat())) {
        // No spec and not the chat-history schema: every table, moved as is (the same introspection as `switchyard sync`).
        spec = await introspectIdentitySpec(yours, undefined, 'introspected');
        say(
          `spec: none given; introspected ${spec.tables.length} table(s), mapped as is: ${spec.tables.map((t) => t.name).join(', ')}`,
        );
      }
      source = await owned(`rehearsal_old_${suffix}`);
      const copied = await copyToLocal(yours, source, spec);
      say(`copied ${copied.toLocaleString()} rows of your database into the local old side`);
    } else {
      source = await owned(`rehearsal_old_${suffix}`);
      say(`seeding ${rows.toLocaleString()} chat messages ...`);
      const c = await connect(source);
      await seedChatHistory(c, rows);
      await c.end();
    }
    // An upgrade rehearsal puts the new side on a server of its own major.
    const newCluster = opts.server ? undefined : await startNewSideCluster(opts, say);
    if (newCluster) cleanup.push(() => newCluster.stop());
    const target = newCluster
      ? await ownedDatabaseOn(newCluster.endpoint('postgres'), `rehearsal_new_${suffix}`, login)
      : await owned(`rehearsal_new_${suffix}`);
    const postgres = { old: await serverName(source), new: await serverName(target) };
    say(`PostgreSQL: old side ${postgres.old}, new side ${postgres.new}`);
    // The spec's expressions run on both servers (the copy on the source, the sync's apply on the destination).
    if (spec === getSpec('chat-history')) spec = await chatSpecForServers(source, target);
    if (opts.keep) keptDatabases.push({ label: 'old (source)', db: source }, { label: 'new (target)', db: target });

    // The service: an old and a new app, each on its own database, behind the weighted router.
    // The service: an old and a new app, each on its own database, behind the weighted router.
    // The chat spec gets the chat app that reads and writes; a user's own spec a generic read by key.
    const chat =
      spec.tables.some((t) => 'table' in t.source && t.source.table === 'chat_messages') &&
      spec.tables.some((t) => t.target.table === 'messages');
    const writing = chat && !opts.readOnly && !opts.source;
    const probe = spec.tables[spec.tables.length - 1]; // the generic read: the last (child-most) table by key
    // Schema-qualified as the copy resolves them (never through the login's search_path).
    const probeSourceTable = sourceRelation(probe) ?? targetRelation(probe);
    let unhealthy = false;
    let slow = false;
    const oldApp = new ChatApp(source, {
      messages: chat ? OLD_MESSAGES : undefined,
      probe: { table: probeSourceTable, key: probe.key[0] },
    });
    const newApp = new ChatApp(target, {
      messages: chat ? NEW_MESSAGES : undefined,
      probe: { table: targetRelation(probe), key: targetKey(probe)[0] },
      faults: {
        failing: () => unhealthy,
        extraLatencyMs: () => (slow ? (opts.latencyMs ?? 50) : 0),
        broken: (route) => route === opts.breakRoute,
      },
    });
    const ports = { old: await oldApp.start(), new: await newApp.start() };
    cleanup.push(
      () => oldApp.stop(),
      () => newApp.stop(),
    );
    const canary = new RecordedCanaryMetrics();
    const router = new LocalWeightedRouter(ports, undefined, (side, r) => canary.record(side, r));
    const routerPort = await router.start();
    cleanup.push(() => router.stop());
    const conversations = chat ? Math.ceil(rows / 20) : 1;
    const traffic = new ServiceClients({
      port: routerPort,
      maxKey: Math.min(rows, 1_000_000),
      conversations,
      writeRatio: writing ? 0.4 : 0,
      writesPerSecond: opts.writesPerSecond,
      readPath: chat ? 'messages' : 'items',
      currentStep: () => router.windows.length - 1,
    });
    traffic.start();
    cleanup.push(() => traffic.stop());
    say(
      `traffic: router on 127.0.0.1:${routerPort} -> old app :${ports.old}, new app :${ports.new}${writing ? ' (reads and writes)' : ' (reads only)'}`,
    );

    const world = localWorld(source, target, {
      router,
      alarms: router,
      canaryMetrics: canary,
      probe: new FetchHttpProbe(`http://127.0.0.1:${routerPort}`),
    });
    await seedExampleConfig(world);
    const deps = localDeps(world, {
      stage: 'rehearsal',
      defaults: { bakeSeconds: opts.bakeSeconds ?? 1 },
      sink: (line) => {
        const l = JSON.parse(line) as { message?: string; table?: string; chunkNo?: number; rows?: number };
        if (l.message === 'chunk copied') say(`    chunk ${l.table}#${l.chunkNo}: ${l.rows} rows`);
      },
    });
    if (spec.name === 'introspected' || opts.specFile || spec.name === CHAT_HISTORY_BEFORE_16) {
      registerSpec(spec);
      (deps as { specName: string }).specName = spec.name;
    }

    const outputs: Record<string, unknown> = {};
    let rollbackMs: number | null = null;
    /** When the workflow saw the failure (an unhealthy gate or a failed task after traffic moved). */
    let failureSeenAt: number | null = null;
    const healthGates: HealthGateRecord[] = [];
    const syncLag: SyncLagSample[] = [];
    const phaseStarts: number[] = [];
    const started = Date.now();
    const migrationId = `rehearsal-${suffix}`;
    /** The operator's RollbackTraffic execution (--operator-rollback-at), running beside Migrate. */
    let operatorRollback: Promise<Awaited<ReturnType<typeof runLocally>>> | undefined;
    let operatorStepReached = false;
    const execution = await runLocally(
      opts.template,
      definition,
      () => deps,
      { migrationId, bakeSeconds: opts.bakeSeconds ?? 1, ...pauseDrillInput(opts) },
      {
        ...pauseDrill(opts, deps.pauses, deps.stage, say),
        waitMs: (state) => (state === 'Bake' ? (opts.bakeSeconds ?? 1) * 1000 : 0),
        beforeTask: async (state) => {
          if (opts.signal?.aborted) throw Object.assign(new Error('stopped by the user'), { name: 'RehearsalStopped' });
          if (state === opts.failAt)
            throw Object.assign(new Error(`fault injected into ${state} (--fail-at)`), { name: 'InjectedFault' });
          if (state === 'Bake' && operatorStepReached && !operatorRollback) {
            // Not awaited: the operator's execution runs while this bake applies both directions.
            say(`operator: starting RollbackTraffic while the ${opts.operatorRollbackAt} % step bakes`);
            const start = Date.now();
            failureSeenAt = start;
            operatorRollback = runLocally(
              opts.template,
              definitionFromTemplate(opts.template, 'rollback-traffic'),
              () => deps,
              { migrationId },
              {
                onStep: (o) =>
                  say(
                    `  operator [${((Date.now() - start) / 1000).toFixed(1)}s] ${o.ok ? 'ok  ' : 'FAIL'} ${o.state}${o.error ? ` - ${o.error}` : ''}`,
                  ),
              },
            );
          }
        },
        onStep: (s) => {
          outputs[s.state] = s.output;
          phaseStarts.push(Date.now() - started - s.ms);
          const elapsed = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
          let extra = '';
          if (!s.ok && failureSeenAt === null && router.windows.some((w) => w.weights.new > 0))
            failureSeenAt = Date.now();
          if (s.phase === PHASE.sync && s.ok) {
            const o = s.output as {
              forward?: SyncOut;
              reverse?: SyncOut;
              direction?: 'forward' | 'reverse';
              changes?: number;
              lagSeconds?: number;
              skipped?: string;
              slot?: string;
              dropped?: unknown;
            };
            const at = Date.now() - started;
            for (const r of [
              o.forward,
              o.reverse,
              o.direction && o.lagSeconds !== undefined ? (o as SyncOut) : undefined,
            ]) {
              if (r) syncLag.push({ atMs: at, direction: r.direction, lagSeconds: r.lagSeconds, changes: r.changes });
            }
            if (o.forward)
              extra =
                ` both ways: old→new ${o.forward.changes} changes, new→old ${o.reverse?.changes ?? 0} changes, ` +
                `lag ${Math.max(o.forward.lagSeconds, o.reverse?.lagSeconds ?? 0).toFixed(1)} s`;
            else if (o.slot) extra = ` ${o.direction} capture ${o.slot}`;
            else if (o.dropped) extra = ' captures dropped';
            else if (o.skipped) extra = ` ${o.skipped}`;
            else if (o.direction)
              extra = ` ${o.direction === 'forward' ? 'old→new' : 'new→old'} ${o.changes} changes, lag ${(o.lagSeconds ?? 0).toFixed(1)} s`;
          }
          if (s.phase === PHASE.shiftTraffic && s.ok) {
            const w = (s.output as { weights: { old: number; new: number } }).weights;
            extra = ` old ${w.old} / new ${w.new}`;
            if (opts.unhealthyAt !== undefined && w.new >= opts.unhealthyAt) unhealthy = true;
            if (opts.slowAt !== undefined && w.new >= opts.slowAt) slow = true;
            if (opts.operatorRollbackAt !== undefined && w.new >= opts.operatorRollbackAt) operatorStepReached = true;
          }
          if (s.phase === PHASE.copyData && s.ok) {
            // A table (or chunk group) copied, or (copy.mode distributed) the plan of chunk groups.
            const o = s.output as { table?: string; rowsTotal?: number; chunks?: number; items?: unknown[] };
            extra = o.items
              ? ` ${o.chunks} chunks in ${o.items.length} chunk groups`
              : ` ${o.table}: ${(o.rowsTotal ?? 0).toLocaleString()} rows`;
          }
          if (s.phase === PHASE.healthGate && s.ok) {
            const g = s.output as {
              healthy: boolean;
              needsMoreData?: boolean;
              summary: string;
              reasons?: string[];
              canary?: { verdict: string; method: string };
            };
            healthGates.push({
              step: router.windows.length - 1,
              weights: router.windows[router.windows.length - 1].weights,
              healthy: g.healthy,
              ...(g.needsMoreData ? { needsMoreData: true } : {}),
              summary: g.summary,
              reasons: g.reasons ?? [],
              canary: g.canary,
            });
            if (!g.healthy && !g.needsMoreData && failureSeenAt === null) failureSeenAt = Date.now();
            extra = g.healthy
              ? ` healthy (canary ${g.canary?.verdict ?? 'n/a'})`
              : g.needsMoreData
                ? ` too little traffic to compare, baking again: ${g.summary}`
                : ` TRIPPED: ${g.summary}`;
          }
          if (s.phase === PHASE.rollbackTraffic && s.ok)
            extra = ` 100 % old (weights call ${(s.output as { elapsedMs: number }).elapsedMs} ms)`;
          say(`[${elapsed}s] ${s.ok ? 'ok  ' : 'FAIL'} ${s.state}${extra}${s.error ? ` - ${s.error}` : ''}`);
        },
      },
    );
    const operator = operatorRollback ? await operatorRollback : undefined;
    if (operator)
      say(
        `operator: RollbackTraffic ${operator.status}${operator.error ? ` (${operator.error}: ${operator.cause})` : ''}`,
      );
    await traffic.stop();
    cleanup.pop();
    // The rollback as the clients saw it: from the moment the workflow saw the failure to the last request the new side got.
    const rolledBackTraffic = [...execution.steps, ...(operator?.steps ?? [])].some(
      (s) => s.phase === PHASE.rollbackTraffic && s.ok,
    );
    if (rolledBackTraffic && failureSeenAt !== null) rollbackMs = Math.max(0, router.lastNewRequestAt - failureSeenAt);
    // After Finalize the reverse capture stays (until Decommission): return the writes the new side took
    // after the final drain, so the old side is current (what a rollback inside the stability period relies on).
    if (execution.status === 'SUCCEEDED' && writing) {
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

    // Integrity: recomputed at the end, in both databases, whatever the outcome.
    const tables: RehearsalReport['integrity']['tables'] = [];
    for (const t of spec.tables) {
      try {
        const layout = await describeTableWith(t, source, target);
        const v = await validateTable(layout, source, target, { runId: `rehearsal-${suffix}` });
        tables.push({
          name: t.name,
          sourceRows: v.source.rows,
          targetRows: v.target.rows,
          sourceHash: v.source.hash,
          targetHash: v.target.hash,
          match: v.match,
        });
      } catch {
        tables.push({ name: t.name, sourceRows: -1, targetRows: -1, sourceHash: '', targetHash: '', match: false });
      }
    }

    const rolledBack = rolledBackTraffic;
    const outcome: RehearsalReport['outcome'] =
      execution.status === 'SUCCEEDED' ? 'completed' : rolledBack ? 'rolled-back' : 'failed';
    const finalWeights = await router.getWeights();
    // The ledger, checked against the side that serves 100 % at the end.
    const servingSide = finalWeights.new === 100 ? 'new' : 'old';
    const writes = writing
      ? await checkLedger(
          traffic.ledger.writes,
          servingSide === 'new' ? target : source,
          servingSide === 'new' ? NEW_MESSAGES : OLD_MESSAGES,
          servingSide,
          [source, target],
        )
      : undefined;
    const faultInjected =
      opts.failAt !== undefined ||
      opts.unhealthyAt !== undefined ||
      opts.slowAt !== undefined ||
      opts.breakRoute !== undefined ||
      opts.operatorRollbackAt !== undefined ||
      opts.abortAtPause === true;
    const oldErrors = router.windows.reduce((n, w) => n + w.errors.old, 0);
    const nothingLost = !writes || (writes.lost === 0 && writes.acknowledged > 0);
    const phases = execution.steps.map((s, i) => ({
      name: s.state,
      status: s.ok ? ('ok' as const) : ('failed' as const),
      ms: s.ms,
      startMs: phaseStarts[i],
    }));
    const error = execution.error ? { name: execution.error, cause: execution.cause ?? '' } : undefined;
    // With a fault injected: the run must show that very cause (verdict.ts), not just any rollback.
    const notInjected = faultInjected ? injectedCauseMissing(opts, { phases, healthGates, error }) : null;
    const expected = faultInjected
      ? notInjected === null && outcome !== 'completed' && finalWeights.old === 100 && oldErrors === 0 && nothingLost
      : outcome === 'completed' && tables.every((t) => t.match) && oldErrors === 0 && nothingLost;
    const transfer = outputs.TransferConfig as
      | { applied?: { kind: string; target: string; action: string }[] }
      | undefined;
    return {
      outcome,
      postgres,
      expected,
      ...(notInjected ? { unexpectedBecause: notInjected } : {}),
      error,
      wallMs: Date.now() - t0,
      rows: tables.find((t) => t.name === probe.name)?.sourceRows ?? rows,
      phases,
      healthGates,
      syncLag,
      integrity: { tables, writes },
      traffic: {
        finalWeights,
        rollbackMs,
        steps: router.windows.map((w, i) => ({
          weights: w.weights,
          seconds: ((router.windows[i + 1]?.startedAt ?? Date.now()) - w.startedAt) / 1000,
          old: sideFigures(w.requests.old, w.errors.old, w.latencies.old),
          new: sideFigures(w.requests.new, w.errors.new, w.latencies.new),
        })),
      },
      requests: {
        total: traffic.total,
        errors: traffic.errors,
        oldErrors,
        newErrors: router.windows.reduce((n, w) => n + w.errors.new, 0),
      },
      config: (transfer?.applied ?? []).map(({ kind, target, action }) => ({ kind, target, action })),
    };
  } finally {
    if (opts.keep && keptDatabases.length) {
      say(`databases kept (they run until you press Enter or Ctrl-C):`);
      for (const d of keptDatabases)
        say(
          `  ${d.label}: psql "host=${d.db.host} port=${d.db.port} dbname=${d.db.database} user=${d.db.user}" (password: ${passFileNote})`,
        );
      await (opts.holdOpen?.() ?? Promise.resolve());
    }
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  }
}
