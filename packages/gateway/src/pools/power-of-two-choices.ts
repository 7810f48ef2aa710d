/**
 * Power of two choices: two distinct candidates at random, the less loaded one wins (ties go
 * to the first drawn). Nearly as even as least-loaded, without herding every caller onto the
 * one instance that just looked idle. `random` is uniform in [0, 1).
 */
export function powerOfTwoChoices<T>(candidates: readonly T[], load: (candidate: T) => number, random: () => number): T | undefined {
  if (candidates.length <= 1) return candidates[0];
  const first = Math.floor(random() * candidates.length);
  // Draw the second from the remaining n-1 slots so the two are always distinct.
  let second = Math.floor(random() * (candidates.length - 1));
  if (second >= first) second += 1;
  const a = candidates[first]!;
  const b = candidates[second]!;
  return load(b) < load(a) ? b : a;
}
