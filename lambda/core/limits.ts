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
