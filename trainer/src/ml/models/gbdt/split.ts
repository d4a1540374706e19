import type { BinnedMatrix } from "./binning.ts";
import { type Histogram, SLOT } from "./histogram.ts";

export interface SplitRules {
  /** L2 penalty on leaf values. */
  lambda: number;
  /** Smallest hessian sum a child may have. */
  minChildWeight: number;
  /** Smallest loss reduction that justifies a split. */
  gamma: number;
}

/** Weighted gradient and hessian sums of a node's rows. */
export interface GradStats {
  grad: number;
  hess: number;
}

/** The best split found for a node; `column` is -1 when there is none. */
export interface SplitCandidate {
  gain: number;
  column: number;
  /** Rows with a value bin <= `bin` go left. */
  bin: number;
  missingLeft: boolean;
  left: GradStats;
  right: GradStats;
}

export function emptyCandidate(): SplitCandidate {
  return {
    gain: Number.NEGATIVE_INFINITY,
    column: -1,
    bin: -1,
    missingLeft: false,
    left: { grad: 0, hess: 0 },
    right: { grad: 0, hess: 0 },
  };
}

/** Optimal leaf value -G/(H+λ) before the learning rate. */
export function leafWeight(grad: number, hess: number, lambda: number): number {
  return -grad / (hess + lambda);
}

/** A child needs at least this much hessian: `minChildWeight`, and never an empty (zero-weight) side. */
function minimumHessian(rules: SplitRules): number {
  return Math.max(rules.minChildWeight, 1e-12);
}

/**
 * Scans every bin boundary of the given columns and keeps the split with the largest gain
 *   ½ [G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)].
 * Missing values are tried on both sides and the better side is kept; when the node has none, they are
 * sent with the heavier child, where an unseen missing value most plausibly belongs.
 * Ties keep the earlier column / bin / missing-right, so the result depends on nothing but the data.
 */
export function findBestSplit(
  hist: Histogram,
  node: GradStats,
  binned: BinnedMatrix,
  columns: Int32Array,
  rules: SplitRules,
  out: SplitCandidate,
): SplitCandidate {
  const { lambda } = rules;
  const minHess = minimumHessian(rules);
  const parentScore = (node.grad * node.grad) / (node.hess + lambda);
  let bestGain = Number.NEGATIVE_INFINITY;
  let bestColumn = -1;
  let bestBin = -1;
  let bestMissingLeft = false;
  let bestGL = 0;
  let bestHL = 0;

  for (let k = 0; k < columns.length; k++) {
    const c = columns[k]!;
    const first = binned.offsets[c]! * SLOT;
    const nb = binned.valueBins[c]!;
    const missing = first + nb * SLOT;
    const gm = hist[missing]!;
    const hm = hist[missing + 1]!;
    const hasMissing = hm > 0;

    // Missing rows go right. With missing rows present, "all values left | missing right" is a split too.
    let gl = 0;
    let hl = 0;
    const lastBoundary = hasMissing ? nb - 1 : nb - 2;
    for (let b = 0; b <= lastBoundary; b++) {
      const s = first + b * SLOT;
      gl += hist[s]!;
      hl += hist[s + 1]!;
      const hr = node.hess - hl;
      if (hl < minHess) continue;
      if (hr < minHess) break;
      const gr = node.grad - gl;
      const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
      if (gain > bestGain) {
        bestGain = gain;
        bestColumn = c;
        bestBin = b;
        bestMissingLeft = false;
        bestGL = gl;
        bestHL = hl;
      }
    }
    if (!hasMissing) continue;

    // Missing rows go left.
    gl = gm;
    hl = hm;
    for (let b = 0; b <= nb - 2; b++) {
      const s = first + b * SLOT;
      gl += hist[s]!;
      hl += hist[s + 1]!;
      const hr = node.hess - hl;
      if (hl < minHess) continue;
      if (hr < minHess) break;
      const gr = node.grad - gl;
      const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
      if (gain > bestGain) {
        bestGain = gain;
        bestColumn = c;
        bestBin = b;
        bestMissingLeft = true;
        bestGL = gl;
        bestHL = hl;
      }
    }
  }

  out.gain = bestColumn < 0 ? Number.NEGATIVE_INFINITY : bestGain / 2;
  out.column = bestColumn;
  out.bin = bestBin;
  out.missingLeft = bestMissingLeft;
  out.left.grad = bestGL;
  out.left.hess = bestHL;
  out.right.grad = node.grad - bestGL;
  out.right.hess = node.hess - bestHL;
  if (bestColumn >= 0) {
    const missingHess = hist[(binned.offsets[bestColumn]! + binned.valueBins[bestColumn]!) * SLOT + 1]!;
    if (!(missingHess > 0)) out.missingLeft = out.left.hess >= out.right.hess;
  }
  return out;
}

/** Whether a candidate is worth taking under the rules. */
export function acceptsSplit(candidate: SplitCandidate, rules: SplitRules): boolean {
  return candidate.column >= 0 && candidate.gain > rules.gamma && candidate.gain > 1e-12;
}

/** Whether a node could be split at all: room for two children of at least the minimum hessian. */
export function canSplit(stats: GradStats, rows: number, rules: SplitRules): boolean {
  return rows >= 2 && stats.hess >= 2 * minimumHessian(rules);
}
