/**
 * Did the rehearsal end the way the injected fault should make it end? "As expected" needs the
 * injected cause itself, not any rollback: the state that was made to fail is the first one
 * that failed; the weight that was made unhealthy (or slow) is where the first health gate
 * tripped, none tripped before it; a broken route stops the run in Smoke; an operator rollback
 * halts Migrate. A gate that wanted more samples (needsMoreData) baked again: not a trip.
 */
export interface FaultInjection {
  readonly failAt?: string;
  readonly unhealthyAt?: number;
  readonly slowAt?: number;
  readonly breakRoute?: string;
  readonly operatorRollbackAt?: number;
  readonly rollbackAfterFinalize?: boolean;
  /** The abort drill: the pause at `pauseAt` is aborted. */
  readonly pauseAt?: number;
  readonly abortAtPause?: boolean;
}

export interface RunTrace {
  readonly phases: readonly { name: string; status: 'ok' | 'failed' }[];
  readonly healthGates: readonly { weights: { new: number }; healthy: boolean; needsMoreData?: boolean }[];
  readonly error?: { name: string };
  /** How Migrate ended, and the operator's RollbackTraffic execution if one ran. */
  readonly migrate?: string;
  readonly operator?: { readonly status: string; readonly error?: string };
}

/** Null when the run shows the injected cause; else why not (for the report). */
export function injectedCauseMissing(f: FaultInjection, run: RunTrace): string | null {
  const firstFailed = run.phases.find((p) => p.status === 'failed')?.name;
  const tripped = run.healthGates.find((g) => !g.healthy && !g.needsMoreData);
  if (f.failAt !== undefined && firstFailed !== f.failAt)
    return (
      `--fail-at ${f.failAt}: the first state that failed was ` +
      `${firstFailed ?? 'none'}${tripped ? ` (a health gate tripped at ${tripped.weights.new} % first)` : ''}`
    );
  for (const [flag, w] of [
    ['--unhealthy-at', f.unhealthyAt],
    ['--slow-at', f.slowAt],
  ] as const) {
    if (w === undefined) continue;
    if (!tripped) return `${flag} ${w}: no health gate tripped`;
    if (tripped.weights.new < w) return `${flag} ${w}: a health gate tripped earlier, at ${tripped.weights.new} %`;
  }
  if (f.breakRoute !== undefined && firstFailed !== 'Smoke')
    return `--break ${f.breakRoute}: Smoke did not stop the run (first failed state: ${firstFailed ?? 'none'})`;
  if (f.operatorRollbackAt !== undefined && run.error?.name !== 'MigrationHaltedError')
    return `--operator-rollback-at ${f.operatorRollbackAt}: Migrate did not end halted (${run.error?.name ?? 'no error'})`;
  if (f.rollbackAfterFinalize && run.migrate !== 'SUCCEEDED')
    return `--rollback-after-finalize: Migrate did not complete (${run.error?.name ?? run.migrate ?? 'unknown'})`;
  if (f.rollbackAfterFinalize && run.operator?.status !== 'SUCCEEDED')
    return (
      `--rollback-after-finalize: RollbackTraffic ended ${run.operator?.status ?? 'not started'}` +
      (run.operator?.error ? ` (${run.operator.error})` : '')
    );
  if (f.abortAtPause && run.error?.name !== 'MigrationAbortedError')
    return `--abort-at-pause: Migrate did not end aborted at ${f.pauseAt} % (${run.error?.name ?? 'no error'})`;
  return null;
}
