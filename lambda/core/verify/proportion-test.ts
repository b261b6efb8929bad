/**
 * Is the new side's failure rate higher than the old side's, given how many requests each saw?
 * One-sided two-proportion z-test with the pooled rate (H1: p_new > p_old). With very few failures
 * the normal approximation overstates the evidence (one failure against none looks "significant"),
 * so the canary also requires a minimum number of failures on the new side before it may fail.
 */
import { normalCdf } from './rank-test';

export interface ProportionTestResult {
  readonly z: number;
  /** One-sided p-value (1 when there is nothing to compare). */
  readonly p: number;
}

export function twoProportionGreater(
  old: { readonly requests: number; readonly errors: number },
  neu: { readonly requests: number; readonly errors: number },
): ProportionTestResult {
  if (old.requests === 0 || neu.requests === 0) return { z: 0, p: 1 };
  const pooled = (old.errors + neu.errors) / (old.requests + neu.requests);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / old.requests + 1 / neu.requests));
  const diff = neu.errors / neu.requests - old.errors / old.requests;
  if (se === 0) return { z: 0, p: diff > 0 ? 0 : 1 };
  const z = diff / se;
  return { z, p: 1 - normalCdf(z) };
}
