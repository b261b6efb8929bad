import { z } from 'zod';
import { checkSource, checkTarget, connect, SchemaMismatchError } from '../engine';
import { checkSyncPreconditions } from '../engine/sync';

/** Precondition checks about the server, not the tables (the new side's tables come with PrepareTarget). */
const SERVER_LEVEL = new Set([
  'wal-level',
  'replication-role',
  'free-slot',
  'server-version',
  'loop-guard',
  'commit-timestamps-source',
]);
import { PreflightNoGoError, runPreflight } from '../core/preflight/evaluate';
import { connectionCheck, type ConnectionUse } from '../core/preflight/connections';
import { COPY_CONCURRENCY, DISTRIBUTED_COPY } from '../core/limits';
import type { DbEndpoint } from '../engine';
import { getSpec } from '../engine/specs';
import { decideHealth } from '../core/traffic/health';
import { acquireLock, assertLockFree } from '../core/lock/lock';
import { ALL_OLD, sameWeights } from '../core/traffic/weights';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';

const input = z.object({
  migrationId,
  /** The Migrate execution (recorded as the lock holder). */
  executionId: z.string().optional(),
  /** Gate dry run: check the stage lock is free, don't take it. */
  dryRun: z.boolean().default(false),
  expectedWeights: z.object({ old: z.number().int(), new: z.number().int() }).default(ALL_OLD),
  maxSnapshotAgeHours: z.number().positive().default(26),
  maxTransactionSeconds: z.number().int().positive().default(300),
  alarmGraceSeconds: z.number().int().min(0).default(300),
  /** Chunk copies at once per copy worker. @default - the stage's copyConcurrency */
  copyConcurrency: z.number().int().min(COPY_CONCURRENCY.min).max(COPY_CONCURRENCY.max).optional(),
  /** Copy workers at once: 1 inline, `copy.maxConcurrency` with a Distributed Map. @default 1 */
  copyWorkers: z.number().int().min(1).max(DISTRIBUTED_COPY.maxConcurrency.max).default(1),
});

/** max_connections, the reserved slots and the client backends in use, as any login may read them. */
async function connectionUse(db: DbEndpoint): Promise<ConnectionUse> {
  const c = await connect(db, { readOnly: true });
  try {
    const r = await c.query(
      `SELECT current_setting('max_connections')::int AS max,
              current_setting('superuser_reserved_connections')::int + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS reserved,
              (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS in_use`,
    );
    return { maxConnections: r.rows[0].max, reserved: r.rows[0].reserved, inUse: r.rows[0].in_use };
  } finally {
    await c.end();
  }
}

/** Preflight / gate dry-run: every guardrail, nothing changed; no-go lists every reason. */
export const preflight = definePhase(PHASE.preflight, input, async (i, deps) => {
  // One migration per stage: fail fast (MigrationLockedError naming the holder) before any check.
  const now = new Date(deps.now());
  if (i.dryRun) await assertLockFree(deps.lock, deps.stage, 'migrate', i.migrationId, now);
  else
    await acquireLock(deps.lock, {
      stage: deps.stage,
      workflow: 'migrate',
      migrationId: i.migrationId,
      executionId: i.executionId,
      now,
    });
  const spec = getSpec(deps.specName);
  const report = await runPreflight({
    sourceDatabase: async () => {
      const c = await connect(await deps.sourceDb(), { readOnly: true });
      try {
        for (const t of spec.tables) await checkSource(c, t);
        const long = await c.query(
          `SELECT count(*)::int AS n, coalesce(max(extract(epoch FROM now() - xact_start)), 0)::int AS oldest
             FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start < now() - make_interval(secs => $1)`,
          [i.maxTransactionSeconds],
        );
        const { n, oldest } = long.rows[0];
        return n > 0
          ? {
              ok: false,
              detail: `${n} transaction(s) open longer than ${i.maxTransactionSeconds} s (oldest ${oldest} s): they hold back the replication slot's start (the change capture waits for them) and the copy's snapshot`,
            }
          : {
              ok: true,
              detail: `reachable; spec ${spec.name}: ${spec.tables.length} table(s) present; no long-running transactions`,
            };
      } finally {
        await c.end();
      }
    },
    // Change capture in both directions: wal_level, replication rights, replica identity, free slots, commit timestamps.
    replication: async () => {
      const [old, neu] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
      const forward = await checkSyncPreconditions(old, spec, i.migrationId, 'forward', {
        target: neu,
        conflicts: true,
      });
      // The new side's tables do not exist before PrepareTarget: only its server-level settings are checked now.
      const reverse = (await checkSyncPreconditions(neu, spec, i.migrationId, 'reverse', { conflicts: true })).filter(
        (c) => SERVER_LEVEL.has(c.name),
      );
      const failed = [
        ...forward.map((c) => ({ ...c, side: 'old' })),
        ...reverse.map((c) => ({ ...c, side: 'new' })),
      ].filter((c) => !c.ok);
      return failed.length
        ? { ok: false, detail: failed.map((c) => `${c.side} ${c.name}: ${c.detail} (fix: ${c.fix})`).join('; ') }
        : { ok: true, detail: `logical replication ready on both sides (${forward.length + reverse.length} checks)` };
    },
    // The copy's connections on each side, beside the live service's: a copy that takes the last ones fails the service.
    connections: async () => {
      const need = { copyConcurrency: i.copyConcurrency ?? deps.defaults.copyConcurrency, copyWorkers: i.copyWorkers };
      const [old, neu] = await Promise.all([deps.sourceDb().then(connectionUse), deps.targetDb().then(connectionUse)]);
      const sides = [connectionCheck('old', old, need), connectionCheck('new', neu, need)];
      return { ok: sides.every((s) => s.ok), detail: sides.map((s) => s.detail).join('; ') };
    },
    targetDatabase: async () => {
      const c = await connect(await deps.targetDb(), { readOnly: true });
      try {
        const problems: string[] = [];
        for (const t of spec.tables) {
          try {
            await checkTarget(c, t);
          } catch (e) {
            // Absent tables are created by PrepareTarget; a table that exists in another shape is a conflict.
            if (!(e instanceof SchemaMismatchError) || !/does not exist/.test(e.message))
              problems.push((e as Error).message);
          }
        }
        return problems.length
          ? { ok: false, detail: problems.join('; ') }
          : { ok: true, detail: 'reachable; target schema absent or compatible' };
      } finally {
        await c.end();
      }
    },
    configuration: async () => {
      const counts = await Promise.all(
        deps.configStores.map(async (s) => {
          const from = s.kind === 'parameter' ? deps.transferRules.parameters?.from : deps.transferRules.secrets?.from;
          return { kind: s.kind, from, n: from ? (await s.list(from)).length : 0 };
        }),
      );
      const empty = counts.filter((c) => c.from && c.n === 0);
      const detail = counts.map((c) => `${c.n} ${c.kind}(s) under ${c.from}`).join(', ');
      return {
        ok: empty.length === 0,
        detail: empty.length ? `nothing to transfer under ${empty.map((c) => c.from).join(', ')}` : detail,
      };
    },
    healthAlarms: async () => {
      const d = decideHealth(
        await deps.alarms.read(),
        { insufficientDataGraceSeconds: i.alarmGraceSeconds },
        new Date(deps.now()),
      );
      return { ok: d.healthy, detail: d.healthy ? `${d.alarmsChecked} alarm(s) OK` : d.reasons.join('; ') };
    },
    lastSnapshot: async () => {
      const s = await deps.snapshots.latest(deps.oldDbId);
      if (!s?.createdAt)
        return { ok: false, detail: `no available snapshot of ${deps.oldDbId}: automated backups look off` };
      const hours = (deps.now() - s.createdAt.getTime()) / 3_600_000;
      return {
        ok: hours <= i.maxSnapshotAgeHours,
        detail: `newest snapshot ${s.snapshotId} is ${hours.toFixed(1)} h old (limit ${i.maxSnapshotAgeHours} h)`,
      };
    },
    routing: async () => {
      const w = await deps.router.getWeights();
      return {
        ok: sameWeights(w, i.expectedWeights),
        detail: `${deps.router.description} at old ${w.old} / new ${w.new} (expected ${i.expectedWeights.old} / ${i.expectedWeights.new})`,
      };
    },
  });
  for (const c of report.checks) deps.log.info('preflight check', { check: c.name, ok: c.ok, detail: c.detail });
  if (!report.go) throw new PreflightNoGoError(report);
  return { migrationId: i.migrationId, go: true, checks: report.checks };
});
