/**
 * The phase manifest: every phase the workflows run, as pure data. The CDK app builds one
 * Lambda function per entry (timeout, memory) and its Task states from it, the bundled entry
 * (lambda/handlers/index.ts) exports one handler per entry, and the rehearsal binds the
 * synthesized Task states to handlers by it. A phase name is written here and nowhere else;
 * other code refers to `PHASE.<name>`.
 *
 * To add a phase: one entry here, one handler file in lambda/handlers (defined with
 * `definePhase(PHASE.<name>, ...)` and listed in lambda/handlers/registry.ts), its tests.
 */

/** How the state machines retry a failed task of this phase (the SDK already retries AWS throttling inside). */
export type RetryClass =
  /** Deterministic: input, configuration or data errors; never retried. */
  | 'none'
  /** Retried on the transient database error names (connection lost, chunk copy failure). */
  | 'transient-db'
  /** Retried on any error: only for steps that must happen (traffic back to old). */
  | 'always';

export interface PhaseManifestEntry {
  /** Lambda timeout. Long-running phases return a cursor before it and are called again. */
  readonly timeoutSeconds: number;
  /** Work that may outlast one invocation (the handler checks its remaining time). */
  readonly longRunning: boolean;
  readonly retry: RetryClass;
  /** @default 512 */
  readonly memoryMb?: number;
  /** What the phase does, for docs and the function description. */
  readonly description: string;
}

const MINUTES = 60;

export const PHASES = {
  validateInput: {
    timeoutSeconds: 2 * MINUTES,
    longRunning: false,
    retry: 'none',
    description: 'Validate the execution input and fill in the stage defaults',
  },
  preflight: {
    timeoutSeconds: 15 * MINUTES,
    longRunning: true,
    retry: 'none',
    description: 'Every guardrail, nothing changed; no-go lists every reason',
  },
  backup: {
    timeoutSeconds: 2 * MINUTES,
    longRunning: false,
    retry: 'none',
    description: 'Start a manual snapshot of the old database',
  },
  backupStatus: {
    timeoutSeconds: 2 * MINUTES,
    longRunning: false,
    retry: 'none',
    description: 'Read the snapshot status (poll loop)',
  },
  transferConfig: {
    timeoutSeconds: 2 * MINUTES,
    longRunning: false,
    retry: 'none',
    description: 'Plan, apply, verify or roll back the config transfer',
  },
  prepareTarget: {
    timeoutSeconds: 15 * MINUTES,
    longRunning: true,
    retry: 'transient-db',
    description:
      'Create the target schema (DDL, type checks, deferred indexes) and check the reverse mapping round trip',
  },
  buildIndexes: {
    timeoutSeconds: 15 * MINUTES,
    longRunning: true,
    retry: 'transient-db',
    description:
      'Recreate what was deferred for the bulk copy: plain indexes after the copy, constraints after the catch-up',
  },
  copyData: {
    timeoutSeconds: 15 * MINUTES,
    longRunning: true,
    retry: 'transient-db',
    description: 'Copy one table in key-range chunks (returns a cursor)',
  },
  validateData: {
    timeoutSeconds: 15 * MINUTES,
    longRunning: true,
    retry: 'transient-db',
    description: 'Checksums per chunk group, bisect to keys',
  },
  sync: {
    timeoutSeconds: 15 * MINUTES,
    longRunning: true,
    retry: 'transient-db',
    description: 'Change capture: create/drop the slots, apply changes old → new and new → old in bounded runs',
  },
  smoke: {
    timeoutSeconds: 2 * MINUTES,
    longRunning: false,
    retry: 'none',
    description: 'Configured HTTP checks against the new side (direct access), reads compared with the old side',
  },
  shiftTraffic: {
    timeoutSeconds: 2 * MINUTES,
    longRunning: false,
    retry: 'none',
    description: 'Set the weights of one traffic step, read back',
  },
  healthGate: {
    timeoutSeconds: 2 * MINUTES,
    longRunning: false,
    retry: 'none',
    description: 'Decide whether the new side is healthy after the bake',
  },
  pause: {
    timeoutSeconds: 1 * MINUTES,
    longRunning: false,
    retry: 'none',
    description: 'Hold a traffic step for the operator: record the task token that resume or abort answers',
  },
  rollbackTraffic: {
    timeoutSeconds: 2 * MINUTES,
    longRunning: false,
    retry: 'always',
    description: 'Weights back to 100 % old in one call, verified',
  },
  restoreData: {
    timeoutSeconds: 2 * MINUTES,
    longRunning: false,
    retry: 'none',
    description: 'Restore the old database from the pre-migration snapshot',
  },
  finalize: {
    timeoutSeconds: 2 * MINUTES,
    longRunning: false,
    retry: 'none',
    description: 'Check 100 % new and record the end of the migration',
  },
  lock: {
    timeoutSeconds: 1 * MINUTES,
    longRunning: false,
    retry: 'none',
    description: 'Stage lock: acquire, check the halt flag (renewing the lease), halt, decommission guard',
  },
  unlock: {
    timeoutSeconds: 1 * MINUTES,
    longRunning: false,
    retry: 'always',
    description: 'Release the stage lock (every terminal path)',
  },
} as const satisfies Record<string, PhaseManifestEntry>;

export type PhaseName = keyof typeof PHASES;

/** Every phase name, in manifest order. */
export const PHASE_NAMES = Object.keys(PHASES) as PhaseName[];

/** `PHASE.preflight === 'preflight'`: refer to a phase without typing its name as a string. */
export const PHASE = Object.fromEntries(PHASE_NAMES.map((n) => [n, n])) as { readonly [K in PhaseName]: K };
