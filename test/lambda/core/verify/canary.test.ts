import { canaryPolicySchema, DEFAULT_CANARY_POLICY } from '../../../../lambda/core/verify/config';
import { decideCanary, skippedCanary } from '../../../../lambda/core/verify/canary';
import { figuresFromSamples, percentile } from '../../../../lambda/core/verify/figures';
import type { SideWindow } from '../../../../lambda/core/verify/ports';

const side = (requests: number, errors: number, p99: number | null, extra: Partial<SideWindow> = {}): SideWindow => ({
  requests,
  errors,
  errorRate: requests ? Math.round((errors / requests) * 100_000) / 1000 : 0,
  p50: p99 === null ? null : p99 / 4,
  p90: p99 === null ? null : p99 / 2,
  p99,
  ...extra,
});

/** Deterministic pseudo-random latencies around `base` ms. */
function latencies(n: number, base: number, spread: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return base + (s / 2 ** 31) * spread;
  });
}

describe('decideCanary from aggregated figures (p99)', () => {
  test('GIVEN the defaults THEN p99 ≤ old × 1.10 + 5 ms, error rate ≤ old + 0.1 pp, 50 requests per side', () => {
    expect(DEFAULT_CANARY_POLICY).toEqual({
      p99Ratio: 1.1,
      p99SlackMs: 5,
      errorRatePp: 0.1,
      minRequests: 50,
      minFailures: 3,
      minLatencySamples: 20,
      errorAlpha: 0.01,
      alpha: 0.01,
    });
  });

  test("GIVEN the new side within tolerance THEN pass with both sides' figures and the limits", () => {
    const v = decideCanary({ old: side(1000, 1, 200), new: side(1000, 2, 225) }, DEFAULT_CANARY_POLICY);
    expect(v).toEqual({
      verdict: 'pass',
      method: 'p99',
      reasons: [],
      old: { requests: 1000, errors: 1, errorRate: 0.1, p50: 50, p90: 100, p99: 200 },
      new: { requests: 1000, errors: 2, errorRate: 0.2, p50: 56.25, p90: 112.5, p99: 225 },
      limits: { maxErrorRate: 0.2, maxP99Ms: 225 },
      errorTest: expect.objectContaining({ decision: 'no-excess', failuresOld: 1, failuresNew: 2 }),
    });
  });

  test('fails when the new p99 is just above old × 1.10 + 5 ms', () => {
    const v = decideCanary({ old: side(1000, 0, 200), new: side(1000, 0, 225.1) }, DEFAULT_CANARY_POLICY);
    expect(v.verdict).toBe('fail');
    expect(v.reasons).toEqual(['latency: p99 225.1 ms on new vs 200 ms on old: above 1.1 × old + 5 ms = 225 ms']);
  });

  test('fails when the new error rate is more than 0.1 pp above the old one, with enough failures and significant', () => {
    const v = decideCanary({ old: side(2000, 2, 100), new: side(1000, 20, 100) }, DEFAULT_CANARY_POLICY);
    expect(v.verdict).toBe('fail');
    expect(v.insufficientData).toBeUndefined();
    expect(v.reasons).toEqual([
      expect.stringMatching(
        /^error rate 2 % on new \(20 of 1000\) vs 0\.1 % on old \(2 of 2000\): more than 0\.1 pp above \(two-proportion test p = [\d.e-]+ < 0\.01\)$/,
      ),
    ]);
    expect(v.errorTest).toMatchObject({ decision: 'significant', failuresNew: 20, minFailures: 3, alpha: 0.01 });
  });

  test('GIVEN 5 % of a quiet service (200 requests on new) WHEN one or two requests fail THEN it is not evidence: pass, and the verdict says so', () => {
    for (const errors of [1, 2]) {
      const v = decideCanary({ old: side(3800, 0, 100), new: side(200, errors, 100) }, DEFAULT_CANARY_POLICY);
      expect([v.verdict, v.reasons]).toEqual(['pass', []]);
      expect(v.errorTest).toMatchObject({ decision: 'too-few-failures', failuresNew: errors, minFailures: 3 });
    }
  });

  test('GIVEN 5 % of a quiet service WHEN 4 of 200 fail against 0.1 % on old THEN fail (significant)', () => {
    const v = decideCanary({ old: side(3800, 4, 100), new: side(200, 4, 100) }, DEFAULT_CANARY_POLICY);
    expect(v.errorTest).toMatchObject({ decision: 'significant' });
    expect(v.verdict).toBe('fail');
  });

  test('GIVEN enough failures above the tolerance but not significant THEN too little evidence: the workflow bakes again', () => {
    const v = decideCanary({ old: side(1000, 1, 100), new: side(1000, 3, 100) }, DEFAULT_CANARY_POLICY);
    expect(v.errorTest).toMatchObject({ decision: 'not-significant', failuresNew: 3 });
    expect([v.verdict, v.insufficientData]).toEqual(['fail', true]);
    expect(v.reasons[0]).toMatch(
      /but not significant yet \(two-proportion test p = 0\.1\d+ ≥ 0\.01\): too little evidence$/,
    );
  });

  test('fails when a side served fewer than the minimum requests (a quiet side proves nothing)', () => {
    const v = decideCanary({ old: side(1000, 0, 100), new: side(10, 0, 90) }, DEFAULT_CANARY_POLICY);
    expect(v.verdict).toBe('fail');
    expect(v.method).toBe('none');
    expect(v.reasons).toEqual(['new side served 10 requests in the window, fewer than the minimum 50']);
  });

  test('GIVEN too few requests and nothing else wrong THEN the verdict says more data would decide; an error seen among them does not', () => {
    expect(
      decideCanary({ old: side(1000, 0, 100), new: side(10, 0, 90) }, DEFAULT_CANARY_POLICY).insufficientData,
    ).toBe(true);
    const withErrors = decideCanary({ old: side(1000, 0, 100), new: side(40, 10, 90) }, DEFAULT_CANARY_POLICY);
    expect([withErrors.verdict, withErrors.insufficientData]).toEqual(['fail', undefined]);
    expect(
      decideCanary({ old: side(1000, 0, 100), new: side(1000, 0, 100) }, DEFAULT_CANARY_POLICY).insufficientData,
    ).toBeUndefined();
  });

  test('GIVEN a custom tolerance THEN it is applied', () => {
    const policy = canaryPolicySchema.parse({ p99Ratio: 1.5, p99SlackMs: 0, errorRatePp: 1, minRequests: 10 });
    expect(decideCanary({ old: side(100, 1, 100), new: side(100, 2, 150) }, policy).verdict).toBe('pass');
    expect(decideCanary({ old: side(100, 1, 100), new: side(100, 2, 151) }, policy).verdict).toBe('fail');
  });
});

describe('decideCanary with raw samples (rank test)', () => {
  const policy = canaryPolicySchema.parse({ minRequests: 30 });

  test('GIVEN both sides drawn from the same distribution THEN pass by the rank test', () => {
    const v = decideCanary(
      { old: figuresFromSamples(latencies(400, 10, 10, 1), 0), new: figuresFromSamples(latencies(200, 10, 10, 2), 0) },
      policy,
    );
    expect(v.method).toBe('rank-test');
    expect(v.verdict).toBe('pass');
    expect(v.rankTest!.p).toBeGreaterThan(0.01);
    expect(v).not.toHaveProperty('old.samples');
  });

  test('fails when the new side is materially slower (+50 ms)', () => {
    const v = decideCanary(
      { old: figuresFromSamples(latencies(400, 10, 10, 1), 0), new: figuresFromSamples(latencies(200, 60, 10, 2), 0) },
      policy,
    );
    expect(v.verdict).toBe('fail');
    expect(v.rankTest!.p).toBeLessThan(1e-6);
    expect(v.reasons).toHaveLength(1);
    expect(v.reasons[0]).toMatch(
      /^latency: new is slower than old \(Mann-Whitney U one-sided p = .* < 0\.01\) and its median 6\d\.\d ms is above 1\.1 × 1\d\.\d ms \+ 5 ms$/,
    );
  });

  test('GIVEN a new side that looks slower on too few samples THEN too little evidence (bake longer), not a failure', () => {
    const few = canaryPolicySchema.parse({ minRequests: 5 });
    const v = decideCanary(
      { old: figuresFromSamples(latencies(200, 3, 1, 1), 0), new: figuresFromSamples(latencies(10, 11, 1, 2), 0) },
      few,
    );
    expect(v.rankTest!.p).toBeLessThan(0.01);
    expect(v.verdict).toBe('fail');
    expect(v.insufficientData).toBe(true);
    expect(v.reasons[0]).toMatch(/on 10 samples \(< 20\): too little evidence$/);
    const enough = decideCanary(
      { old: figuresFromSamples(latencies(200, 3, 1, 1), 0), new: figuresFromSamples(latencies(40, 11, 1, 2), 0) },
      few,
    );
    expect([enough.verdict, enough.insufficientData]).toEqual(['fail', undefined]);
  });

  test('GIVEN a tiny but significant slowdown (+1 ms) THEN the effect-size guard passes it', () => {
    const v = decideCanary(
      { old: figuresFromSamples(latencies(2000, 10, 2, 1), 0), new: figuresFromSamples(latencies(2000, 11, 2, 2), 0) },
      policy,
    );
    expect(v.rankTest!.p).toBeLessThan(0.01);
    expect(v.verdict).toBe('pass');
  });

  test('GIVEN a slow tail only in p99 but samples THEN the rank test judges, not the percentile', () => {
    const old = figuresFromSamples(latencies(400, 10, 10, 1), 0);
    const slowTail = [...latencies(396, 10, 10, 3), 500, 500, 500, 500];
    const v = decideCanary({ old, new: figuresFromSamples(slowTail, 0) }, policy);
    expect(v.method).toBe('rank-test');
    expect(v.verdict).toBe('pass');
  });
});

describe('figures', () => {
  test('GIVEN samples THEN nearest-rank percentiles and the error rate', () => {
    const f = figuresFromSamples([5, 1, 4, 2, 3, 6, 7, 8, 9, 10], 1);
    expect(f).toMatchObject({ requests: 10, errors: 1, errorRate: 10, p50: 5, p90: 9, p99: 10 });
    expect(percentile([], 50)).toBeNull();
  });

  test('GIVEN no traffic on the old side THEN skipped with the reason, figures kept', () => {
    const v = skippedCanary({ old: side(0, 0, null), new: side(10, 0, 5) }, 'old side gets no traffic');
    expect(v).toMatchObject({
      verdict: 'skipped',
      method: 'none',
      reasons: ['old side gets no traffic'],
      new: { requests: 10 },
    });
  });
});
