import type { CanaryPolicy } from './config';
import { median } from './figures';
import type { CanaryWindow, SideFigures, SideWindow } from './ports';
import { twoProportionGreater } from './proportion-test';
import { mannWhitneyGreater } from './rank-test';

/**
 * The canary judgement: the new side against the old side over the same window.
 *
 * - Each side must have served `minRequests` (a quiet side proves nothing: fail).
 * - Error rate: it fails only on evidence: new above old + `errorRatePp` percentage points AND at
 *   least `minFailures` failed requests on the new side AND a one-sided two-proportion test
 *   significant at `errorAlpha`. Above the tolerance with enough failures but not significant:
 *   too little evidence (the workflow bakes again). Fewer failures than `minFailures`: not evidence,
 *   passes (the absolute 5xx alarm is the floor). The verdict's `errorTest` says what was used.
 * - Latency, with raw samples on both sides: one-sided Mann-Whitney U test (is new slower?); it
 *   fails only if significant (p < `alpha`) AND the effect is material: median(new) > median(old) ×
 *   `p99Ratio` + `p99SlackMs` (a tiny but significant difference passes); on fewer than
 *   `minLatencySamples` new-side samples such a result is too little evidence (the workflow bakes again).
 * - Latency, from aggregated metrics (CloudWatch): p99(new) ≤ p99(old) × `p99Ratio` + `p99SlackMs`.
 */

export interface RankTestFigures {
  readonly u: number;
  readonly z: number;
  readonly p: number;
  readonly alpha: number;
  readonly medianOldMs: number;
  readonly medianNewMs: number;
  /** The largest new median the effect guard accepts. */
  readonly maxMedianNewMs: number;
}

/** How the error rates were compared, and what it concluded. */
export interface ErrorRateTest {
  readonly method: 'two-proportion z-test (pooled, one-sided)';
  readonly failuresOld: number;
  readonly failuresNew: number;
  readonly minFailures: number;
  readonly z: number;
  readonly p: number;
  readonly alpha: number;
  /** no-excess: within old + errorRatePp; too-few-failures: not evidence; not-significant: bake again; significant: fail. */
  readonly decision: 'no-excess' | 'too-few-failures' | 'not-significant' | 'significant';
}

export interface CanaryVerdict {
  readonly verdict: 'pass' | 'fail' | 'skipped';
  /** How latency was judged. */
  readonly method: 'rank-test' | 'p99' | 'none';
  /** Why it failed or was skipped; empty on pass. Figures only, never request data. */
  readonly reasons: readonly string[];
  readonly old: SideFigures;
  readonly new: SideFigures;
  /** The thresholds the new side was held to. */
  readonly limits: { readonly maxErrorRate: number | null; readonly maxP99Ms: number | null };
  readonly rankTest?: RankTestFigures;
  /** How the error rates were compared (absent when the canary was skipped). */
  readonly errorTest?: ErrorRateTest;
  /**
   * The only reasons are too few requests on a side: the comparison had too little data to judge,
   * nothing was seen to be wrong (the workflow bakes longer before it decides).
   */
  readonly insufficientData?: boolean;
}

const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;
const ms = (v: number) => `${round(v, 1)} ms`;

/** The figures without the raw samples (for outputs and notifications). */
export function withoutSamples(s: SideWindow): SideFigures {
  return { requests: s.requests, errors: s.errors, errorRate: s.errorRate, p50: s.p50, p90: s.p90, p99: s.p99 };
}

export function decideCanary(window: CanaryWindow, policy: CanaryPolicy): CanaryVerdict {
  const reasons: string[] = [];
  const { old: o, new: n } = window;
  for (const [side, f] of [
    ['old', o],
    ['new', n],
  ] as const) {
    if (f.requests < policy.minRequests)
      reasons.push(
        `${side} side served ${f.requests} requests in the window, fewer than the minimum ${policy.minRequests}`,
      );
  }
  const maxErrorRate = round(o.errorRate + policy.errorRatePp);
  const errorTest = compareErrorRates(o, n, maxErrorRate, policy);
  const above =
    `error rate ${n.errorRate} % on new (${n.errors} of ${n.requests}) vs ${o.errorRate} % on old (${o.errors} of ` +
    `${o.requests}): more than ${policy.errorRatePp} pp above`;
  const test = `two-proportion test p = ${errorTest.p}`;
  if (errorTest.decision === 'not-significant')
    reasons.push(`${above}, but not significant yet (${test} ≥ ${policy.errorAlpha}): too little evidence`);
  let tooFew = reasons.length;
  if (errorTest.decision === 'significant') reasons.push(`${above} (${test} < ${policy.errorAlpha})`);
  const maxP99Ms = o.p99 === null ? null : round(o.p99 * policy.p99Ratio + policy.p99SlackMs);
  const samplesOld = o.samples ?? [];
  const samplesNew = n.samples ?? [];
  let method: CanaryVerdict['method'] = 'none';
  let rankTest: RankTestFigures | undefined;
  if (o.samples && n.samples && samplesOld.length >= policy.minRequests && samplesNew.length >= policy.minRequests) {
    method = 'rank-test';
    const t = mannWhitneyGreater(samplesOld, samplesNew);
    const sortedOld = [...samplesOld].sort((a, b) => a - b);
    const sortedNew = [...samplesNew].sort((a, b) => a - b);
    const medianOldMs = median(sortedOld)!;
    const medianNewMs = median(sortedNew)!;
    const maxMedianNewMs = round(medianOldMs * policy.p99Ratio + policy.p99SlackMs);
    rankTest = {
      u: t.u,
      z: round(t.z),
      p: t.p < 1e-6 ? t.p : round(t.p, 6),
      alpha: policy.alpha,
      medianOldMs,
      medianNewMs,
      maxMedianNewMs,
    };
    if (t.p < policy.alpha && medianNewMs > maxMedianNewMs) {
      const slower =
        `latency: new is slower than old (Mann-Whitney U one-sided p = ${rankTest.p} < ${policy.alpha}) ` +
        `and its median ${ms(medianNewMs)} is above ${policy.p99Ratio} × ${ms(medianOldMs)} + ${policy.p99SlackMs} ms`;
      if (samplesNew.length >= policy.minLatencySamples) reasons.push(slower);
      else {
        // Too few samples on the new side to call it: bake longer (counted with the other too-little-evidence reasons).
        reasons.splice(
          tooFew,
          0,
          `${slower}, but on ${samplesNew.length} samples (< ${policy.minLatencySamples}): too little evidence`,
        );
        tooFew++;
      }
    }
  } else if (o.requests >= policy.minRequests && n.requests >= policy.minRequests) {
    method = 'p99';
    if (o.p99 === null || n.p99 === null)
      reasons.push(`latency: p99 unavailable on ${o.p99 === null ? 'old' : 'new'} side`);
    else if (n.p99 > maxP99Ms!)
      reasons.push(
        `latency: p99 ${ms(n.p99)} on new vs ${ms(o.p99)} on old: above ${policy.p99Ratio} × old + ${policy.p99SlackMs} ms = ${ms(maxP99Ms!)}`,
      );
  }
  return {
    verdict: reasons.length ? 'fail' : 'pass',
    ...(tooFew > 0 && reasons.length === tooFew ? { insufficientData: true } : {}),
    method,
    reasons,
    old: withoutSamples(o),
    new: withoutSamples(n),
    limits: { maxErrorRate, maxP99Ms },
    ...(rankTest ? { rankTest } : {}),
    errorTest,
  };
}

function compareErrorRates(o: SideFigures, n: SideFigures, maxErrorRate: number, policy: CanaryPolicy): ErrorRateTest {
  const t = twoProportionGreater(o, n);
  const base = {
    method: 'two-proportion z-test (pooled, one-sided)' as const,
    failuresOld: o.errors,
    failuresNew: n.errors,
    minFailures: policy.minFailures,
    z: round(t.z),
    p: t.p < 1e-6 ? t.p : round(t.p, 6),
    alpha: policy.errorAlpha,
  };
  if (n.errorRate <= maxErrorRate) return { ...base, decision: 'no-excess' };
  if (n.errors < policy.minFailures) return { ...base, decision: 'too-few-failures' };
  return { ...base, decision: t.p < policy.errorAlpha ? 'significant' : 'not-significant' };
}

/** No same-window comparison is possible (the old side gets no traffic at this weight): the alarm floor decides alone. */
export function skippedCanary(window: CanaryWindow, reason: string): CanaryVerdict {
  return {
    verdict: 'skipped',
    method: 'none',
    reasons: [reason],
    old: withoutSamples(window.old),
    new: withoutSamples(window.new),
    limits: { maxErrorRate: null, maxP99Ms: null },
  };
}
