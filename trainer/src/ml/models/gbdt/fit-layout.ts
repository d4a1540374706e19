import { TrainingMemory } from "./memory.ts";
import type { SplitRules } from "./split.ts";

/** Bytes of padded bin edges per column: 256 float32 (edges, then +Infinity). */
export const EDGE_STRIDE = 256 * 4;
/** Values per phase-argument slot block (Float64Array). */
export const ARG_SLOTS = 16;
/** Most threads a team has. */
export const MAX_THREADS = 64;
/** Int32 words of the team's control block (team.ts): eight, then one per thread. */
export const CONTROL_WORDS = 8 + MAX_THREADS;
/** Bytes for an error message a worker thread hands back. */
export const ERROR_BYTES = 1024;

/**
 * Where one fit keeps everything, as byte offsets into its TrainingMemory, with its sizes and split rules:
 * plain numbers, so a worker thread gets the whole picture as workerData. Arrays are laid out for
 * the kernels: `bins` column-major (`bins + c * rows + r`), `gradHess` and `gathered` interleaved float32
 * (gradient, hessian) pairs, histograms `slots` float64 pairs.
 */
export interface FitLayout {
  rows: number;
  columns: number;
  /** Threads working on the fit; shares of column-parallel phases are as many. */
  threads: number;
  maxBins: number;
  seed: number;
  rules: SplitRules;
  /** Input columns, float32 column-major, for the threads to bin (0: only the calling thread bins, via `staging`). */
  values: number;
  /** One column's float32 values, for binning on the calling thread alone. */
  staging: number;
  /** 1 per column known to hold only 0/1. */
  indicator: number;
  bins: number;
  /** Per column, EDGE_STRIDE bytes of bin edges. */
  edges: number;
  valueBins: number;
  offsets: number;
  /** Row index partitioned node by node, and its scratch (one uint32 per row each). */
  index: number;
  scratch: number;
  /** Per row: (gradient, hessian) float32. */
  gradHess: number;
  /** Per index position: the pair of the row at that position, for the nodes being built. */
  gathered: number;
  /** Per row: float64 margin, uint8 label, float64 weight. */
  margin: number;
  labels: number;
  weights: number;
  /** The current tree's sampled columns (int32, ascending). */
  columnList: number;
  /** Per thread, a 256-byte "bin goes left" table for partitioning. */
  sides: number;
  /** Team control words (int32), phase arguments (float64) and a worker's error message. */
  control: number;
  args: number;
  error: number;
}

export interface FitShape {
  rows: number;
  columns: number;
  threads: number;
  /** Copy the input columns in, so every thread can bin them (4 bytes per cell). */
  copyValues: boolean;
  maxBins: number;
  seed: number;
  rules: SplitRules;
}

/** Lays out a fit in a fresh TrainingMemory sized for its fixed arrays (histograms come later). */
export function allocateFit(shape: FitShape): { memory: TrainingMemory; layout: FitLayout } {
  const { rows, columns, threads, copyValues, ...rest } = shape;
  const sizes = {
    values: copyValues ? 4 * rows * columns : 0,
    staging: copyValues ? 0 : 4 * rows,
    indicator: columns,
    bins: rows * columns,
    edges: EDGE_STRIDE * columns,
    valueBins: 4 * columns,
    offsets: 4 * columns,
    index: 4 * rows,
    scratch: 4 * rows,
    gradHess: 8 * rows,
    gathered: 8 * rows,
    margin: 8 * rows,
    labels: rows,
    weights: 8 * rows,
    columnList: 4 * columns,
    sides: 256 * threads,
    control: 4 * CONTROL_WORDS,
    args: 8 * ARG_SLOTS,
    error: ERROR_BYTES,
  };
  let total = 0;
  for (const bytes of Object.values(sizes)) total += bytes + 16;
  const memory = new TrainingMemory(total);
  const at = (bytes: number) => (bytes > 0 ? memory.allocate(bytes) : 0);
  const layout: FitLayout = {
    rows,
    columns,
    threads,
    ...rest,
    values: at(sizes.values),
    staging: at(sizes.staging),
    indicator: at(sizes.indicator),
    bins: at(sizes.bins),
    edges: at(sizes.edges),
    valueBins: at(sizes.valueBins),
    offsets: at(sizes.offsets),
    index: at(sizes.index),
    scratch: at(sizes.scratch),
    gradHess: at(sizes.gradHess),
    gathered: at(sizes.gathered),
    margin: at(sizes.margin),
    labels: at(sizes.labels),
    weights: at(sizes.weights),
    columnList: at(sizes.columnList),
    sides: at(sizes.sides),
    control: at(sizes.control),
    args: at(sizes.args),
    error: at(sizes.error),
  };
  return { memory, layout };
}
