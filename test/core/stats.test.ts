/**
 * core/stats.ts against independent values: printed tables of Student's t (two-sided 5% critical values,
 * e.g. any statistics textbook: df 4 -> 2.776, df 10 -> 2.228, df 30 -> 2.042) and SciPy 1.17.1
 * (scipy.stats.ttest_ind(a, b, equal_var=False) with .confidence_interval(0.95); scipy.stats.t.sf/ppf), run
 * once by hand on the inputs written below.
 */
import { describe, expect, it } from 'vitest';
import { lnGamma, studentQuantile, studentTwoSidedP, summarize, welch } from '../../src/core/stats.ts';

describe('statistics', () => {
  it('lnGamma: Gamma(5) = 24, Gamma(1/2) = sqrt(pi), Gamma(10.5)', () => {
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(lnGamma(10.5)).toBeCloseTo(Math.log(1133278.3889487855), 10); // Gamma(10.5) = (19!!/2^10) sqrt(pi)
  });
  it('t table: two-sided 5% critical values', () => {
    for (const [df, crit] of [[4, 2.776], [10, 2.228], [30, 2.042], [1, 12.706]] as const) {
      expect(studentQuantile(0.975, df)).toBeCloseTo(crit, 3);
      expect(studentTwoSidedP(crit, df)).toBeCloseTo(0.05, 3);
    }
  });
  it('t with fractional df matches SciPy', () => {
    expect(studentTwoSidedP(2.5, 3.7)).toBeCloseTo(0.07182202291182678, 10);
    expect(studentQuantile(0.975, 4)).toBeCloseTo(2.7764451051977934, 9);
    expect(studentQuantile(0.975, 2.3)).toBeCloseTo(3.807163208232131, 9);
  });
  it('Welch test and 95% CI match SciPy (two accuracy-like samples)', () => {
    const r = welch([0.9012, 0.9034, 0.8991, 0.9050, 0.9008], [0.8951, 0.8990, 0.8932, 0.8978, 0.8960]);
    expect(r.t).toBeCloseTo(3.9173345393844676, 9);
    expect(r.df).toBeCloseTo(7.997442026183915, 9);
    expect(r.p).toBeCloseTo(0.0044377853836470435, 10);
    expect(r.ci95[0]).toBeCloseTo(0.0023361873600416133, 9);
    expect(r.ci95[1]).toBeCloseTo(0.009023812639958202, 9);
  });
  it('Welch with unequal sizes and variances matches SciPy', () => {
    const r = welch([1, 2, 3], [1.5, 1.6, 1.7, 1.8]);
    expect(r.t).toBeCloseTo(0.6024640760767094, 9);
    expect(r.df).toBeCloseTo(2.0500989480262466, 9);
    expect(r.p).toBeCloseTo(0.6067609418414527, 9);
    expect(r.ci95).toEqual([expect.closeTo(-2.091982024562519, 8), expect.closeTo(2.791982024562519, 8)]);
  });
  it('degenerate cases: identical constant groups p = 1; different constants p = 0; too few values throws', () => {
    expect(welch([0.5, 0.5], [0.5, 0.5]).p).toBe(1);
    expect(welch([0.6, 0.6], [0.5, 0.5]).p).toBe(0);
    expect(() => welch([1], [1, 2])).toThrow(/>= 2 values/);
    expect(summarize([1, 2, 3, 4])).toEqual({ n: 4, mean: 2.5, std: Math.sqrt(5 / 3), se: Math.sqrt(5 / 3) / 2 });
  });
});
