/**
 * The CloudWatch metrics the phases emit (Embedded Metric Format, namespace `Switchyard`,
 * dimension `Stage`), named once: the handlers emit them, the dashboard reads them.
 * To add one: a name here, `deps.log.metric(METRIC.<name>, value, unit)` where the handler has the
 * figure (flushed once per invocation by `definePhase`), and a graph in lib/constructs/migration-dashboard.ts.
 */
export const METRIC_NAMESPACE = 'Switchyard';

export const METRIC = {
  /** Rows one CopyData invocation copied (Count). */
  rowsCopied: 'RowsCopied',
  /** Rows per second of that invocation (Count/Second). */
  copyRowsPerSecond: 'CopyRowsPerSecond',
  /** Old → new and new → old replication lag after a sync run (Seconds). */
  syncLagSeconds: 'SyncLagSeconds',
  reverseSyncLagSeconds: 'ReverseSyncLagSeconds',
  /** Same-row writes on both sides resolved by the later-commit-wins rule (Count). */
  syncConflicts: 'SyncConflicts',
  /** Changes one drain applied: how much was waiting (Count). */
  syncDrainChanges: 'SyncDrainChanges',
  /** The new side's traffic weight after a shift or a rollback (Percent). */
  newSideWeight: 'NewSideWeight',
  /** How long the weights call of a traffic rollback took (Milliseconds). */
  trafficRollbackMs: 'TrafficRollbackMs',
  /** Error rates the canary compared over one bake window (Percent). */
  canaryNewErrorRate: 'CanaryNewErrorRate',
  canaryOldErrorRate: 'CanaryOldErrorRate',
  /** How long building the deferred indexes took (Seconds). */
  indexBuildSeconds: 'IndexBuildSeconds',
  /** A traffic step held for the operator: the weight it holds at (Percent), emitted once per pause. */
  pausedAtWeight: 'PausedAtWeight',
} as const;

/** A metric name of the catalog: the only names a phase may emit. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];
