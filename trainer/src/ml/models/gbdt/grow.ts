import { SLOT } from "./histogram.ts";
import type { TrainingMemory } from "./memory.ts";
import {
  Arg,
  CANDIDATE,
  entryStride,
  HistogramEntry,
  loadCandidate,
  MarginEntry,
  PartitionEntry,
  Phase,
  rowShares,
  SearchEntry,
  type ThreadContext,
} from "./phases.ts";
import {
  acceptsSplit,
  canSplit,
  emptyCandidate,
  type GradStats,
  leafWeight,
  type SplitCandidate,
  type SplitRules,
} from "./split.ts";
import { MAX_SHARES, type Team } from "./team.ts";
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

/** A leaf that may still be split. */
interface Frontier {
  node: number;
  start: number;
  end: number;
  depth: number;
  stats: GradStats;
  /** Byte offset of its histogram while the node can still be split; 0 = none. */
  hist: number;
  split: SplitCandidate;
}

export interface GrownTree {
  tree: Tree;
  /** Per node: its rows are `index[rowStart[n] .. rowEnd[n])` after growth. */
  rowStart: Int32Array;
  rowEnd: Int32Array;
}

/**
 * Grows the trees of one fit on its shared memory (phases.ts), through a team of threads (team.ts).
 *
 * Depth-wise growth works a level at a time: every split of the level is partitioned (nodes shared out
 * among threads), then the level's histograms are built and searched (columns shared out): two hand-offs
 * per level instead of two per node. Loss-guided growth does the same one node at a time.
 * Each split builds the histogram of its smaller child only; the larger child's is its parent's minus it.
 * Nodes are numbered, split and turned into leaves in the order one node at a time would give, and each
 * histogram slot sums its rows in index order, so trees do not depend on the number of threads.
 */
export class TreeGrower {
  private readonly ctx: ThreadContext;
  private readonly memory: TrainingMemory;
  private readonly team: Team;
  private readonly edges: readonly Float32Array[];
  private readonly pool: number[] = [];
  private readonly stride: number;
  private batchAt = 0;
  private batchCapacity = 0;
  private batch: Float64Array = new Float64Array(0);
  private readonly scratch = emptyCandidate();

  constructor(ctx: ThreadContext, memory: TrainingMemory, team: Team, edges: readonly Float32Array[]) {
    this.ctx = ctx;
    this.memory = memory;
    this.team = team;
    this.edges = edges;
    this.stride = entryStride(ctx.layout.threads);
  }

  /** Frees a histogram for reuse. */
  private release(hist: number): void {
    if (hist !== 0) this.pool.push(hist);
  }

  private take(): number {
    return this.pool.pop() ?? this.memory.allocate(this.ctx.binned.slots * SLOT * 8);
  }

  /** Makes room for `entries` batch entries and points the phase arguments at them. */
  private openBatch(entries: number): Float64Array {
    if (entries > this.batchCapacity) {
      this.batchCapacity = Math.max(entries, 2 * this.batchCapacity, 16);
      this.batchAt = this.memory.allocate(this.batchCapacity * this.stride * 8);
    }
    const { args } = this.ctx;
    args[Arg.batch] = this.batchAt;
    args[Arg.entries] = entries;
    args[Arg.stride] = this.stride;
    this.batch = this.ctx.batch();
    this.batch.fill(0);
    return this.batch;
  }

  /**
   * Builds the histograms of `built`, then finds the best split of each node in `search`, subtracting
   * `subtract` (its built sibling) from its histogram first where given.
   */
  private buildAndSearch(
    built: readonly Frontier[],
    search: readonly { node: Frontier; subtract: number }[],
    gathered: number,
  ): void {
    if (built.length === 0) return; // nothing to search either: a searched node has a built sibling or is the root
    const threads = this.ctx.layout.threads;
    const batch = this.openBatch(built.length + search.length);
    this.ctx.args[Arg.builds] = built.length;
    built.forEach((f, e) => {
      const at = e * this.stride;
      batch[at + HistogramEntry.hist] = f.hist;
      batch[at + HistogramEntry.start] = f.start;
      batch[at + HistogramEntry.end] = f.end;
      batch[at + HistogramEntry.gathered] = gathered;
    });
    const searchAt = (e: number) => (built.length + e) * this.stride;
    search.forEach(({ node, subtract }, e) => {
      const at = searchAt(e);
      batch[at + SearchEntry.hist] = node.hist;
      batch[at + SearchEntry.subtractChild] = subtract;
      batch[at + SearchEntry.grad] = node.stats.grad;
      batch[at + SearchEntry.hess] = node.stats.hess;
    });
    this.team.run(Phase.histogram, threads);
    // Each share found the best split of its columns; ties keep the earlier column, as one scan would.
    search.forEach(({ node }, e) => {
      const at = searchAt(e) + SearchEntry.candidates;
      loadCandidate(batch, at, node.split);
      for (let share = 1; share < threads; share++) {
        const other = loadCandidate(batch, at + CANDIDATE * share, this.scratch);
        if (other.gain > node.split.gain) loadCandidate(batch, at + CANDIDATE * share, node.split);
      }
    });
  }

  /**
   * Grows one tree on the first `sampleRows` entries of the index, from the gradient pairs in memory.
   * `columns` (ascending) are the columns this tree may split on.
   */
  grow(sampleRows: number, columns: Int32Array, params: GrowthParams): GrownTree {
    const { ctx } = this;
    const { layout } = ctx;
    ctx.columnList.set(columns);
    ctx.args[Arg.columns] = columns.length;

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
      value[f.node] = Math.fround(
        params.learningRate * leafWeight(f.stats.grad, f.stats.hess, params.lambda),
      );
      this.release(f.hist);
      f.hist = 0;
    };
    const open = (node: number, start: number, end: number, depth: number, stats: GradStats): Frontier => {
      cover[node] = stats.hess;
      rowStart[node] = start;
      rowEnd[node] = end;
      return { node, start, end, depth, stats, hist: 0, split: emptyCandidate() };
    };
    const depthAllows = (depth: number) => params.maxDepth <= 0 || depth < params.maxDepth;
    const splittable = (f: Frontier) => depthAllows(f.depth) && canSplit(f.stats, f.end - f.start, params);

    // The root's pairs: with every row in the sample the index is the identity and the gradient pairs
    // are already in index order; otherwise they are gathered.
    let pairs = layout.gradHess;
    if (sampleRows !== layout.rows) {
      ctx.args[Arg.count] = sampleRows;
      this.team.run(Phase.gather, rowShares(layout.threads));
      pairs = layout.gathered;
    }
    ctx.kernels.sumPairs(pairs, sampleRows, layout.args + 8 * Arg.pairSum);
    const rootStats = { grad: ctx.args[Arg.pairSum]!, hess: ctx.args[Arg.pairSum + 1]! };
    const root = open(0, 0, sampleRows, 0, rootStats);
    let frontier: Frontier[] = [root];
    if (splittable(root)) {
      root.hist = this.take();
      this.buildAndSearch([root], [{ node: root, subtract: 0 }], pairs);
    }

    while (frontier.length > 0) {
      let batch: Frontier[];
      if (params.growth === "depthwise") {
        batch = frontier;
        frontier = [];
      } else {
        batch = [takeBest(frontier)];
      }
      const splits: { parent: Frontier; left: number; right: number }[] = [];
      for (const f of batch) {
        const full = params.maxLeaves > 0 && leaves >= params.maxLeaves;
        if (f.hist === 0 || full || !acceptsSplit(f.split, params)) {
          finishLeaf(f);
          continue;
        }
        const s = f.split;
        column[f.node] = s.column;
        threshold[f.node] = this.edges[s.column]![s.bin]!;
        missingLeft[f.node] = s.missingLeft ? 1 : 0;
        gain[f.node] = s.gain;
        left[f.node] = nodes++;
        right[f.node] = nodes++;
        leaves++;
        splits.push({ parent: f, left: left[f.node]!, right: right[f.node]! });
      }
      if (splits.length === 0) continue;

      const partitions = this.openBatch(splits.length);
      splits.forEach(({ parent: f }, e) => {
        const at = e * this.stride;
        partitions[at + PartitionEntry.start] = f.start;
        partitions[at + PartitionEntry.end] = f.end;
        partitions[at + PartitionEntry.column] = f.split.column;
        partitions[at + PartitionEntry.bin] = f.split.bin;
        partitions[at + PartitionEntry.missingLeft] = f.split.missingLeft ? 1 : 0;
        partitions[at + PartitionEntry.leftHess] = f.split.left.hess;
        partitions[at + PartitionEntry.rightHess] = f.split.right.hess;
        partitions[at + PartitionEntry.depthAllows] = depthAllows(f.depth + 1) ? 1 : 0;
      });
      this.team.run(Phase.partition, Math.min(splits.length, MAX_SHARES));

      const built: Frontier[] = [];
      const search: { node: Frontier; subtract: number }[] = [];
      const unneeded: Frontier[] = [];
      splits.forEach(({ parent: f, left: leftNode, right: rightNode }, e) => {
        const mid = partitions[e * this.stride + PartitionEntry.mid]!;
        const s = f.split;
        const l = open(leftNode, f.start, mid, f.depth + 1, { ...s.left });
        const r = open(rightNode, mid, f.end, f.depth + 1, { ...s.right });
        const growLeft = splittable(l);
        const growRight = splittable(r);
        if (growLeft || growRight) {
          // The partition phase gathered the smaller child's pairs by this same rule.
          const [small, large] = l.end - l.start <= r.end - r.start ? [l, r] : [r, l];
          const growSmall = small === l ? growLeft : growRight;
          const growLarge = large === l ? growLeft : growRight;
          small.hist = this.take();
          built.push(small);
          large.hist = f.hist;
          f.hist = 0;
          if (growLarge) search.push({ node: large, subtract: small.hist });
          else {
            this.release(large.hist);
            large.hist = 0;
          }
          if (growSmall) search.push({ node: small, subtract: 0 });
          else unneeded.push(small);
        } else {
          this.release(f.hist);
          f.hist = 0;
        }
        frontier.push(l, r);
      });
      this.buildAndSearch(built, search, layout.gathered);
      for (const f of unneeded) {
        this.release(f.hist);
        f.hist = 0;
      }
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

  /** Adds each leaf's value to the margins of its rows (index positions shared out among threads). */
  addLeafValues(grown: GrownTree, sampleRows: number): void {
    const { tree } = grown;
    const leaves: number[] = [];
    for (let n = 0; n < tree.column.length; n++) if (tree.column[n]! < 0) leaves.push(n);
    const batch = this.openBatch(leaves.length);
    this.ctx.args[Arg.builds] = 0;
    leaves.forEach((n, e) => {
      const at = e * this.stride;
      batch[at + MarginEntry.start] = grown.rowStart[n]!;
      batch[at + MarginEntry.end] = grown.rowEnd[n]!;
      batch[at + MarginEntry.value] = tree.value[n]!;
    });
    this.ctx.args[Arg.count] = sampleRows;
    this.team.run(Phase.margin, rowShares(this.ctx.layout.threads));
  }
}

/** Loss-guided: the open leaf whose split gains most (the first on ties). */
function takeBest(frontier: Frontier[]): Frontier {
  let best = 0;
  for (let i = 1; i < frontier.length; i++) {
    if (frontier[i]!.split.gain > frontier[best]!.split.gain) best = i;
  }
  return frontier.splice(best, 1)[0]!;
}

function nodeBound(params: GrowthParams, rows: number): number {
  let bound = 2 * Math.max(rows, 1) - 1;
  if (params.maxLeaves > 0) bound = Math.min(bound, 2 * params.maxLeaves - 1);
  if (params.maxDepth > 0 && params.maxDepth < 30) bound = Math.min(bound, 2 ** (params.maxDepth + 1) - 1);
  return bound;
}
