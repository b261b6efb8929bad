import { figuresFromSamples } from '../../core/verify/figures';
import type { CanaryMetrics, CanaryWindow, Side } from '../../core/verify/ports';

/** One answered request as a router saw it. */
export interface RecordedRequest {
  /** When the answer completed (epoch ms). */
  readonly at: number;
  /** Time from request to complete answer. */
  readonly ms: number;
  /** HTTP status; 5xx (and 0 for no answer) count as errors, like the ALB's HTTPCode_Target_5XX_Count. */
  readonly status: number;
}

/**
 * Canary figures from every request's latency per side, recorded by whoever routes the traffic
 * (the rehearsal's weighted router calls {@link record}). The gate then judges latency with the
 * rank test on the raw samples instead of a single percentile.
 */
export class RecordedCanaryMetrics implements CanaryMetrics {
  public readonly description = 'recorded request samples';
  private readonly log: Record<Side, RecordedRequest[]> = { old: [], new: [] };

  /** @param maxPerSide oldest records are dropped beyond this many per side */
  constructor(private readonly maxPerSide = 500_000) {}

  record(side: Side, request: RecordedRequest): void {
    const l = this.log[side];
    l.push(request);
    if (l.length > this.maxPerSide) l.splice(0, l.length - this.maxPerSide);
  }

  async window(fromMs: number, toMs: number): Promise<CanaryWindow> {
    const side = (s: Side) => {
      const inWindow = this.log[s].filter((r) => r.at >= fromMs && r.at <= toMs);
      return figuresFromSamples(
        inWindow.map((r) => r.ms),
        inWindow.filter((r) => r.status === 0 || r.status >= 500).length,
      );
    };
    return { old: side('old'), new: side('new') };
  }
}
