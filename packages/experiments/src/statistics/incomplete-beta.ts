/**
 * The regularized incomplete beta function and the quantiles built on it: the exact 95 %
 * intervals of a Beta posterior and of a Student-t marginal, without Monte Carlo noise (the
 * dashboard draws the same curves, so the interval must sit where the curve says).
 */

/** Relative precision the continued fraction stops at. */
const CONVERGENCE = 1e-14;
/** Terms of the continued fraction evaluated at most (enough for shapes up to about 10^8). */
const MAX_TERMS = 20_000;
/** Bisection steps of a quantile: the bracket shrinks to 2^-80 of its width, below double precision. */
const BISECTION_STEPS = 80;
/** Smallest magnitude a continued-fraction denominator may take before it is nudged off zero. */
const TINY = 1e-300;

/** Coefficients of the Lanczos approximation (g = 7, n = 9), accurate to about 15 digits for x > 0. */
const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
const LANCZOS_G = 7;

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const shifted = x - 1;
  let sum = LANCZOS[0]!;
  for (let index = 1; index < LANCZOS.length; index += 1) sum += LANCZOS[index]! / (shifted + index);
  const t = shifted + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** I_x(a, b): the CDF at x of a Beta(a, b) distribution (a, b > 0). */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  // The continued fraction converges fast below the mean; above it, use I_x(a, b) = 1 − I_{1−x}(b, a).
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(logFront) * continuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(logFront) * continuedFraction(1 - x, b, a)) / b;
}

/** The continued fraction of the incomplete beta function, evaluated by the modified Lentz method. */
function continuedFraction(x: number, a: number, b: number): number {
  const nudge = (value: number) => (Math.abs(value) < TINY ? TINY : value);
  let c = 1;
  let d = 1 / nudge(1 - ((a + b) * x) / (a + 1));
  let result = d;
  for (let m = 1; m <= MAX_TERMS; m += 1) {
    const even = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 / nudge(1 + even * d);
    c = nudge(1 + even / c);
    result *= d * c;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 / nudge(1 + odd * d);
    c = nudge(1 + odd / c);
    const step = d * c;
    result *= step;
    if (Math.abs(step - 1) < CONVERGENCE) break;
  }
  return result;
}

/** The p-quantile of Beta(a, b), by bisection on its CDF. */
export function betaQuantile(p: number, a: number, b: number): number {
  return bisect((x) => regularizedIncompleteBeta(x, a, b), p, 0, 1);
}

/** The p-quantile of the standard Student-t with `df` degrees of freedom. */
export function studentTQuantile(p: number, df: number): number {
  if (p === 0.5) return 0;
  // P(|T| > t) = I_{df/(df+t²)}(df/2, 1/2); search over the upper tail and mirror.
  const upper = p > 0.5 ? 1 - p : p;
  const tailBeyond = (t: number) => 0.5 * regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
  let high = 1;
  while (tailBeyond(high) > upper && high < 1e300) high *= 2;
  const t = bisect((value) => 1 - tailBeyond(value), 1 - upper, 0, high);
  return p > 0.5 ? t : -t;
}

/** The x in [low, high] where the increasing function `cdf` reaches p. */
function bisect(cdf: (x: number) => number, p: number, low: number, high: number): number {
  for (let step = 0; step < BISECTION_STEPS; step += 1) {
    const middle = (low + high) / 2;
    if (cdf(middle) < p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}
