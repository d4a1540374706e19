/**
 * Distribution distances on histograms. Inputs are counts on the same bins; each is normalised to a
 * probability distribution here, so windows of any size compare with the training reference.
 */

/**
 * Added to every bin's proportion before PSI's logarithm: an empty bin on either side would make PSI
 * infinite. 1e-4 is small enough not to mask a real shift (a bin going from 0 % to 1 % still adds ≈0.05)
 * and large enough that one empty bin cannot dominate the sum.
 */
export const PSI_EPSILON = 1e-4;

function proportions(counts: readonly number[]): number[] | null {
  let total = 0;
  for (const c of counts) total += c;
  if (total <= 0) return null;
  return counts.map((c) => c / total);
}

/**
 * Population stability index: Σ (a − e) × ln(a / e) over bins, with e the reference's and a the window's
 * proportions, each plus PSI_EPSILON. Null when either side is empty.
 */
export function psi(expected: readonly number[], actual: readonly number[]): number | null {
  if (expected.length !== actual.length) throw new RangeError("PSI needs counts on the same bins");
  const e = proportions(expected);
  const a = proportions(actual);
  if (!e || !a) return null;
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = e[i]! + PSI_EPSILON;
    const ai = a[i]! + PSI_EPSILON;
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

/**
 * Jensen–Shannon distance in base 2: √JSD(P‖Q), where JSD = ½ KL(P‖M) + ½ KL(Q‖M) and M = ½ (P + Q).
 * Lies in [0, 1] and needs no epsilon (M is positive wherever P or Q is). Null when either side is empty.
 */
export function jsDistance(expected: readonly number[], actual: readonly number[]): number | null {
  if (expected.length !== actual.length) throw new RangeError("JS distance needs counts on the same bins");
  const p = proportions(expected);
  const q = proportions(actual);
  if (!p || !q) return null;
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    const qi = q[i]!;
    const mi = (pi + qi) / 2;
    if (pi > 0) divergence += 0.5 * pi * Math.log2(pi / mi);
    if (qi > 0) divergence += 0.5 * qi * Math.log2(qi / mi);
  }
  // Rounding can leave a tiny negative for identical distributions.
  return Math.sqrt(Math.min(1, Math.max(0, divergence)));
}

/**
 * Kolmogorov–Smirnov statistic on binned data: the largest gap between the two cumulative distributions
 * evaluated at the bin edges (bins must be ordered). A lower bound of the unbinned statistic.
 */
export function ksBinned(expected: readonly number[], actual: readonly number[]): number | null {
  if (expected.length !== actual.length) throw new RangeError("KS needs counts on the same bins");
  const p = proportions(expected);
  const q = proportions(actual);
  if (!p || !q) return null;
  let cp = 0;
  let cq = 0;
  let max = 0;
  for (let i = 0; i < p.length; i++) {
    cp += p[i]!;
    cq += q[i]!;
    max = Math.max(max, Math.abs(cp - cq));
  }
  return max;
}

/**
 * Sums fine equal-width bins on [0, 1] into the bins of `edges` (ascending cut points; bin i holds
 * (edges[i-1], edges[i]], as the reference's convention). Each fine bin goes wholly to the coarse bin that
 * holds its midpoint, which is exact when the coarse edges are multiples of the fine width (the reference's
 * 20 equal-width score bins on the sketch's 100).
 */
export function coarsen(fine: readonly number[], edges: readonly number[]): number[] {
  const coarse = new Array<number>(edges.length + 1).fill(0);
  const width = 1 / fine.length;
  for (let k = 0; k < fine.length; k++) {
    const mid = (k + 0.5) * width;
    let bin = 0;
    while (bin < edges.length && mid > edges[bin]!) bin++;
    coarse[bin]! += fine[k]!;
  }
  return coarse;
}

/**
 * Normalised importance weights for `features`: each feature's gain over the total gain of the listed
 * features. Equal weights when no importance is known or all gains are zero; features absent from the
 * importance list weigh zero otherwise.
 */
export function importanceWeights(
  features: readonly string[],
  importance: readonly { feature: string; gain: number }[] | undefined,
): Map<string, number> {
  const gains = new Map<string, number>();
  for (const entry of importance ?? []) {
    if (Number.isFinite(entry.gain) && entry.gain > 0) gains.set(entry.feature, entry.gain);
  }
  let total = 0;
  for (const f of features) total += gains.get(f) ?? 0;
  const weights = new Map<string, number>();
  for (const f of features) {
    weights.set(f, total > 0 ? (gains.get(f) ?? 0) / total : features.length > 0 ? 1 / features.length : 0);
  }
  return weights;
}

export interface Distances {
  psi: number | null;
  jsDistance: number | null;
  /** Over the first `ordered` bins only (null when there are none). */
  ks: number | null;
}

/**
 * psi, jsDistance and ksBinned of the same two histograms in one pass without allocating: what the drift
 * of every feature in every bucket of a time series needs. KS reads the first `ordered` bins (the ordered
 * values), normalised among themselves.
 */
export function distances(
  expected: ArrayLike<number>,
  actual: ArrayLike<number>,
  ordered: number,
): Distances {
  if (expected.length !== actual.length) throw new RangeError("distances need counts on the same bins");
  let eTotal = 0;
  let aTotal = 0;
  let eOrdered = 0;
  let aOrdered = 0;
  for (let i = 0; i < expected.length; i++) {
    eTotal += expected[i]!;
    aTotal += actual[i]!;
    if (i < ordered) {
      eOrdered += expected[i]!;
      aOrdered += actual[i]!;
    }
  }
  if (eTotal <= 0 || aTotal <= 0) return { psi: null, jsDistance: null, ks: null };
  let psiSum = 0;
  let divergence = 0;
  let cp = 0;
  let cq = 0;
  let ks = 0;
  for (let i = 0; i < expected.length; i++) {
    const p = expected[i]! / eTotal;
    const q = actual[i]! / aTotal;
    const e = p + PSI_EPSILON;
    const a = q + PSI_EPSILON;
    psiSum += (a - e) * Math.log(a / e);
    const m = (p + q) / 2;
    if (p > 0) divergence += 0.5 * p * Math.log2(p / m);
    if (q > 0) divergence += 0.5 * q * Math.log2(q / m);
    if (i < ordered && eOrdered > 0 && aOrdered > 0) {
      cp += expected[i]! / eOrdered;
      cq += actual[i]! / aOrdered;
      ks = Math.max(ks, Math.abs(cp - cq));
    }
  }
  return {
    psi: psiSum,
    jsDistance: Math.sqrt(Math.min(1, Math.max(0, divergence))),
    ks: ordered > 0 && eOrdered > 0 && aOrdered > 0 ? ks : null,
  };
}
