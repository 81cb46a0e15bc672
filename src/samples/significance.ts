/** Tests drift uses to tell a change from sampling noise. */

/** z of the difference of two proportions (pooled). */
export function zTwoProportions(p1: number, n1: number, p2: number, n2: number): number {
  if (n1 === 0 || n2 === 0) return 0;
  const p = (p1 * n1 + p2 * n2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  return se === 0 ? (p1 === p2 ? 0 : Number.POSITIVE_INFINITY) : Math.abs(p1 - p2) / se;
}

/** χ² critical value for `df` degrees of freedom at the one-sided normal quantile `z` (Wilson–Hilferty). */
export function chiSquareCritical(df: number, z: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** How two counts by category differ: see {@link categoricalShift}. */
export interface CategoricalShift {
  /** Total variation distance of the shares: half the sum of their differences, 0 (same) to 1 (disjoint). */
  tv: number;
  /** Whether the χ² test of homogeneity says more than noise, at the normal quantile given. */
  significant: boolean;
  /** The category whose share moved most. */
  moved: { key: string; base: number; current: number };
  /** The most common category on each side. */
  top: [base: string, current: string];
}

/** Categories with fewer values than this (both sides together) are pooled for the χ² test. */
const MIN_POOLED = 10;

/**
 * Compares two distributions given as counts by category (lengths, kinds of characters, prefixes): how far
 * apart their shares are, and whether a χ² test of homogeneity at `z` finds the difference significant.
 * Undefined when either side is empty.
 */
export function categoricalShift(
  base: Readonly<Record<string, number>>,
  current: Readonly<Record<string, number>>,
  z: number,
): CategoricalShift | undefined {
  const nb = sum(base);
  const nc = sum(current);
  if (nb === 0 || nc === 0) return undefined;
  const keys = [...new Set([...Object.keys(base), ...Object.keys(current)])].sort();
  let tv = 0;
  let moved: CategoricalShift['moved'] = { key: keys[0] as string, base: 0, current: 0 };
  // Rare categories are pooled into one, so no expected count in the test is tiny.
  const cells: Array<[number, number]> = [];
  const rare: [number, number] = [0, 0];
  for (const key of keys) {
    const b = base[key] ?? 0;
    const c = current[key] ?? 0;
    const d = c / nc - b / nb;
    tv += Math.abs(d) / 2;
    // Ties (a category replaced by another) name the one the base had: `"s-" 100% → 0%`, not `"x-" 0% → 100%`.
    const m = Math.abs(moved.current - moved.base);
    if (Math.abs(d) > m + 1e-12 || (Math.abs(d) > m - 1e-12 && b / nb > moved.base))
      moved = { key, base: b / nb, current: c / nc };
    if (b + c < MIN_POOLED) {
      rare[0] += b;
      rare[1] += c;
    } else cells.push([b, c]);
  }
  if (rare[0] + rare[1] > 0) cells.push(rare);
  let chi2 = 0;
  const n = nb + nc;
  for (const [b, c] of cells) {
    const eb = ((b + c) * nb) / n;
    const ec = ((b + c) * nc) / n;
    chi2 += (b - eb) ** 2 / eb + (c - ec) ** 2 / ec;
  }
  const significant = cells.length > 1 && chi2 > chiSquareCritical(cells.length - 1, z);
  return { tv, significant, moved, top: [mostCommon(base), mostCommon(current)] };
}

function sum(counts: Readonly<Record<string, number>>): number {
  let n = 0;
  for (const c of Object.values(counts)) n += c;
  return n;
}

function mostCommon(counts: Readonly<Record<string, number>>): string {
  let best = '';
  let most = -1;
  for (const [k, c] of Object.entries(counts)) {
    if (c > most) {
      best = k;
      most = c;
    }
  }
  return best;
}
