/** A posterior over a variant's mean reward as the API reports it (the gateway's own Normal–Gamma form, and the record's Beta and Student-t forms). */
export type PosteriorDescriptor =
  | { family: 'beta'; alpha: number; beta: number }
  | { family: 'student-t'; df: number; location: number; scale: number }
  | { family: 'normal-gamma'; mu: number; kappa: number; alpha: number; beta: number };

/** Points each density is evaluated at. */
const GRID_POINTS = 400;
/** Standard deviations either side of the mean a density's own grid spans. */
const SPAN_SDS = 6;

const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

/** ln Γ(x) for x > 0 (Lanczos, g = 7): enough for densities drawn on a screen. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i += 1) sum += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** A density the chart can draw: Beta over a rate, or the Student-t marginal of a Normal–Gamma mean. */
export type Density = { family: 'beta'; alpha: number; beta: number } | { family: 'student-t'; df: number; location: number; scale: number };

/** The density of a posterior as the API describes it; Normal–Gamma becomes its Student-t marginal of the mean. */
export function densityOf(posterior: PosteriorDescriptor): Density {
  if (posterior.family !== 'normal-gamma') return posterior;
  // μ ~ t_{2α}(mu, β / (α κ)) (Murphy 2007, eq. 110).
  return { family: 'student-t', df: 2 * posterior.alpha, location: posterior.mu, scale: Math.sqrt(posterior.beta / (posterior.alpha * posterior.kappa)) };
}

/** The density at x. */
export function pdf(density: Density, x: number): number {
  if (density.family === 'beta') {
    if (x <= 0 || x >= 1) return 0;
    const { alpha: a, beta: b } = density;
    return Math.exp((a - 1) * Math.log(x) + (b - 1) * Math.log(1 - x) - (logGamma(a) + logGamma(b) - logGamma(a + b)));
  }
  const { df, location, scale } = density;
  const z = (x - location) / scale;
  return Math.exp(logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI) - Math.log(scale) - ((df + 1) / 2) * Math.log1p((z * z) / df));
}

/** Mean and standard deviation (a t with df ≤ 2 has none: its scale stands in). */
export function moments(density: Density): { mean: number; sd: number } {
  if (density.family === 'beta') {
    const { alpha: a, beta: b } = density;
    return { mean: a / (a + b), sd: Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1))) };
  }
  const { df, location, scale } = density;
  return { mean: location, sd: df > 2 ? scale * Math.sqrt(df / (df - 2)) : scale * 3 };
}

/** The x range worth drawing for all `densities` together. */
export function commonRange(densities: readonly Density[]): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (const density of densities) {
    const { mean, sd } = moments(density);
    low = Math.min(low, mean - 4 * sd);
    high = Math.max(high, mean + 4 * sd);
  }
  if (densities.every((density) => density.family === 'beta')) [low, high] = [Math.max(0, low), Math.min(1, high)];
  if (!(high > low)) [low, high] = [low - 0.5, low + 0.5];
  return [low, high];
}

/** x and pdf(x) on `points` evenly spaced points of [low, high]. */
export function sample(density: Density, [low, high]: [number, number], points = GRID_POINTS): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < points; i += 1) {
    const at = low + ((high - low) * i) / (points - 1);
    x.push(at);
    y.push(pdf(density, at));
  }
  return { x, y };
}

/** The cumulative distribution on a grid, by the trapezoid rule, normalised to end at 1. */
function cumulative(x: readonly number[], y: readonly number[]): number[] {
  const cdf = [0];
  for (let i = 1; i < x.length; i += 1) cdf.push(cdf[i - 1]! + ((y[i]! + y[i - 1]!) / 2) * (x[i]! - x[i - 1]!));
  const total = cdf[cdf.length - 1]!;
  return total > 0 ? cdf.map((value) => value / total) : cdf;
}

function quantile(x: readonly number[], cdf: readonly number[], p: number): number {
  const index = cdf.findIndex((value) => value >= p);
  if (index <= 0) return x[Math.max(0, index)]!;
  const [c0, c1] = [cdf[index - 1]!, cdf[index]!];
  return x[index - 1]! + ((p - c0) / (c1 - c0 || 1)) * (x[index]! - x[index - 1]!);
}

/** The central 95 % interval of the mean, numerically (shown when the record does not carry one). */
export function credibleInterval(density: Density): [number, number] {
  const { mean, sd } = moments(density);
  let range: [number, number] = [mean - SPAN_SDS * sd, mean + SPAN_SDS * sd];
  if (density.family === 'beta') range = [Math.max(0, range[0]), Math.min(1, range[1])];
  const { x, y } = sample(density, range, 2_000);
  const cdf = cumulative(x, y);
  return [quantile(x, cdf, 0.025), quantile(x, cdf, 0.975)];
}

/**
 * Expected loss of choosing each variant, E[max_j θ_j − θ_i], for independent posteriors,
 * numerically on one grid: E[max] from the product of the CDFs. Shown when the record does not
 * carry its own (coarser than the aggregator's for posteriors much narrower than the others).
 */
export function expectedLosses(densities: readonly Density[]): number[] {
  if (densities.length === 0) return [];
  const range = commonRange(densities);
  const grids = densities.map((density) => sample(density, range, 4_000));
  const x = grids[0]!.x;
  const cdfs = grids.map((grid) => cumulative(grid.x, grid.y));
  // Each CDF is normalised over the range, so the maximum's CDF climbs from 0 to 1 on it.
  let expectedMax = 0;
  let previous = cdfs.reduce((product, cdf) => product * cdf[0]!, 1);
  for (let i = 1; i < x.length; i += 1) {
    const current = cdfs.reduce((product, cdf) => product * cdf[i]!, 1);
    expectedMax += ((x[i]! + x[i - 1]!) / 2) * (current - previous);
    previous = current;
  }
  return densities.map((density) => Math.max(0, expectedMax - moments(density).mean));
}
