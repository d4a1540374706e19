import type { DriftReference, ReferenceHistogram } from "#shared/manifest.ts";
import type { Dataset } from "../data/dataset.ts";

/** Quantile cut points per numeric feature (at most 19, so at most 20 bins). */
const NUMERIC_BINS = 20;
/** Equal-width bins of the score distribution. */
const SCORE_BINS = 20;

/**
 * The drift baseline the edge compares traffic with: per feature, a histogram of the training rows
 * (numeric: counts between quantile edges, plus missing; categorical: counts per value, plus missing),
 * and the calibrated probabilities of the same rows on 20 equal-width bins. Bins follow the manifest's
 * convention: bin i holds values in (edges[i-1], edges[i]], the last bin everything above.
 */
export function driftReference(
  dataset: Dataset,
  rows: readonly number[],
  probabilities: ArrayLike<number>,
): DriftReference {
  const features: Record<string, ReferenceHistogram> = {};
  for (const column of dataset.features) {
    if (column.kind === "numeric") {
      let missing = 0;
      for (const r of rows) if (Number.isNaN(column.values[r]!)) missing++;
      // A typed array sorts natively: much faster than a comparator over hundreds of thousands of rows.
      const present = new Float64Array(rows.length - missing);
      let k = 0;
      for (const r of rows) {
        const v = column.values[r]!;
        if (!Number.isNaN(v)) present[k++] = v;
      }
      present.sort();
      const edges = quantileEdges(present, NUMERIC_BINS);
      features[column.name] = {
        type: "numeric",
        edges,
        counts: histogram(present, edges),
        missing,
        ...(present.length > 0 ? { min: present[0]!, max: present[present.length - 1]! } : {}),
      };
    } else {
      const counts: Record<string, number> = {};
      let missing = 0;
      for (const r of rows) {
        const v = column.values[r]!;
        if (v === "") missing++;
        // An own-property map even for values like "__proto__".
        else if (Object.hasOwn(counts, v)) counts[v]!++;
        else
          Object.defineProperty(counts, v, {
            value: 1,
            writable: true,
            enumerable: true,
            configurable: true,
          });
      }
      features[column.name] = { type: "categorical", counts, missing };
    }
  }
  const scoreEdges = Array.from({ length: SCORE_BINS - 1 }, (_, k) => (k + 1) / SCORE_BINS);
  return {
    rows: rows.length,
    features,
    score: { edges: scoreEdges, counts: histogram(Array.from(probabilities), scoreEdges) },
  };
}

/** Distinct values at the k/bins quantiles of sorted values, below the maximum (nothing lies above it). */
function quantileEdges(sorted: ArrayLike<number>, bins: number): number[] {
  if (sorted.length === 0) return [];
  const max = sorted[sorted.length - 1]!;
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const q = sorted[Math.min(sorted.length - 1, Math.ceil((k * sorted.length) / bins) - 1)]!;
    if (q < max && (edges.length === 0 || q > edges[edges.length - 1]!)) edges.push(q);
  }
  return edges;
}

/** Counts per bin, edges.length + 1 bins: the first edge >= x, or the last bin above every edge. */
export function histogram(values: Iterable<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const x of values) {
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x <= edges[mid]!) hi = mid;
      else lo = mid + 1;
    }
    counts[lo]!++;
  }
  return counts;
}
