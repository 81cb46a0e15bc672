// The statistics the gates judge by: confidence bounds on a ratio, and on the difference of two.
// A gate fails only when the evidence says the true figure is past its limit — not when a few
// hundred records happen to land there — so every bound here is a one-sided lower bound.

/** z of a one-sided 99 % confidence bound (the standard normal's 0.99 quantile). */
export const Z_99 = 2.3263478740408408;

/**
 * The Wilson score lower bound on a ratio from `hits` of `n`: with 99 % confidence (the default z)
 * the true ratio is at least this. 0 when `n` is 0. Good for small `n` and ratios near 0, where
 * the plain normal approximation is not.
 *
 * @example
 * wilsonLowerBound(3, 204) // ≈ 0.004: 3 dead letters in 204 records do not show a ratio above 1 %
 */
export function wilsonLowerBound(hits: number, n: number, z = Z_99): number {
  if (n <= 0) return 0;
  const p = Math.min(1, Math.max(0, hits / n));
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return Math.max(0, (centre - spread) / (1 + z2 / n));
}

/**
 * A lower bound on how much ratio A exceeds ratio B (`hitsA/nA − hitsB/nB`), with 99 % confidence by
 * default: the Agresti–Caffo interval (one hit and one miss added to each side), which stays sound
 * for small samples and for ratios of 0. -1 when either side has no records.
 *
 * @example
 * differenceLowerBound(200, 5000, 100, 5000) // ≈ 0.012: green's 4 % is at least 1.2 points above blue's 2 %
 */
export function differenceLowerBound(hitsA: number, nA: number, hitsB: number, nB: number, z = Z_99): number {
  if (nA <= 0 || nB <= 0) return -1;
  const a = (hitsA + 1) / (nA + 2);
  const b = (hitsB + 1) / (nB + 2);
  const se = Math.sqrt((a * (1 - a)) / (nA + 2) + (b * (1 - b)) / (nB + 2));
  return a - b - z * se;
}
