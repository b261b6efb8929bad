import { mannWhitneyGreater, normalCdf } from '../../../../lambda/core/verify/rank-test';

// Reference values: scipy.stats.mannwhitneyu(new, old, alternative='greater', method='asymptotic', use_continuity=True).
describe('mannWhitneyGreater', () => {
  test('GIVEN the textbook example without ties WHEN tested THEN U and p match the reference', () => {
    const r = mannWhitneyGreater([20, 11, 17, 12], [19, 22, 16, 29, 24]);
    expect(r.u).toBe(17);
    expect(r.z).toBeCloseTo((17 - 10 - 0.5) / Math.sqrt((5 * 4 * 10) / 12), 10);
    expect(r.p).toBeCloseTo(0.055673443266570206, 6);
  });

  test('GIVEN tied samples WHEN tested THEN the tie-corrected p matches the reference', () => {
    const older = [1, 2, 2, 3, 4, 4, 5, 5, 6, 7];
    const newer = [3, 4, 4, 5, 6, 6, 7, 8, 8, 9];
    const r = mannWhitneyGreater(older, newer);
    expect(r.u).toBe(77);
    expect(r.p).toBeCloseTo(0.021692314060767624, 6);
    // The other direction: the old side is not slower.
    const rev = mannWhitneyGreater(newer, older);
    expect(rev.u).toBe(23);
    expect(rev.p).toBeCloseTo(0.9819683943803896, 6);
  });

  test('GIVEN every value tied WHEN tested THEN there is no evidence (p = 1)', () => {
    expect(mannWhitneyGreater([1, 1, 1], [1, 1, 1])).toEqual({ u: 4.5, nOld: 3, nNew: 3, z: 0, p: 1 });
  });

  test('fails when a side has no samples', () => {
    expect(() => mannWhitneyGreater([], [1])).toThrow('the rank test needs samples on both sides, got: old 0, new 1');
  });

  test('GIVEN known z values WHEN normalCdf THEN standard normal probabilities', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-2.326348)).toBeCloseTo(0.01, 6);
  });
});
