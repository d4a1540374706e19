import type { BinnedMatrix } from "./binning.ts";

/** Values per histogram slot: gradient sum, hessian sum, row count. */
export const SLOT = 3;

/** A node's histogram over every column: `SLOT` values per bin, laid out by `BinnedMatrix.offsets`. */
export type Histogram = Float64Array;

export function createHistogram(binned: BinnedMatrix): Histogram {
  return new Float64Array(binned.slots * SLOT);
}

/**
 * Accumulates the rows `index[start..end)` into `hist` for the given columns (other columns are left
 * stale: split search only reads the columns it was given). `grad` / `hess` are ordered like the index
 * segment (`grad[k]` belongs to row `index[start + k]`), so the inner loop reads them sequentially.
 */
export function buildHistogram(
  hist: Histogram,
  binned: BinnedMatrix,
  columns: Int32Array,
  index: Uint32Array,
  start: number,
  end: number,
  grad: Float64Array,
  hess: Float64Array,
): void {
  const { bins, rows, offsets, valueBins } = binned;
  const count = end - start;
  for (let k = 0; k < columns.length; k++) {
    const c = columns[k]!;
    const first = offsets[c]! * SLOT;
    hist.fill(0, first, first + (valueBins[c]! + 1) * SLOT);
    const base = c * rows;
    for (let i = 0; i < count; i++) {
      const s = first + bins[base + index[start + i]!]! * SLOT;
      hist[s]! += grad[i]!;
      hist[s + 1]! += hess[i]!;
      hist[s + 2]! += 1;
    }
  }
}

/** `target = parent - child` over the given columns: the sibling's histogram without touching its rows. */
export function subtractHistogram(
  target: Histogram,
  parent: Histogram,
  child: Histogram,
  binned: BinnedMatrix,
  columns: Int32Array,
): void {
  const { offsets, valueBins } = binned;
  for (let k = 0; k < columns.length; k++) {
    const c = columns[k]!;
    const first = offsets[c]! * SLOT;
    const last = first + (valueBins[c]! + 1) * SLOT;
    for (let s = first; s < last; s++) target[s] = parent[s]! - child[s]!;
  }
}
