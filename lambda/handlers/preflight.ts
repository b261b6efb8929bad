import { z } from 'zod';
import { COPY_CONCURRENCY, DISTRIBUTED_COPY } from '../core/limits';
import { acquireLock, assertLockFree } from '../core/lock/lock';
import { PreflightNoGoError } from '../core/preflight/evaluate';
import { runPack } from '../core/preflight/pack';
import { ALL_OLD } from '../core/traffic/weights';
import { getSpec } from '../engine/specs';
import { PHASE } from '../phases';
import { PREFLIGHT_PACK } from './preflight-checks';
import { migrationId } from './support/input';
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

export type PreflightInput = z.output<typeof input>;

/**
 * Preflight / gate dry-run: every guardrail, nothing changed; no-go lists every reason with its fix.
 * The checks are a pack (lambda/handlers/preflight-checks): one file each, listed in its index.
 */
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
  const report = await runPack(PREFLIGHT_PACK, { input: i, deps, spec: getSpec(deps.specName) });
  for (const c of report.checks)
    deps.log.info('preflight check', { check: c.name, ok: c.ok, status: c.status, detail: c.detail });
  if (!report.go) throw new PreflightNoGoError(report);
  return { migrationId: i.migrationId, go: true, checks: report.checks };
});
