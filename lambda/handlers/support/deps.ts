import type { RestoreService, ServiceRestarter, SnapshotService } from '../../core/backup/ports';
import type { ConfigStore } from '../../core/config/ports';
import type { StorageReader } from '../../core/preflight/ports';
import type { LockStore } from '../../core/lock/ports';
import type { PauseStore } from '../../core/traffic/pause';
import type { TransferRules } from '../../core/config/transfer';
import type { DbEndpoint } from '../../engine/db';
import type { AlarmReader, TrafficRouter } from '../../core/traffic/ports';
import type { CanaryMetrics, HttpProbe, OldSideAccess } from '../../core/verify/ports';
import type { SyncTaskRunner } from '../../core/sync/task';
import type { Logger } from './logger';

/** Everything a phase handler needs, behind ports: AWS adapters in Lambda, local ones in the rehearsal and tests. */
export interface PhaseDeps {
  readonly stage: string;
  readonly log: Logger;
  readonly specName: string;
  /** Database endpoints, resolved from the environments' secrets at call time (never from state). */
  sourceDb(): Promise<DbEndpoint>;
  targetDb(): Promise<DbEndpoint>;
  readonly router: TrafficRouter;
  readonly alarms: AlarmReader;
  readonly snapshots: SnapshotService & RestoreService;
  /** The one-migration-per-stage lock (with the halt flag and what Finalize recorded). */
  readonly lock: LockStore;
  /** Where a held traffic step's task token is kept for resume/abort. @default - none: the Pause phase fails with ConfigurationError */
  readonly pauses?: PauseStore;
  /** The old database's identifier (instance or cluster). */
  readonly oldDbId: string;
  /** The config stores (parameters, secrets) the transfer works on. */
  readonly configStores: readonly ConfigStore[];
  readonly transferRules: TransferRules;
  /** Repoint the old environment's database secret at a restored instance (value changed inside the adapter only). */
  repointOldDatabase(endpoint: { host: string; port: number }): Promise<void>;
  /** The old side's service, restarted after the repoint. @default - none: an imported old side without a known service (RestoreData says so) */
  readonly oldService?: ServiceRestarter;
  /** Sends the Smoke phase's requests through the stage's entry point (ALB listener / local router). @default - none: Smoke fails with ConfigurationError */
  readonly probe?: HttpProbe;
  /**
   * How Smoke reaches the old side to compare answers: the stage entry point with the `old` header,
   * the old side's own entry point (`verification.oldBaseUrl`), or not at all (an imported old side
   * without it: read checks are reported as not compared). @default - the stage entry point (`listener`)
   */
  readonly oldSide?: OldSideAccess;
  /** Free storage of both databases, for Preflight's retention check. @default - none: that check is not applicable */
  readonly storage?: StorageReader;
  /** Both sides' figures over a window for the health gate's canary comparison. @default - none: the canary part is skipped (reported), the alarms decide */
  readonly canaryMetrics?: CanaryMetrics;
  /**
   * The long-running sync task (stage config `sync.runner: ecs`): started and observed by the Sync
   * phase, stopped before any bounded run needs a slot. @default - none: `lambda` runner (startTask fails with ConfigurationError)
   */
  readonly syncTasks?: SyncTaskRunner;
  /** Stage defaults for the execution input. */
  readonly defaults: {
    readonly schedule: readonly number[];
    readonly bakeSeconds: number;
    readonly maxCatchUpLagSeconds: number;
    readonly maxCatchUpMinutes: number;
    readonly copyConcurrency: number;
    /** Steps (weights) that hold for the operator after their gate passed. @default [] */
    readonly pauseAt?: readonly number[];
  };
  now(): number;
  /**
   * Wait out a settle window inside a call (a drain's window for late writes). The local
   * interpreter's workflow tests shorten it, as they run every Wait state in zero time.
   * @default - a timer of `ms`
   */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Build deps once per container (or per rehearsal run); handlers call this on each invocation. */
export type DepsFactory = () => Promise<PhaseDeps> | PhaseDeps;

/** Cache a factory's result (Lambda containers reuse clients across invocations). */
export function once(factory: DepsFactory): () => Promise<PhaseDeps> {
  let cached: Promise<PhaseDeps> | undefined;
  return () => (cached ??= Promise.resolve(factory()));
}
