/**
 * The Mann-Whitney U test (Wilcoxon rank-sum), one-sided, with the normal approximation, tie
 * correction and continuity correction: the test Spinnaker's Kayenta judge uses to compare a
 * canary's metric samples with its baseline's. Here: is the new side's latency stochastically
 * greater (slower) than the old side's?
 */

export interface RankTestResult {
  /** U statistic of the new side (pairs where new > old, ties counting one half). */
  readonly u: number;
  readonly nOld: number;
  readonly nNew: number;
  /** Standard score of U under "no difference", continuity-corrected. */
  readonly z: number;
  /** One-sided p-value of "new is greater than old". */
  readonly p: number;
}

/** erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7). */
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return sign * y;
}

/** Standard normal cumulative distribution. */
export function normalCdf(z: number): number {
  return 0.5 * (1 + erf(z / Math.SQRT2));
}

/**
 * One-sided Mann-Whitney U test of "`newer` tends to be larger than `older`".
 * Needs at least one sample per side; with every value tied the p-value is 1.
 */
export function mannWhitneyGreater(older: readonly number[], newer: readonly number[]): RankTestResult {
  const nOld = older.length;
  const nNew = newer.length;
  if (!nOld || !nNew) throw new Error(`the rank test needs samples on both sides, got: old ${nOld}, new ${nNew}`);
  const all = [...older.map((v) => ({ v, isNew: false })), ...newer.map((v) => ({ v, isNew: true }))].sort(
    (a, b) => a.v - b.v,
  );
  const n = all.length;
  let rankSumNew = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && all[j + 1].v === all[i].v) j++;
    const t = j - i + 1;
    const rank = (i + j) / 2 + 1; // average of ranks i+1 … j+1
    for (let k = i; k <= j; k++) if (all[k].isNew) rankSumNew += rank;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const u = rankSumNew - (nNew * (nNew + 1)) / 2;
  const mean = (nOld * nNew) / 2;
  const variance = ((nOld * nNew) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (!(variance > 0)) return { u, nOld, nNew, z: 0, p: 1 };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { u, nOld, nNew, z, p: 1 - normalCdf(z) };
}
