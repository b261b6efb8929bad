/**
 * What the rehearsal watches while the Migrate execution runs: each task's output and start, the
 * sync lag, every health gate's verdict, when the workflow saw the failure; the injected faults
 * (a failing state, the new app turning unhealthy or slow, an operator's RollbackTraffic) switched
 * on as traffic reaches them; and one progress line per task.
 */
import { PHASE } from '../phases';
import type { RehearsalService } from './rehearsal-service';
import type { HealthGateRecord, RehearsalOptions, SyncLagSample } from './rehearse';
import type { LocalExecution, RunOptions } from './workflow-runner';

type Step = Parameters<NonNullable<RunOptions['onStep']>>[0];
type SyncOut = { direction: 'forward' | 'reverse'; changes: number; lagSeconds: number };
type SyncOutput = {
  forward?: SyncOut;
  reverse?: SyncOut;
  direction?: 'forward' | 'reverse';
  changes?: number;
  lagSeconds?: number;
  skipped?: string;
  slot?: string;
  dropped?: unknown;
  /** sync.runner ecs: the task this call watched (it applied nothing itself), or the task it started. */
  observed?: string;
  taskArn?: string;
  directions?: string[];
};
type GateOutput = {
  healthy: boolean;
  needsMoreData?: boolean;
  summary: string;
  reasons?: string[];
  canary?: { verdict: string; method: string };
};

export class ExecutionRecorder {
  readonly outputs: Record<string, unknown> = {};
  readonly healthGates: HealthGateRecord[] = [];
  readonly syncLag: SyncLagSample[] = [];
  readonly phaseStarts: number[] = [];
  /** When the workflow saw the failure (an unhealthy gate or a failed task after traffic moved). */
  failureSeenAt: number | null = null;
  /** The operator's RollbackTraffic execution (--operator-rollback-at), running beside Migrate. */
  operatorRollback: Promise<LocalExecution> | undefined;
  private operatorStepReached = false;
  private readonly started = Date.now();

  constructor(
    private readonly opts: RehearsalOptions,
    private readonly service: RehearsalService,
    /** Start the operator's RollbackTraffic execution (not awaited by the caller). */
    private readonly startOperatorRollback: () => Promise<LocalExecution>,
    private readonly say: (line: string) => void,
  ) {}

  /** The hooks of the local run. */
  hooks(): RunOptions {
    const bakeMs = (this.opts.bakeSeconds ?? 1) * 1000;
    return {
      waitMs: (state) => (state === 'Bake' ? bakeMs : 0),
      beforeTask: async (state) => this.beforeTask(state),
      onStep: (s) => this.onStep(s),
    };
  }

  private beforeTask(state: string): void {
    if (this.opts.signal?.aborted) throw Object.assign(new Error('stopped by the user'), { name: 'RehearsalStopped' });
    if (state === this.opts.failAt)
      throw Object.assign(new Error(`fault injected into ${state} (--fail-at)`), { name: 'InjectedFault' });
    if (state === 'Bake' && this.operatorStepReached && !this.operatorRollback) {
      // Not awaited: the operator's execution runs while this bake applies both directions.
      this.say(`operator: starting RollbackTraffic while the ${this.opts.operatorRollbackAt} % step bakes`);
      this.failureSeenAt = Date.now();
      this.operatorRollback = this.startOperatorRollback();
    }
  }

  private onStep(s: Step): void {
    this.outputs[s.state] = s.output;
    this.phaseStarts.push(Date.now() - this.started - s.ms);
    const elapsed = ((Date.now() - this.started) / 1000).toFixed(1).padStart(6);
    const { router } = this.service;
    if (!s.ok && this.failureSeenAt === null && router.windows.some((w) => w.weights.new > 0))
      this.failureSeenAt = Date.now();
    const extra = s.ok ? this.recordOk(s) : '';
    this.say(`[${elapsed}s] ${s.ok ? 'ok  ' : 'FAIL'} ${s.state}${extra}${s.error ? ` - ${s.error}` : ''}`);
  }

  /** Record what a task that succeeded reported; its part of the progress line. */
  private recordOk(s: Step): string {
    switch (s.phase) {
      case PHASE.sync:
        return this.recordSync(s.output as SyncOutput);
      case PHASE.shiftTraffic:
        return this.recordWeights((s.output as { weights: { old: number; new: number } }).weights);
      case PHASE.copyData: {
        // A table (or chunk group) copied, or (copy.mode distributed) the plan of chunk groups.
        const o = s.output as { table?: string; rowsTotal?: number; chunks?: number; items?: unknown[] };
        return o.items
          ? ` ${o.chunks} chunks in ${o.items.length} chunk groups`
          : ` ${o.table}: ${(o.rowsTotal ?? 0).toLocaleString()} rows`;
      }
      case PHASE.healthGate:
        return this.recordGate(s.output as GateOutput);
      case PHASE.rollbackTraffic:
        return ` 100 % old (weights call ${(s.output as { elapsedMs: number }).elapsedMs} ms)`;
      default:
        return '';
    }
  }

  private recordSync(o: SyncOutput): string {
    const at = Date.now() - this.started;
    const single = o.direction && o.lagSeconds !== undefined ? (o as SyncOut) : undefined;
    for (const r of [o.forward, o.reverse, single]) {
      if (r) this.syncLag.push({ atMs: at, direction: r.direction, lagSeconds: r.lagSeconds, changes: r.changes ?? 0 });
    }
    if (o.taskArn) return ` sync task started (${(o.directions ?? []).join(', ')})`;
    const lag = Math.max(o.forward?.lagSeconds ?? 0, o.reverse?.lagSeconds ?? 0, o.lagSeconds ?? 0);
    if (o.observed) return ` watched the sync task: lag at most ${lag.toFixed(1)} s`;
    if (o.forward)
      return (
        ` both ways: old→new ${o.forward.changes} changes, new→old ${o.reverse?.changes ?? 0} changes, ` +
        `lag ${Math.max(o.forward.lagSeconds, o.reverse?.lagSeconds ?? 0).toFixed(1)} s`
      );
    if (o.slot) return ` ${o.direction} capture ${o.slot}`;
    if (o.dropped) return ' captures dropped';
    if (o.skipped) return ` ${o.skipped}`;
    if (o.direction)
      return (
        ` ${o.direction === 'forward' ? 'old→new' : 'new→old'} ${o.changes} changes, ` +
        `lag ${(o.lagSeconds ?? 0).toFixed(1)} s`
      );
    return '';
  }

  /** New weights: the injected faults that wait for this share of traffic start now. */
  private recordWeights(w: { old: number; new: number }): string {
    const { opts } = this;
    if (opts.unhealthyAt !== undefined && w.new >= opts.unhealthyAt) this.service.faults.unhealthy = true;
    if (opts.slowAt !== undefined && w.new >= opts.slowAt) this.service.faults.slow = true;
    if (opts.operatorRollbackAt !== undefined && w.new >= opts.operatorRollbackAt) this.operatorStepReached = true;
    return ` old ${w.old} / new ${w.new}`;
  }

  private recordGate(g: GateOutput): string {
    const { windows } = this.service.router;
    this.healthGates.push({
      step: windows.length - 1,
      weights: windows[windows.length - 1].weights,
      healthy: g.healthy,
      ...(g.needsMoreData ? { needsMoreData: true } : {}),
      summary: g.summary,
      reasons: g.reasons ?? [],
      canary: g.canary,
    });
    if (!g.healthy && !g.needsMoreData && this.failureSeenAt === null) this.failureSeenAt = Date.now();
    if (g.healthy) return ` healthy (canary ${g.canary?.verdict ?? 'n/a'})`;
    return g.needsMoreData ? ` too little traffic to compare, baking again: ${g.summary}` : ` TRIPPED: ${g.summary}`;
  }
}
