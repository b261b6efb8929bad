import type { SideWindow } from './ports';

/** Nearest-rank percentile of sorted values (`q` in 0–100); null when there are none. */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (!sorted.length) return null;
  const rank = Math.ceil((q / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Middle value (mean of the two middle ones for an even count); null when there are none. */
export function median(sorted: readonly number[]): number | null {
  if (!sorted.length) return null;
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

/** Percent, rounded to 1/1000 of a point; 0 without requests. */
export function errorRate(requests: number, errors: number): number {
  return requests > 0 ? Math.round((errors / requests) * 100_000) / 1000 : 0;
}

/** One side's figures from every request's latency (ms) and the number of 5xx answers among them. */
export function figuresFromSamples(latenciesMs: readonly number[], errors: number): SideWindow {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    requests: sorted.length,
    errors,
    errorRate: errorRate(sorted.length, errors),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    samples: sorted,
  };
}
