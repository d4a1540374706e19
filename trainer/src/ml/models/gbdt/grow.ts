import type { BinnedMatrix } from "./binning.ts";
import { buildHistogram, createHistogram, type Histogram, subtractHistogram } from "./histogram.ts";
import {
  acceptsSplit,
  canSplit,
  emptyCandidate,
  findBestSplit,
  type GradStats,
  leafWeight,
  type SplitCandidate,
  type SplitRules,
} from "./split.ts";
import type { Tree } from "./tree.ts";

export type GrowthPolicy = "depthwise" | "lossguide";

export interface GrowthParams extends SplitRules {
  growth: GrowthPolicy;
  /** 0 = unlimited (then maxLeaves must bound the tree). */
  maxDepth: number;
  /** 0 = unlimited. Best-first growth stops at this many leaves; depth-wise growth respects it too. */
  maxLeaves: number;
  learningRate: number;
}

/**
 * Buffers reused across trees so growing a tree allocates only its histograms (pooled) and its result.
 * `index` holds the tree's sample rows; the grower partitions it in place, node by node. Before a
 * node's histogram is built, its rows' gradient pairs are gathered into `nodeGradHess` at the same
 * positions, so the histogram loop reads them sequentially.
 */
export class GrowWorkspace {
  readonly index: Uint32Array;
  readonly nodeGradHess: Float32Array;
  readonly scratchIndex: Uint32Array;
  /** 1 where a bin goes left under the split being applied. */
  readonly sideOfBin = new Uint8Array(256);
  private readonly pool: Histogram[] = [];
  private readonly binned: BinnedMatrix;

  constructor(binned: BinnedMatrix) {
    this.binned = binned;
    this.index = new Uint32Array(binned.rows);
    this.nodeGradHess = new Float32Array(2 * binned.rows);
    this.scratchIndex = new Uint32Array(binned.rows);
  }

  takeHistogram(): Histogram {
    return this.pool.pop() ?? createHistogram(this.binned);
  }

  releaseHistogram(hist: Histogram | null): void {
    if (hist) this.pool.push(hist);
  }
}

/** A leaf that may still be split. */
interface Frontier {
  node: number;
  start: number;
  end: number;
  depth: number;
  stats: GradStats;
  /** Present only while the node can still be split. */
  hist: Histogram | null;
  split: SplitCandidate;
}

export interface GrownTree {
  tree: Tree;
  /** Per node: its rows are `index[rowStart[n] .. rowEnd[n])` of the workspace after growth. */
  rowStart: Int32Array;
  rowEnd: Int32Array;
}

/**
 * Grows one tree on the first `sampleRows` entries of `ws.index`, from per-row gradient / hessian pairs
 * (`gradHess[2r]`, `gradHess[2r + 1]`, float32 like XGBoost's: half the memory traffic, sums stay float64).
 * Every split histogram is built only for the smaller child; the larger child's is the parent's minus it.
 */
export function growTree(
  binned: BinnedMatrix,
  edges: readonly Float32Array[],
  gradHess: Float32Array,
  sampleRows: number,
  columns: Int32Array,
  params: GrowthParams,
  ws: GrowWorkspace,
): GrownTree {
  const maxNodes = nodeBound(params, sampleRows);
  const column = new Int32Array(maxNodes).fill(-1);
  const threshold = new Float32Array(maxNodes);
  const missingLeft = new Uint8Array(maxNodes);
  const left = new Int32Array(maxNodes).fill(-1);
  const right = new Int32Array(maxNodes).fill(-1);
  const value = new Float32Array(maxNodes);
  const cover = new Float64Array(maxNodes);
  const gain = new Float64Array(maxNodes);
  const rowStart = new Int32Array(maxNodes);
  const rowEnd = new Int32Array(maxNodes);
  let nodes = 1;
  let leaves = 1;

  const finishLeaf = (f: Frontier) => {
    value[f.node] = Math.fround(params.learningRate * leafWeight(f.stats.grad, f.stats.hess, params.lambda));
    ws.releaseHistogram(f.hist);
    f.hist = null;
  };
  const open = (node: number, start: number, end: number, depth: number, stats: GradStats): Frontier => {
    cover[node] = stats.hess;
    rowStart[node] = start;
    rowEnd[node] = end;
    return { node, start, end, depth, stats, hist: null, split: emptyCandidate() };
  };
  const splittable = (f: Frontier) =>
    (params.maxDepth <= 0 || f.depth < params.maxDepth) && canSplit(f.stats, f.end - f.start, params);

  const { index, nodeGradHess } = ws;
  gatherGradients(ws, gradHess, 0, sampleRows);
  let rootGrad = 0;
  let rootHess = 0;
  for (let i = 0; i < sampleRows; i++) {
    rootGrad += nodeGradHess[2 * i]!;
    rootHess += nodeGradHess[2 * i + 1]!;
  }
  const root = open(0, 0, sampleRows, 0, { grad: rootGrad, hess: rootHess });
  const frontier: Frontier[] = [root];
  if (splittable(root)) {
    root.hist = ws.takeHistogram();
    buildHistogram(root.hist, binned, columns, index, 0, sampleRows, nodeGradHess);
    findBestSplit(root.hist, root.stats, binned, columns, params, root.split);
  }
  // A child keeps its histogram (and gets its best split) only if it may be split further.
  const settle = (child: Frontier, grow: boolean) => {
    if (grow) {
      findBestSplit(child.hist!, child.stats, binned, columns, params, child.split);
    } else {
      ws.releaseHistogram(child.hist);
      child.hist = null;
    }
  };

  while (frontier.length > 0) {
    const f = takeNext(frontier, params.growth);
    const full = params.maxLeaves > 0 && leaves >= params.maxLeaves;
    if (!f.hist || full || !acceptsSplit(f.split, params)) {
      finishLeaf(f);
      continue;
    }
    const s = f.split;
    const mid = partition(binned, ws, f.start, f.end, s.column, s.bin, s.missingLeft);
    column[f.node] = s.column;
    threshold[f.node] = edges[s.column]![s.bin]!;
    missingLeft[f.node] = s.missingLeft ? 1 : 0;
    gain[f.node] = s.gain;
    const l = open(nodes++, f.start, mid, f.depth + 1, { ...s.left });
    const r = open(nodes++, mid, f.end, f.depth + 1, { ...s.right });
    left[f.node] = l.node;
    right[f.node] = r.node;
    leaves++;

    const growLeft = splittable(l);
    const growRight = splittable(r);
    if (growLeft || growRight) {
      const [small, large] = l.end - l.start <= r.end - r.start ? [l, r] : [r, l];
      small.hist = ws.takeHistogram();
      gatherGradients(ws, gradHess, small.start, small.end);
      buildHistogram(small.hist, binned, columns, index, small.start, small.end, nodeGradHess);
      large.hist = f.hist;
      subtractHistogram(large.hist, f.hist, small.hist, binned, columns);
      f.hist = null;
      settle(l, growLeft);
      settle(r, growRight);
    } else {
      ws.releaseHistogram(f.hist);
      f.hist = null;
    }
    frontier.push(l, r);
  }

  return {
    tree: {
      column: column.slice(0, nodes),
      threshold: threshold.slice(0, nodes),
      missingLeft: missingLeft.slice(0, nodes),
      left: left.slice(0, nodes),
      right: right.slice(0, nodes),
      value: value.slice(0, nodes),
      cover: cover.slice(0, nodes),
      gain: gain.slice(0, nodes),
    },
    rowStart: rowStart.slice(0, nodes),
    rowEnd: rowEnd.slice(0, nodes),
  };
}

/** Copies the gradient pairs of `index[start..end)` to the same positions of `ws.nodeGradHess`. */
function gatherGradients(ws: GrowWorkspace, gradHess: Float32Array, start: number, end: number): void {
  const { index, nodeGradHess } = ws;
  for (let i = start; i < end; i++) {
    const row = index[i]!;
    nodeGradHess[2 * i] = gradHess[2 * row]!;
    nodeGradHess[2 * i + 1] = gradHess[2 * row + 1]!;
  }
}

/** Depth-wise: oldest first (breadth-first). Loss-guided: the leaf whose split gains most. */
function takeNext(frontier: Frontier[], growth: GrowthPolicy): Frontier {
  if (growth === "depthwise") return frontier.shift()!;
  let best = 0;
  for (let i = 1; i < frontier.length; i++) {
    if (frontier[i]!.split.gain > frontier[best]!.split.gain) best = i;
  }
  return frontier.splice(best, 1)[0]!;
}

/**
 * Stable in-place partition of `index[start..end)`; returns where the right child's rows begin. Rows
 * stay ascending within a node, so later column reads move forward in memory. Branch-free: every row
 * is written to both outputs and only the cursor of its side advances, because a left/right branch
 * would be mispredicted about half the time.
 */
function partition(
  binned: BinnedMatrix,
  ws: GrowWorkspace,
  start: number,
  end: number,
  column: number,
  bin: number,
  missingLeft: boolean,
): number {
  const { index, scratchIndex, sideOfBin } = ws;
  const { bins } = binned;
  const base = column * binned.rows;
  const missingBin = binned.valueBins[column]!;
  for (let b = 0; b < missingBin; b++) sideOfBin[b] = b <= bin ? 1 : 0;
  sideOfBin[missingBin] = missingLeft ? 1 : 0;
  let l = start;
  let r = 0;
  for (let i = start; i < end; i++) {
    const row = index[i]!;
    const left = sideOfBin[bins[base + row]!]!;
    index[l] = row;
    scratchIndex[r] = row;
    l += left;
    r += 1 - left;
  }
  index.set(scratchIndex.subarray(0, r), l);
  return l;
}

function nodeBound(params: GrowthParams, rows: number): number {
  let bound = 2 * Math.max(rows, 1) - 1;
  if (params.maxLeaves > 0) bound = Math.min(bound, 2 * params.maxLeaves - 1);
  if (params.maxDepth > 0 && params.maxDepth < 30) bound = Math.min(bound, 2 ** (params.maxDepth + 1) - 1);
  return bound;
}
