import { availableParallelism } from "node:os";
import { ChurnError } from "#shared/errors.ts";
import { createRandom, type Random } from "../../random.ts";
import type { BinMapper, BinnedMatrix } from "./binning.ts";
import { allocateFit, EDGE_STRIDE, MAX_THREADS } from "./fit-layout.ts";
import { TreeGrower } from "./grow.ts";
import { view, WorkingMemoryExhausted } from "./memory.ts";
import type { GbdtParams } from "./params.ts";
import { Arg, Phase, rowShares, ThreadContext } from "./phases.ts";
import { MAX_SHARES, soloTeam, startTeam, type Team } from "./team.ts";
import { leafOf, type Tree } from "./tree.ts";

export type BoosterParams = Omit<GbdtParams, "maxCategories" | "validationFraction" | "refit">;

/** A column-major float32 design matrix with binary labels. */
export interface BoostingData {
  /** One array per encoded column, NaN = missing. */
  columns: Float32Array[];
  y: ArrayLike<number>;
  /** Per-row weights (default 1); `scalePosWeight` multiplies the positives' on top. */
  weights?: ArrayLike<number>;
}

export interface BoosterFit {
  trees: Tree[];
  /** Log-odds of the weighted positive rate, float32: every margin starts here. */
  baseScore: number;
  /** Rounds run before stopping (>= trees.length when early stopping kept an earlier round). */
  roundsRun: number;
  /** Weighted validation log loss after each round, when a validation set was given. */
  validationLoss: number[];
  binMapper: BinMapper;
}

export interface BoosterOptions {
  /** Which columns are 0/1 one-hot indicators (cheaper binning). */
  indicator?: ArrayLike<boolean>;
  /** Held-out rows scored after each round; required for early stopping. */
  validation?: BoostingData;
  /**
   * Wall-clock time (Date.now()) past which no further tree is grown: the search's time budget reaching
   * into a fit it could not estimate (a first GBDT on hundreds of one-hot columns). At least one tree is.
   */
  stopAt?: number;
  /**
   * Threads to train with (default 1; capped at the machine's parallelism). Trees are the same for any
   * number: threads share out columns, rows and nodes, never the order of a sum.
   */
  threads?: number;
}

/** Gradient boosting with the logistic loss on histogram-binned columns. Deterministic for a seed. */
export function trainBooster(
  data: BoostingData,
  params: BoosterParams,
  options: BoosterOptions = {},
): BoosterFit {
  try {
    return boostInMemory(data, params, options);
  } catch (error) {
    if (error instanceof WorkingMemoryExhausted) throw new ChurnError("PAYLOAD_TOO_LARGE", error.message);
    throw error;
  }
}

function boostInMemory(data: BoostingData, params: BoosterParams, options: BoosterOptions): BoosterFit {
  const rows = data.y.length;
  const nColumns = data.columns.length;
  const weights = rowWeights(data, params.scalePosWeight);
  const baseScore = baseLogOdds(data.y, weights);
  const threads = teamSize(options.threads);
  const { memory, layout } = allocateFit({
    rows,
    columns: nColumns,
    threads,
    copyValues: threads > 1 && rows * nColumns <= MAX_COPIED_CELLS,
    maxBins: params.maxBins,
    seed: params.seed,
    rules: { lambda: params.lambda, minChildWeight: params.minChildWeight, gamma: params.gamma },
  });
  const main = new ThreadContext(memory.memory, layout, 0);
  // Workers start first: they boot while this thread copies the data in.
  const team = threads > 1 ? startTeam(main) : soloTeam(main);
  try {
    for (let r = 0; r < rows; r++) main.labels[r] = data.y[r] ? 1 : 0;
    main.weights.set(weights);
    const binMapper = binColumns(main, team, data.columns, options.indicator);
    const grower = new TreeGrower(main, memory, team, binMapper.edges);
    return boost(main, team, grower, binMapper, data, baseScore, params, options);
  } finally {
    team.close();
  }
}

/** With threads, the input is copied into shared memory up to this many cells (4 bytes each). */
const MAX_COPIED_CELLS = 64 * 1024 * 1024;

function teamSize(threads: number | undefined): number {
  if (threads === undefined || threads <= 1) return 1;
  return Math.min(Math.floor(threads), availableParallelism(), MAX_THREADS);
}

/** Bin edges and bins of every column, columns shared out among the threads when they can read them. */
function binColumns(
  main: ThreadContext,
  team: Team,
  columns: readonly Float32Array[],
  indicator: ArrayLike<boolean> | undefined,
): BinMapper {
  const { layout, binned, memory } = main;
  const flags = view(memory, Uint8Array, layout.indicator, layout.columns);
  for (let c = 0; c < layout.columns; c++) flags[c] = indicator?.[c] ? 1 : 0;
  const shares = Math.min(layout.columns, MAX_SHARES);
  if (layout.values !== 0) {
    for (const [c, values] of columns.entries()) {
      view(memory, Float32Array, layout.values + 4 * c * layout.rows, layout.rows).set(values);
    }
    team.run(Phase.bin, shares);
  } else {
    main.input = columns;
    for (let share = 0; share < shares; share++) main.runShare(Phase.bin, share, shares);
    main.input = undefined;
  }
  const edges = Array.from({ length: layout.columns }, (_, c) =>
    view(memory, Float32Array, layout.edges + c * EDGE_STRIDE, binned.valueBins[c]!).slice(),
  );
  let slots = 0;
  for (let c = 0; c < layout.columns; c++) {
    binned.offsets[c] = slots;
    slots += binned.valueBins[c]! + 1;
  }
  binned.slots = slots;
  main.args[Arg.slots] = slots;
  return { edges, valueBins: binned.valueBins.slice() };
}

function boost(
  main: ThreadContext,
  team: Team,
  grower: TreeGrower,
  binMapper: BinMapper,
  data: BoostingData,
  baseScore: number,
  params: BoosterParams,
  options: BoosterOptions,
): BoosterFit {
  const { rows } = main.layout;
  const random = createRandom(params.seed);
  const validation = options.validation;
  const validationWeights = validation ? rowWeights(validation, params.scalePosWeight) : undefined;
  const validationMargin = validation ? new Float64Array(validation.y.length).fill(baseScore) : undefined;
  const validationLoss: number[] = [];
  const stopEarly = params.earlyStoppingRounds > 0 && validation !== undefined;
  let bestLoss = Number.POSITIVE_INFINITY;
  let bestRounds = 0;

  const { margin, binned } = main;
  margin.fill(baseScore);
  const inSample = new Uint8Array(rows);
  const trees: Tree[] = [];
  const gradients = () => {
    main.args[Arg.count] = rows;
    team.run(Phase.gradients, rowShares(team.threads));
  };

  // A forest's trees all fit the base rate's gradients; boosting refreshes them after every tree.
  if (params.forest) gradients();
  for (let round = 0; round < params.rounds; round++) {
    if (options.stopAt !== undefined && round > 0 && Date.now() > options.stopAt) break;
    if (!params.forest) gradients();
    let sampleRows = rows;
    if (params.subsample < 1)
      sampleRows = sampleRowsInto(main.index, inSample, rows, params.subsample, random);
    else main.kernels.sequence(main.layout.index, rows);
    const columns = sampleColumns(data.columns.length, params.colsampleByTree, random);
    const grown = grower.grow(sampleRows, columns, params);
    const tree = grown.tree;
    trees.push(tree);

    // Sampled rows: add their leaf's value by segment; the others walk the tree on their bins. A forest
    // never reads the training margin (its gradients stay the base rate's), so it skips this.
    if (!params.forest) {
      grower.addLeafValues(grown, sampleRows);
      if (sampleRows < rows) {
        for (let r = 0; r < rows; r++)
          if (!inSample[r]) margin[r]! += tree.value[binnedLeafOf(tree, binned, binMapper, r)]!;
      }
    }

    if (validation && validationMargin && validationWeights) {
      for (let r = 0; r < validationMargin.length; r++) {
        validationMargin[r]! += tree.value[leafOf(tree, validation.columns, r)]!;
      }
      const loss = weightedLogLoss(validationMargin, validation.y, validationWeights);
      validationLoss.push(loss);
      if (loss < bestLoss) {
        bestLoss = loss;
        bestRounds = round + 1;
      }
      if (stopEarly && round + 1 - bestRounds >= params.earlyStoppingRounds) break;
    }
  }
  const roundsRun = trees.length;
  if (stopEarly) trees.length = bestRounds;
  return { trees, baseScore, roundsRun, validationLoss, binMapper };
}

function rowWeights(data: BoostingData, scalePosWeight: number): Float64Array {
  const w = new Float64Array(data.y.length);
  for (let i = 0; i < w.length; i++) {
    const base = data.weights ? data.weights[i]! : 1;
    if (!(base >= 0 && Number.isFinite(base))) {
      throw new ChurnError("INVALID_REQUEST", `Row weight ${i} must be a finite number >= 0, got ${base}`);
    }
    w[i] = data.y[i] ? base * scalePosWeight : base;
  }
  return w;
}

function baseLogOdds(y: ArrayLike<number>, weights: Float64Array): number {
  let positive = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    total += weights[i]!;
    if (y[i]) positive += weights[i]!;
  }
  if (!(positive > 0 && positive < total)) {
    throw new ChurnError(
      "INVALID_REQUEST",
      "Training rows must contain both target classes with positive weight",
    );
  }
  return Math.fround(Math.log(positive / (total - positive)));
}

function weightedLogLoss(margin: Float64Array, y: ArrayLike<number>, weights: Float64Array): number {
  let loss = 0;
  let total = 0;
  for (let i = 0; i < margin.length; i++) {
    const m = margin[i]!;
    // log(1 + e^m) − y·m, computed without overflow.
    const softplus = m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m));
    loss += weights[i]! * (softplus - (y[i] ? m : 0));
    total += weights[i]!;
  }
  return total > 0 ? loss / total : 0;
}

/** Bernoulli row sample (rate < 1) into `index`, ascending. Returns the sample size. */
function sampleRowsInto(
  index: Uint32Array,
  inSample: Uint8Array,
  rows: number,
  rate: number,
  random: Random,
): number {
  let k = 0;
  for (let r = 0; r < rows; r++) {
    const picked = random() < rate;
    inSample[r] = picked ? 1 : 0;
    if (picked) index[k++] = r;
  }
  if (k === 0) {
    // Degenerate draw on tiny data: fall back to every row rather than an empty tree.
    for (let r = 0; r < rows; r++) index[r] = r;
    inSample.fill(1);
    return rows;
  }
  return k;
}

/** Per-tree column sample (partial Fisher-Yates), ascending so split ties resolve the same way. */
function sampleColumns(total: number, rate: number, random: Random): Int32Array {
  const all = Int32Array.from({ length: total }, (_, c) => c);
  if (rate >= 1) return all;
  const k = Math.max(1, Math.round(rate * total));
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (total - i));
    const tmp = all[i]!;
    all[i] = all[j]!;
    all[j] = tmp;
  }
  return all.slice(0, k).sort();
}

/** Leaf reached by a training row through its bins: bin b of column c stands for the value edges[c][b]. */
function binnedLeafOf(tree: Tree, binned: BinnedMatrix, mapper: BinMapper, row: number): number {
  let n = 0;
  while (tree.column[n]! >= 0) {
    const c = tree.column[n]!;
    const b = binned.bins[c * binned.rows + row]!;
    const goLeft =
      b === binned.valueBins[c] ? tree.missingLeft[n] === 1 : mapper.edges[c]![b]! <= tree.threshold[n]!;
    n = goLeft ? tree.left[n]! : tree.right[n]!;
  }
  return n;
}
