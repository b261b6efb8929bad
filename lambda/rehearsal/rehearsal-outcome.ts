/**
 * The end of a rehearsal: integrity recomputed in both databases whatever the outcome, the write
 * ledger checked against the side that serves 100 %, and the verdict (as expected, or why not).
 */
import { type DbEndpoint, describeTableWith, type MigrationSpec, validateTable } from '../engine';
import { percentile } from '../core/verify/figures';
import { PHASE } from '../phases';
import type { ExecutionRecorder } from './execution-recorder';
import { NEW_MESSAGES, OLD_MESSAGES } from './http-apps';
import { checkLedger } from './ledger';
import type { RehearsalSides } from './rehearsal-databases';
import type { RehearsalService } from './rehearsal-service';
import type { RehearsalOptions, RehearsalReport, SideFigures } from './rehearse';
import { injectedCauseMissing } from './verdict';
import type { LocalExecution } from './workflow-runner';

/** Everything a finished run left to judge. */
export interface FinishedRun {
  readonly opts: RehearsalOptions;
  readonly t0: number;
  readonly runId: string;
  readonly sides: RehearsalSides;
  readonly service: RehearsalService;
  readonly recorder: ExecutionRecorder;
  readonly execution: LocalExecution;
  readonly operator?: LocalExecution;
}

/** Did traffic go back to the old side (Migrate's rollback, or the operator's)? */
export function trafficRolledBack(run: Pick<FinishedRun, 'execution' | 'operator'>): boolean {
  return [...run.execution.steps, ...(run.operator?.steps ?? [])].some(
    (s) => s.phase === PHASE.rollbackTraffic && s.ok,
  );
}

/** Count and hash every table in both databases, whatever the outcome (an unreadable table is a mismatch). */
export async function integrityTables(
  spec: MigrationSpec,
  source: DbEndpoint,
  target: DbEndpoint,
  runId: string,
): Promise<RehearsalReport['integrity']['tables']> {
  const tables: RehearsalReport['integrity']['tables'] = [];
  for (const t of spec.tables) {
    try {
      const layout = await describeTableWith(t, source, target);
      const v = await validateTable(layout, source, target, { runId });
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
  return tables;
}

/** The report of a finished run. */
export async function rehearsalReport(run: FinishedRun): Promise<RehearsalReport> {
  const { opts, sides, service, recorder, execution } = run;
  const { router, traffic } = service;
  const tables = await integrityTables(sides.spec, sides.source, sides.target, run.runId);
  // A completed Migrate whose traffic an operator took back afterwards (rollbackAfterFinalize) is rolled back.
  const outcome: RehearsalReport['outcome'] = trafficRolledBack(run)
    ? 'rolled-back'
    : execution.status === 'SUCCEEDED'
      ? 'completed'
      : 'failed';
  const finalWeights = await router.getWeights();
  // The ledger, checked against the side that serves 100 % at the end.
  const servingSide = finalWeights.new === 100 ? 'new' : 'old';
  const writes = service.writing
    ? await checkLedger(
        traffic.ledger.writes,
        servingSide === 'new' ? sides.target : sides.source,
        servingSide === 'new' ? NEW_MESSAGES : OLD_MESSAGES,
        servingSide,
        [sides.source, sides.target],
      )
    : undefined;
  const phases = execution.steps.map((s, i) => ({
    name: s.state,
    status: s.ok ? ('ok' as const) : ('failed' as const),
    ms: s.ms,
    startMs: recorder.phaseStarts[i],
  }));
  const error = execution.error ? { name: execution.error, cause: execution.cause ?? '' } : undefined;
  const oldErrors = router.windows.reduce((n, w) => n + w.errors.old, 0);
  const nothingLost = !writes || (writes.lost === 0 && writes.acknowledged > 0);
  const cleanOldSide = finalWeights.old === 100 && oldErrors === 0 && nothingLost;
  // With a fault injected: the run must show that very cause (verdict.ts), not just any rollback.
  const notInjected = faultInjected(opts)
    ? injectedCauseMissing(opts, {
        phases,
        healthGates: recorder.healthGates,
        error,
        migrate: execution.status,
        operator: run.operator && { status: run.operator.status, error: run.operator.error },
      })
    : null;
  const expected = faultInjected(opts)
    ? notInjected === null && outcome !== 'completed' && cleanOldSide
    : outcome === 'completed' && tables.every((t) => t.match) && oldErrors === 0 && nothingLost;
  const transfer = recorder.outputs.TransferConfig as
    | { applied?: { kind: string; target: string; action: string }[] }
    | undefined;
  return {
    outcome,
    postgres: sides.postgres,
    expected,
    ...(notInjected ? { unexpectedBecause: notInjected } : {}),
    error,
    wallMs: Date.now() - run.t0,
    rows: tables.find((t) => t.name === service.probe.name)?.sourceRows ?? opts.rows ?? 100_000,
    phases,
    healthGates: recorder.healthGates,
    syncLag: recorder.syncLag,
    integrity: { tables, writes },
    traffic: { finalWeights, rollbackMs: rollbackMs(run), steps: trafficSteps(service) },
    requests: {
      total: traffic.total,
      errors: traffic.errors,
      oldErrors,
      newErrors: router.windows.reduce((n, w) => n + w.errors.new, 0),
    },
    config: (transfer?.applied ?? []).map(({ kind, target, action }) => ({ kind, target, action })),
  };
}

function faultInjected(opts: RehearsalOptions): boolean {
  return (
    opts.failAt !== undefined ||
    opts.unhealthyAt !== undefined ||
    opts.slowAt !== undefined ||
    opts.breakRoute !== undefined ||
    opts.operatorRollbackAt !== undefined ||
    opts.rollbackAfterFinalize === true ||
    opts.abortAtPause === true
  );
}

/** The rollback as the clients saw it: from the moment the workflow saw the failure to the last request the new side got. */
function rollbackMs(run: FinishedRun): number | null {
  const seen = run.recorder.failureSeenAt;
  if (!trafficRolledBack(run) || seen === null) return null;
  return Math.max(0, run.service.router.lastNewRequestAt - seen);
}

function trafficSteps({ router }: RehearsalService): RehearsalReport['traffic']['steps'] {
  return router.windows.map((w, i) => ({
    weights: w.weights,
    seconds: ((router.windows[i + 1]?.startedAt ?? Date.now()) - w.startedAt) / 1000,
    old: sideFigures(w.requests.old, w.errors.old, w.latencies.old),
    new: sideFigures(w.requests.new, w.errors.new, w.latencies.new),
  }));
}

function sideFigures(requests: number, errors: number, latencies: number[]): SideFigures {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { requests, errors, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}
