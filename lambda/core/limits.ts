import { z } from 'zod';

/**
 * Every numeric limit that both the stage configuration (lib/config/stage-config.ts, checked at
 * synth) and the handlers' input schemas (checked at run time) enforce, defined once: a value
 * the config accepts is a value the handler accepts.
 */

/** Parallel chunk copies/validations (inline Map MaxConcurrency and the handlers' `concurrency`). */
export const COPY_CONCURRENCY = { min: 1, max: 16 } as const;

/**
 * Bake time of one traffic step, in seconds. The stage default must be at least one CloudWatch
 * minute: the minimum-request alarm of the health gate needs a full metric period of the step.
 * An execution may override it down to `overrideMin` (rehearsals bake for a second; the
 * minimum-request alarm then still reads the last full minute).
 */
export const BAKE_SECONDS = { min: 60, overrideMin: 0, max: 86_400 } as const;

/**
 * A health gate that had too little traffic to compare (and saw nothing wrong) bakes the step
 * again, its window growing by one bake each time, at most this many times; then it fails.
 */
export const MAX_BAKE_EXTENSIONS = 2;

/** The sync loop stops once the replication lag is below this many seconds. */
export const MAX_CATCH_UP_LAG_SECONDS = { min: 0, max: 3_600 } as const;

/**
 * The catch-up after the copy (before any traffic) gives up after this many minutes without
 * reaching `maxCatchUpLagSeconds`: the source writes faster than the sync applies (SyncLagError).
 */
export const MAX_CATCH_UP_MINUTES = { min: 1, max: 1_440, default: 60 } as const;

/** Traffic schedule: whole percentages on the new side per step. */
export const SCHEDULE = { minStep: 1, maxStep: 100, maxSteps: 20 } as const;

/**
 * An operator pause (stage config `pauseAt` / `maxPauseSeconds`, execution input `pauseAt`): after a
 * step's health gate passed, Migrate holds at most `maxPauseSeconds` for a resume; then the pause
 * state times out and the traffic rolls back. The default gives an operator a working afternoon.
 */
export const PAUSE_SECONDS = { min: 1, max: 7 * 86_400, default: 4 * 3_600 } as const;

/** Minimum requests the new side must serve during one bake for the step to pass. */
export const MIN_REQUESTS_PER_BAKE = { min: 1, max: 1_000_000 } as const;

/**
 * `copy.mode: distributed` (docs/workflows.md): PlanCopy cuts the planned chunks into chunk groups,
 * one child execution of the Distributed Map each.
 * - `maxConcurrency`: child executions at once (each holds `copyConcurrency` connection pairs).
 * - `chunksPerItem`: chunks per group; the planner enlarges groups when the list would be too long.
 * - `maxItems` / `maxItemsBytes`: the item list travels in the execution state (256 KiB per state), so it
 *   stays at most 1,000 items and 64 KiB of JSON. Beyond that, an S3 ItemReader is the production option.
 */
export const DISTRIBUTED_COPY = {
  maxConcurrency: { min: 1, max: 1_000, default: 8 },
  chunksPerItem: { min: 1, max: 10_000, default: 16 },
  maxItems: 1_000,
  maxItemsBytes: 64 * 1024,
} as const;

/**
 * `copy.mode: inline` (docs/workflows.md): Migrate cuts the spec's tables into groups of `tablesPerGroup`
 * (spec order) and copies one group at a time, each by one CopyData invocation loop on `copyConcurrency`
 * connection pairs (small tables batched, foreign-key levels kept). A group's table names travel in the
 * Lambda payload (256 KiB), hence the maximum.
 */
export const INLINE_COPY = {
  tablesPerGroup: { min: 1, max: 1_000, default: 500 },
} as const;

/**
 * The stage defaults of an execution's input, defined once: the stage config fills them in
 * (lib/config/stage-config.ts), the CDK app passes them to the functions' environment, and the
 * Lambda wiring and the rehearsal fall back to the same values.
 */
export const STAGE_DEFAULTS = {
  /** Percent of traffic on the new side after each step. */
  weightSchedule: [5, 25, 50, 100],
  /** Seconds at each step before the health gate. */
  bakeSeconds: 300,
  /** The catch-up loop stops once the lag is below this. */
  maxCatchUpLagSeconds: 5,
  /** Chunk copies at once per copy worker. */
  copyConcurrency: 4,
} as const;

/** The migration spec a stage runs unless it names another (lambda/engine/specs). */
export const DEFAULT_SPEC_NAME = 'chat-history';

/**
 * The traffic rollback's drains of the new side's writes (docs/workflows.md, "Rollback window").
 * - `preDrainSeconds`: before the weights move, the reverse backlog is drained for at most this
 *   long (availability first: the weights move afterwards whatever is left). 0: no pre-drain.
 * - `longestRequestSeconds`: the longest request the service serves: one started on the new side
 *   just before the weights moved may still commit this long afterwards.
 * - `quietSeconds`: the reverse slot is kept (and drained) until a window this long brings no new
 *   change from the new side: a late write (a queued job, a client still on the old DNS answer) still arrives.
 * - `maxQuietRounds`: quiet windows that still bring changes before the rollback stops waiting and
 *   fails with ReverseDrainFailedError (something keeps writing to the new side), captures kept.
 */
export const ROLLBACK = {
  preDrainSeconds: { min: 0, max: 600, default: 60 },
  longestRequestSeconds: { min: 0, max: 900, default: 30 },
  quietSeconds: { min: 0, max: 3_600, default: 120 },
  maxQuietRounds: 10,
} as const;

/** The deregistration delay of the stage's ALB target groups (lib/constructs/service-environment.ts). */
export const ALB_DEREGISTRATION_SECONDS = 30;

/**
 * A number within one of the limits above, for the handlers' input schemas: every violation says
 * "must be … between min and max<unit>, got: <value>" (the stage config says the same at synth).
 */
export function bounded(limit: { readonly min: number; readonly max: number }, unit = '', integer = true) {
  const message = (iss: { input?: unknown }) =>
    `must be ${integer ? 'a whole number ' : 'a number '}between ${limit.min} and ${limit.max}${unit}, got: ${JSON.stringify(iss.input)}`;
  const n = z.number({ error: message });
  return (integer ? n.int({ error: message }) : n)
    .min(limit.min, { error: message })
    .max(limit.max, { error: message });
}

/**
 * How long a stalled replication slot may go unnoticed (a night, a weekend day) while it retains
 * WAL: Preflight sizes the expected retention of each side from its WAL rate over this window
 * (capped by max_slot_wal_keep_size) and wants it under half of the free storage.
 */
export const SLOT_STALL_HOURS = 24;
/** The share of free storage a stalled slot's retained WAL may take. */
export const SLOT_RETENTION_SHARE_OF_FREE = 0.5;

/**
 * `sync.runner: ecs` (lib/constructs/sync-task.ts): the Fargate task's size (a valid Fargate
 * cpu/memory pair; the engine holds at most one batch per direction, well under 1 GiB), how often
 * the workflow looks at the stored position while it observes, how long a stop may take (the
 * engine finishes the transaction it applies: ECS kills it after `stopTimeoutSeconds`, which rolls
 * the open destination transaction back, nothing lost), and how long the stopping Lambda waits for STOPPED.
 */
export const SYNC_TASK = {
  cpu: { allowed: [256, 512, 1024, 2048, 4096], default: 1024 },
  memoryMiB: { min: 512, max: 30_720, default: 2048 },
  observePollMs: 100,
  /** One CatchUp observation waits at most this long for the source's position to be applied. */
  observeWindowSeconds: 60,
  /** The bake and CatchUp check that the task still runs this often (an ECS DescribeTasks call). */
  bakeCheckSeconds: 5,
  stopTimeoutSeconds: 120,
  stopWaitSeconds: 180,
  /** The task reads the destinations' fence this often: a later execution's token ends it. */
  fenceCheckSeconds: 30,
} as const;
