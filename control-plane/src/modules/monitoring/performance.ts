/**
 * Model performance with and without labels. Estimates (CBPE, confidence-based performance estimation)
 * read only the score histogram: a calibrated model's record with probability p is a positive with
 * probability p, so each bin holds Σp expected positives and n − Σp expected negatives.
 */

/** Bins of the expected calibration error. */
export const ECE_BINS = 10;

export interface ScoreHistogram {
  /** Records per equal-width bin on [0, 1]. */
  counts: readonly number[];
  /** Σ p of the records in each bin. */
  sums: readonly number[];
}

/**
 * Expected AUC: the probability that a random (expected) positive outranks a random (expected) negative,
 * with half credit when both fall in the same bin. Null when the histogram has no expected positives or
 * no expected negatives.
 */
export function estimatedAuc(h: ScoreHistogram): number | null {
  let positives = 0;
  let negatives = 0;
  let concordant = 0;
  // Bins in ascending score order: negatives below the current bin are outranked by its positives.
  for (let k = 0; k < h.counts.length; k++) {
    const pos = Math.min(h.sums[k]!, h.counts[k]!);
    const neg = Math.max(0, h.counts[k]! - pos);
    concordant += pos * (negatives + 0.5 * neg);
    positives += pos;
    negatives += neg;
  }
  if (positives <= 0 || negatives <= 0) return null;
  return concordant / (positives * negatives);
}

/**
 * Expected precision among the records at or above `threshold`: Σp / n over those records. The bin that
 * holds the threshold counts in proportion to its part above the threshold (records assumed uniform within
 * a bin). Null when nothing is expected above the threshold.
 */
export function estimatedPrecisionAt(h: ScoreHistogram, threshold: number): number | null {
  const width = 1 / h.counts.length;
  let expectedPositives = 0;
  let flagged = 0;
  for (let k = 0; k < h.counts.length; k++) {
    const lo = k * width;
    const hi = (k + 1) * width;
    const share = threshold <= lo ? 1 : threshold >= hi ? 0 : (hi - threshold) / width;
    if (share === 0) continue;
    expectedPositives += share * h.sums[k]!;
    flagged += share * h.counts[k]!;
  }
  return flagged > 0 ? expectedPositives / flagged : null;
}

export interface Labeled {
  probability: number;
  label: boolean;
}

/** ROC AUC from labeled scores (Mann–Whitney, ties count half). Null without both classes. */
export function realizedAuc(rows: readonly Labeled[]): number | null {
  const sorted = [...rows].sort((a, b) => a.probability - b.probability);
  let positives = 0;
  let negatives = 0;
  let concordant = 0;
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    let tiedPos = 0;
    let tiedNeg = 0;
    while (j < sorted.length && sorted[j]!.probability === sorted[i]!.probability) {
      if (sorted[j]!.label) tiedPos++;
      else tiedNeg++;
      j++;
    }
    concordant += tiedPos * (negatives + 0.5 * tiedNeg);
    positives += tiedPos;
    negatives += tiedNeg;
    i = j;
  }
  if (positives === 0 || negatives === 0) return null;
  return concordant / (positives * negatives);
}

/** Share of churners among the labeled records scored at or above the threshold. */
export function realizedPrecisionAt(rows: readonly Labeled[], threshold: number): number | null {
  let flagged = 0;
  let hits = 0;
  for (const r of rows) {
    if (r.probability < threshold) continue;
    flagged++;
    if (r.label) hits++;
  }
  return flagged > 0 ? hits / flagged : null;
}

/**
 * Expected calibration error on ECE_BINS equal-width bins: Σ_b (n_b / n) × |mean p_b − churn rate_b|.
 * Null without labeled records.
 */
export function expectedCalibrationError(rows: readonly Labeled[]): number | null {
  if (rows.length === 0) return null;
  const n = new Array<number>(ECE_BINS).fill(0);
  const sumP = new Array<number>(ECE_BINS).fill(0);
  const sumY = new Array<number>(ECE_BINS).fill(0);
  for (const r of rows) {
    const b = Math.min(ECE_BINS - 1, Math.max(0, Math.floor(r.probability * ECE_BINS)));
    n[b]!++;
    sumP[b]! += r.probability;
    if (r.label) sumY[b]!++;
  }
  let ece = 0;
  for (let b = 0; b < ECE_BINS; b++) {
    if (n[b] === 0) continue;
    ece += (n[b]! / rows.length) * Math.abs(sumP[b]! / n[b]! - sumY[b]! / n[b]!);
  }
  return ece;
}
