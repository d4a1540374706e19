import { type BinnedMatrix, columnEdges } from "./binning.ts";
import { ARG_SLOTS, EDGE_STRIDE, type FitLayout } from "./fit-layout.ts";
import { logisticGradients } from "./gradients.ts";
import { SLOT } from "./histogram.ts";
import { instantiateKernels, type Kernels } from "./kernels.ts";
import { view, type WasmMemory } from "./memory.ts";
import { canSplit, emptyCandidate, findBestSplit, type SplitCandidate } from "./split.ts";

/**
 * The steps of a fit that threads share. The calling thread runs a phase's shares itself or, with a team
 * (team.ts), together with worker threads; each share is a fixed slice of the work (a column range, a
 * row range, some nodes), so the result never depends on which thread ran which share, or how many
 * threads there were.
 */
export const Phase = {
  /** Columns dealt round-robin: each column's bin edges, then its bins. */
  bin: 1,
  /** Rows split evenly: gradient pairs from margins. */
  gradients: 2,
  /** Index positions split evenly: gather the root's gradient pairs. */
  gather: 3,
  /** Nodes dealt round-robin: partition each node's rows, gather its smaller child's pairs. */
  partition: 4,
  /**
   * Columns split evenly: the histograms of the batch's first `Arg.builds` entries, then for the other
   * entries their sibling histograms by subtraction and each share's best split. A share only reads
   * histogram slots of its own columns, so one hand-off covers both.
   */
  histogram: 5,
  /** Index positions split evenly: add leaf values to the margins of the tree's rows. */
  margin: 6,
} as const;
export type PhaseId = (typeof Phase)[keyof typeof Phase];

/** Phase arguments: slots of the layout's `args` block. */
export const Arg = {
  /** Byte offset of the batch's float64 entries. */
  batch: 0,
  entries: 1,
  /** Float64 values per entry. */
  stride: 2,
  /** Columns in the current tree's column list. */
  columns: 3,
  /** Rows (gradients) or index positions (gather, margin) the phase covers. */
  count: 4,
  /** Histogram slots over all columns, known once the columns are binned. */
  slots: 5,
  /** Two slots (16-byte aligned): a sum of gradient pairs, gradients then hessians. */
  pairSum: 6,
  /** Histogram phase: entries before this one are built, the rest searched. */
  builds: 8,
} as const;

/** Fields of a partition entry. */
export const PartitionEntry = {
  start: 0,
  end: 1,
  column: 2,
  bin: 3,
  missingLeft: 4,
  leftHess: 5,
  rightHess: 6,
  /** 1 when the children are shallow enough to split again (their histograms may be needed). */
  depthAllows: 7,
  /** Output: where the right child's rows begin. */
  mid: 8,
} as const;

export const HistogramEntry = { hist: 0, start: 1, end: 2, gathered: 3 } as const;

/** A search entry; each share writes its best split at `candidates + share * CANDIDATE`. */
export const SearchEntry = { hist: 0, subtractChild: 1, grad: 2, hess: 3, candidates: 4 } as const;
export const CANDIDATE = 8;

export const MarginEntry = { start: 0, end: 1, value: 2 } as const;

/** Float64 values per batch entry for a team of `threads`. */
export function entryStride(threads: number): number {
  return SearchEntry.candidates + CANDIDATE * threads;
}

/** Writes a split candidate in its flat form. */
function storeCandidate(out: Float64Array, at: number, c: SplitCandidate): void {
  out[at] = c.gain;
  out[at + 1] = c.column;
  out[at + 2] = c.bin;
  out[at + 3] = c.missingLeft ? 1 : 0;
  out[at + 4] = c.left.grad;
  out[at + 5] = c.left.hess;
  out[at + 6] = c.right.grad;
  out[at + 7] = c.right.hess;
}

/** Reads a flat candidate into `c`. */
export function loadCandidate(from: Float64Array, at: number, c: SplitCandidate): SplitCandidate {
  c.gain = from[at]!;
  c.column = from[at + 1]!;
  c.bin = from[at + 2]!;
  c.missingLeft = from[at + 3] === 1;
  c.left.grad = from[at + 4]!;
  c.left.hess = from[at + 5]!;
  c.right.grad = from[at + 6]!;
  c.right.hess = from[at + 7]!;
  return c;
}

/**
 * Shares of a phase over rows or index positions: a few per thread, so that when a busy machine holds a
 * thread back the others can take more of its work.
 */
export function rowShares(threads: number): number {
  return threads === 1 ? 1 : 4 * threads;
}

/** The even split of `n` items into `shares`: share s gets [from, to). */
export function shareRange(n: number, share: number, shares: number): [number, number] {
  return [Math.floor((n * share) / shares), Math.floor((n * (share + 1)) / shares)];
}

/** One thread's handle on a fit: typed views of the shared memory, its own kernels, and the shares it runs. */
export class ThreadContext {
  readonly layout: FitLayout;
  readonly memory: WasmMemory;
  readonly kernels: Kernels;
  readonly thread: number;
  /** Views of the binned matrix (`slots` is set once binning is done). */
  readonly binned: BinnedMatrix;
  readonly args: Float64Array;
  readonly index: Uint32Array;
  readonly gradHess: Float32Array;
  readonly gathered: Float32Array;
  readonly margin: Float64Array;
  readonly labels: Uint8Array;
  readonly weights: Float64Array;
  readonly columnList: Int32Array;
  /** The caller's columns, when this thread bins them from its own arrays (single-thread fits). */
  input: readonly Float32Array[] | undefined;
  private readonly candidate = emptyCandidate();

  constructor(memory: WasmMemory, layout: FitLayout, thread: number) {
    this.memory = memory;
    this.layout = layout;
    this.thread = thread;
    this.kernels = instantiateKernels(memory);
    const { rows, columns } = layout;
    this.binned = {
      rows,
      columns,
      bins: view(memory, Uint8Array, layout.bins, rows * columns),
      valueBins: view(memory, Int32Array, layout.valueBins, columns),
      offsets: view(memory, Int32Array, layout.offsets, columns),
      slots: 0,
    };
    this.args = view(memory, Float64Array, layout.args, ARG_SLOTS);
    this.index = view(memory, Uint32Array, layout.index, rows);
    this.gradHess = view(memory, Float32Array, layout.gradHess, 2 * rows);
    this.gathered = view(memory, Float32Array, layout.gathered, 2 * rows);
    this.margin = view(memory, Float64Array, layout.margin, rows);
    this.labels = view(memory, Uint8Array, layout.labels, rows);
    this.weights = view(memory, Float64Array, layout.weights, rows);
    this.columnList = view(memory, Int32Array, layout.columnList, columns);
  }

  /** The float64 entries of the current batch. */
  batch(): Float64Array {
    const { args } = this;
    return view(this.memory, Float64Array, args[Arg.batch]!, args[Arg.entries]! * args[Arg.stride]!);
  }

  /** A histogram at byte offset `at`, as float64 slots over every column. */
  histogram(at: number): Float64Array {
    return view(this.memory, Float64Array, at, this.args[Arg.slots]! * SLOT);
  }

  runShare(phase: PhaseId, share: number, shares: number): void {
    const { layout, kernels, args } = this;
    switch (phase) {
      case Phase.bin:
        for (let c = share; c < layout.columns; c += shares) this.binColumn(c);
        break;
      case Phase.gradients: {
        const [from, to] = shareRange(args[Arg.count]!, share, shares);
        logisticGradients(this.margin, this.labels, this.weights, this.gradHess, from, to);
        break;
      }
      case Phase.gather: {
        const [from, to] = shareRange(args[Arg.count]!, share, shares);
        kernels.gather(layout.index, layout.gradHess, layout.gathered, from, to);
        break;
      }
      case Phase.partition:
        this.partition(share, shares);
        break;
      case Phase.histogram:
        this.buildHistograms(share, shares);
        this.search(share, shares);
        break;
      case Phase.margin:
        this.addLeafValues(share, shares);
        break;
    }
  }

  private binColumn(c: number): void {
    const { layout, kernels } = this;
    const { rows } = layout;
    let at = layout.values + 4 * c * rows;
    if (layout.values === 0) {
      at = layout.staging;
      view(this.memory, Float32Array, at, rows).set(this.input![c]!);
    }
    const values = view(this.memory, Float32Array, at, rows);
    const indicator = view(this.memory, Uint8Array, layout.indicator, layout.columns)[c] === 1;
    const edges = columnEdges(values, indicator, layout.maxBins, layout.seed);
    const padded = view(this.memory, Float32Array, layout.edges + c * EDGE_STRIDE, EDGE_STRIDE / 4);
    padded.fill(Number.POSITIVE_INFINITY);
    padded.set(edges);
    this.binned.valueBins[c] = edges.length;
    const lastBin = Math.max(edges.length - 1, 0);
    kernels.binColumn(
      at,
      rows,
      layout.edges + c * EDGE_STRIDE,
      lastBin,
      edges.length,
      layout.bins + c * rows,
    );
  }

  private partition(share: number, shares: number): void {
    const { layout, kernels, binned } = this;
    const entries = this.batch();
    const stride = this.args[Arg.stride]!;
    const sideAt = layout.sides + 256 * this.thread;
    const side = view(this.memory, Uint8Array, sideAt, 256);
    for (let e = share; e < this.args[Arg.entries]!; e += shares) {
      const f = e * stride;
      const start = entries[f + PartitionEntry.start]!;
      const end = entries[f + PartitionEntry.end]!;
      const column = entries[f + PartitionEntry.column]!;
      const bin = entries[f + PartitionEntry.bin]!;
      const missingBin = binned.valueBins[column]!;
      for (let b = 0; b < missingBin; b++) side[b] = b <= bin ? 1 : 0;
      side[missingBin] = entries[f + PartitionEntry.missingLeft]!;
      const mid = kernels.partition(
        layout.index,
        layout.scratch,
        start,
        end,
        layout.bins + column * layout.rows,
        sideAt,
      );
      entries[f + PartitionEntry.mid] = mid;
      // The smaller child's histogram is built next if either child may split: gather its pairs now,
      // while its index entries are in cache. The grower makes the same decision with the same rule.
      if (entries[f + PartitionEntry.depthAllows] !== 1) continue;
      const grows =
        mayGrow(entries[f + PartitionEntry.leftHess]!, mid - start, layout) ||
        mayGrow(entries[f + PartitionEntry.rightHess]!, end - mid, layout);
      if (!grows) continue;
      if (mid - start <= end - mid)
        kernels.gather(layout.index, layout.gradHess, layout.gathered, start, mid);
      else kernels.gather(layout.index, layout.gradHess, layout.gathered, mid, end);
    }
  }

  private buildHistograms(share: number, shares: number): void {
    const { layout, kernels, binned, columnList } = this;
    const [from, to] = shareRange(this.args[Arg.columns]!, share, shares);
    const entries = this.batch();
    const stride = this.args[Arg.stride]!;
    const { offsets, valueBins } = binned;
    const bins = (k: number) => layout.bins + columnList[k]! * layout.rows;
    for (let e = 0; e < this.args[Arg.builds]!; e++) {
      const f = e * stride;
      const at = entries[f + HistogramEntry.hist]!;
      const start = entries[f + HistogramEntry.start]!;
      const end = entries[f + HistogramEntry.end]!;
      const gathered = entries[f + HistogramEntry.gathered]!;
      const slot = (k: number) => at + offsets[columnList[k]!]! * SLOT * 8;
      for (let k = from; k < to; k++) kernels.zero(slot(k), (valueBins[columnList[k]!]! + 1) * SLOT * 8);
      const { index } = layout;
      let k = from;
      for (; k + 4 <= to; k += 4) {
        kernels.histogram4(
          bins(k),
          bins(k + 1),
          bins(k + 2),
          bins(k + 3),
          slot(k),
          slot(k + 1),
          slot(k + 2),
          slot(k + 3),
          index,
          start,
          end,
          gathered,
        );
      }
      if (to - k === 3) {
        kernels.histogram3(
          bins(k),
          bins(k + 1),
          bins(k + 2),
          slot(k),
          slot(k + 1),
          slot(k + 2),
          index,
          start,
          end,
          gathered,
        );
      } else if (to - k === 2) {
        kernels.histogram2(bins(k), bins(k + 1), slot(k), slot(k + 1), index, start, end, gathered);
      } else if (to - k === 1) {
        kernels.histogram1(bins(k), slot(k), index, start, end, gathered);
      }
    }
  }

  private search(share: number, shares: number): void {
    const { layout, kernels, binned, columnList } = this;
    const [from, to] = shareRange(this.args[Arg.columns]!, share, shares);
    const columns = columnList.subarray(from, to);
    const entries = this.batch();
    const stride = this.args[Arg.stride]!;
    const { offsets, valueBins } = binned;
    const node = { grad: 0, hess: 0 };
    for (let e = this.args[Arg.builds]!; e < this.args[Arg.entries]!; e++) {
      const f = e * stride;
      const at = entries[f + SearchEntry.hist]!;
      const child = entries[f + SearchEntry.subtractChild]!;
      if (child !== 0) {
        // This node's histogram is still its parent's: subtract the sibling built from its rows.
        for (let k = 0; k < columns.length; k++) {
          const c = columns[k]!;
          const first = offsets[c]! * SLOT * 8;
          kernels.subtract(at + first, at + first, child + first, (valueBins[c]! + 1) * SLOT * 8);
        }
      }
      node.grad = entries[f + SearchEntry.grad]!;
      node.hess = entries[f + SearchEntry.hess]!;
      findBestSplit(this.histogram(at), node, binned, columns, layout.rules, this.candidate);
      storeCandidate(entries, f + SearchEntry.candidates + CANDIDATE * share, this.candidate);
    }
  }

  private addLeafValues(share: number, shares: number): void {
    const { layout, kernels } = this;
    const [from, to] = shareRange(this.args[Arg.count]!, share, shares);
    const entries = this.batch();
    const stride = this.args[Arg.stride]!;
    for (let e = 0; e < this.args[Arg.entries]!; e++) {
      const f = e * stride;
      const start = Math.max(entries[f + MarginEntry.start]!, from);
      const end = Math.min(entries[f + MarginEntry.end]!, to);
      const value = this.args[Arg.batch]! + 8 * (f + MarginEntry.value);
      if (start < end) kernels.addToMargins(layout.index, layout.margin, start, end, value);
    }
  }
}

/** Whether a child of `rows` rows and hessian sum `hess` may be split (the depth is checked apart). */
export function mayGrow(hess: number, rows: number, layout: FitLayout): boolean {
  return canSplit({ grad: 0, hess }, rows, layout.rules);
}
