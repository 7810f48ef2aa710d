// Runs under Node: the density arithmetic touches no DOM (typechecked by the root tsconfig, which includes this file).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { credibleInterval, densityOf, expectedLosses, logGamma, moments, pdf } from './posterior-density.js';

const close = (actual: number, expected: number, tolerance: number, what: string) => assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual}, expected ${expected} ± ${tolerance}`);

test('logGamma matches factorials and Γ(1/2) = √π', () => {
  close(logGamma(5), Math.log(24), 1e-10, 'ln Γ(5)');
  close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-10, 'ln Γ(1/2)');
  close(logGamma(1_000), 5905.220423209181, 1e-6, 'ln Γ(1000)');
});

test('the Beta density integrates to one and its 95 % interval has the known quantiles', () => {
  close(pdf({ family: 'beta', alpha: 2, beta: 2 }, 0.5), 1.5, 1e-9, 'Beta(2,2) at 0.5');
  const uniform = credibleInterval({ family: 'beta', alpha: 1, beta: 1 });
  close(uniform[0], 0.025, 1e-3, 'Uniform 2.5 %');
  close(uniform[1], 0.975, 1e-3, 'Uniform 97.5 %');
  // Beta(2,2): F(x) = 3x² − 2x³ = 0.025 at x ≈ 0.094299.
  close(credibleInterval({ family: 'beta', alpha: 2, beta: 2 })[0], 0.094299, 1e-3, 'Beta(2,2) 2.5 %');
});

test('a Normal–Gamma posterior is drawn as the Student-t marginal of its mean, near normal with many observations', () => {
  const density = densityOf({ family: 'normal-gamma', mu: 1.5, kappa: 10_000, alpha: 5_000, beta: 5_000 });
  assert.deepEqual(density, { family: 'student-t', df: 10_000, location: 1.5, scale: 0.01 });
  const [low, high] = credibleInterval(density);
  close(low, 1.5 - 1.96 * 0.01, 2e-4, 't 2.5 %');
  close(high, 1.5 + 1.96 * 0.01, 2e-4, 't 97.5 %');
  close(moments(density).mean, 1.5, 0, 'mean');
});

test('expected loss: two uniform rates each give up E[max] − 1/2 = 1/6; a clear winner next to nothing', () => {
  const [a, b] = expectedLosses([{ family: 'beta', alpha: 1, beta: 1 }, { family: 'beta', alpha: 1, beta: 1 }]);
  close(a!, 1 / 6, 2e-3, 'a');
  close(b!, 1 / 6, 2e-3, 'b');
  const [loser, winner] = expectedLosses([{ family: 'beta', alpha: 11, beta: 91 }, { family: 'beta', alpha: 101, beta: 401 }]);
  close(winner!, 0, 5e-4, 'winner');
  close(loser!, 101 / 502 - 11 / 102, 2e-3, 'loser: the difference of the means');
});
