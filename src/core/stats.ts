/**
 * Small-sample statistics for comparing training runs over seeds (the ablation and depth studies): mean,
 * sample standard deviation, standard error, Student's t distribution (CDF and quantile), Welch's unequal-
 * variance t-test and the 95% confidence interval of a difference of means.
 *
 * Formulas (textbook; e.g. Welch 1947, Press et al. "Numerical Recipes" ch. 6 for the special functions):
 *  - Welch: t = (m1 - m2) / se, se = sqrt(s1^2/n1 + s2^2/n2), degrees of freedom by Welch-Satterthwaite
 *    df = se^4 / ((s1^2/n1)^2/(n1-1) + (s2^2/n2)^2/(n2-1)); two-sided p = P(|T_df| >= |t|).
 *  - Student's t: P(|T_nu| >= |t|) = I_x(nu/2, 1/2) with x = nu / (nu + t^2), I the regularized incomplete
 *    beta function, evaluated by its continued fraction (modified Lentz) after the symmetry
 *    I_x(a,b) = 1 - I_{1-x}(b,a) where x > (a+1)/(a+b+2) (there the fraction converges fast).
 *  - ln Gamma by the Lanczos approximation (g = 7, 9 coefficients; relative error ~1e-15 for x > 0).
 *  - quantiles by bisection on the CDF (monotone; 200 halvings reach double precision).
 */

export interface Summary { n: number; mean: number; std: number; se: number }

export function summarize(xs: readonly number[]): Summary {
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, std: NaN, se: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  return { n, mean, std, se: std / Math.sqrt(n) };
}

const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x); // reflection
  x -= 1;
  let a = LANCZOS[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (valid for x < (a+1)/(a+b+2)). */
function betaFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d; if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c; if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d; h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d; if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c; if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b), 0 <= x <= 1, a, b > 0. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaFraction(1 - x, b, a)) / b;
}

/** Two-sided tail P(|T_nu| >= |t|) of Student's t with nu degrees of freedom (nu may be fractional). */
export function studentTwoSidedP(t: number, nu: number): number {
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(nu / (nu + t * t), nu / 2, 0.5);
}

/** CDF P(T_nu <= t). */
export function studentCdf(t: number, nu: number): number {
  const tail = studentTwoSidedP(t, nu) / 2;
  return t >= 0 ? 1 - tail : tail;
}

/** Quantile: the t with P(T_nu <= t) = q, 0 < q < 1. */
export function studentQuantile(q: number, nu: number): number {
  if (!(q > 0 && q < 1)) return NaN;
  let lo = -1e6, hi = 1e6;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (studentCdf(mid, nu) < q) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface WelchResult {
  /** mean(a) - mean(b) */
  diff: number;
  se: number;
  t: number;
  df: number;
  /** two-sided p-value of H0: equal means */
  p: number;
  /** 95% confidence interval of the difference */
  ci95: [number, number];
}

/**
 * Welch's t-test of mean(a) - mean(b). Needs >= 2 values per group. When both groups have zero variance the
 * difference is exact: p = 0 if it is non-zero, 1 if it is zero, and the interval is the point.
 */
export function welch(a: readonly number[], b: readonly number[], level = 0.95): WelchResult {
  const A = summarize(a), B = summarize(b);
  if (A.n < 2 || B.n < 2) throw new Error(`welch: need >= 2 values per group, got ${A.n} and ${B.n}`);
  const va = (A.std * A.std) / A.n, vb = (B.std * B.std) / B.n;
  const diff = A.mean - B.mean;
  const se = Math.sqrt(va + vb);
  if (se === 0) return { diff, se, t: diff === 0 ? 0 : Math.sign(diff) * Infinity, df: A.n + B.n - 2, p: diff === 0 ? 1 : 0, ci95: [diff, diff] };
  const df = (va + vb) ** 2 / (va * va / (A.n - 1) + vb * vb / (B.n - 1));
  const t = diff / se;
  const q = studentQuantile(1 - (1 - level) / 2, df);
  return { diff, se, t, df, p: studentTwoSidedP(t, df), ci95: [diff - q * se, diff + q * se] };
}
