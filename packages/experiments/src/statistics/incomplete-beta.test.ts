import assert from 'node:assert/strict';
import { test } from 'node:test';
import { betaQuantile, logGamma, regularizedIncompleteBeta, studentTQuantile } from './incomplete-beta.js';

const near = (actual: number, expected: number, tolerance: number) => assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);

test('logGamma matches factorials and Γ(1/2) = √π', () => {
  near(logGamma(1), 0, 1e-12);
  near(logGamma(5), Math.log(24), 1e-12);
  near(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-12);
  near(logGamma(101), [...Array(100).keys()].reduce((sum, k) => sum + Math.log(k + 1), 0), 1e-9);
});

test('the incomplete beta is a CDF with known closed forms', () => {
  for (const x of [0.1, 0.3, 0.5, 0.9]) {
    near(regularizedIncompleteBeta(x, 1, 1), x, 1e-12); // uniform
    near(regularizedIncompleteBeta(x, 2, 1), x * x, 1e-12);
    near(regularizedIncompleteBeta(x, 1, 3), 1 - (1 - x) ** 3, 1e-12);
    near(regularizedIncompleteBeta(x, 3, 5) + regularizedIncompleteBeta(1 - x, 5, 3), 1, 1e-12);
  }
  assert.equal(regularizedIncompleteBeta(0, 2, 2), 0);
  assert.equal(regularizedIncompleteBeta(1, 2, 2), 1);
});

test('quantiles invert the CDF: Beta, and Student-t against tabulated values', () => {
  near(betaQuantile(0.975, 1, 1), 0.975, 1e-12);
  near(regularizedIncompleteBeta(betaQuantile(0.025, 40, 960), 40, 960), 0.025, 1e-10);
  // Student-t 97.5 % points: df 1 → 12.706, df 10 → 2.228, df 30 → 2.042; large df → the normal's 1.960.
  near(studentTQuantile(0.975, 1), 12.7062, 1e-3);
  near(studentTQuantile(0.975, 10), 2.2281, 1e-3);
  near(studentTQuantile(0.025, 30), -2.0423, 1e-3);
  near(studentTQuantile(0.975, 1e6), 1.95996, 1e-3);
  // A huge Beta (a million trials) still converges.
  const low = betaQuantile(0.025, 100_001, 900_001);
  near(low, 0.1 - 1.96 * Math.sqrt(0.09 / 1e6), 2e-5);
});
