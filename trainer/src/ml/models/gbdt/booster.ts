import { ChurnError } from "#shared/errors.ts";
import { createRandom, type Random } from "../../random.ts";
import { applyBinMapper, type BinMapper, type BinnedMatrix, fitBinMapper } from "./binning.ts";
import { GrowWorkspace, growTree } from "./grow.ts";
import type { GbdtParams } from "./params.ts";
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
}

/** Gradient boosting with the logistic loss on histogram-binned columns. Deterministic for a seed. */
export function trainBooster(
  data: BoostingData,
  params: BoosterParams,
  options: BoosterOptions = {},
): BoosterFit {
  const rows = data.y.length;
  const weights = rowWeights(data, params.scalePosWeight);
  const baseScore = baseLogOdds(data.y, weights);
  const binMapper = fitBinMapper(data.columns, {
    maxBins: params.maxBins,
    seed: params.seed,
    ...(options.indicator ? { indicator: options.indicator } : {}),
  });
  const binned = applyBinMapper(binMapper, data.columns);
  const random = createRandom(params.seed);
  const ws = new GrowWorkspace(binned);

  const validation = options.validation;
  const validationWeights = validation ? rowWeights(validation, params.scalePosWeight) : undefined;
  const validationMargin = validation ? new Float64Array(validation.y.length).fill(baseScore) : undefined;
  const validationLoss: number[] = [];
  const stopEarly = params.earlyStoppingRounds > 0 && validation !== undefined;
  let bestLoss = Number.POSITIVE_INFINITY;
  let bestRounds = 0;

  const margin = new Float64Array(rows).fill(baseScore);
  const gradHess = new Float32Array(2 * rows);
  const inSample = new Uint8Array(rows);
  const trees: Tree[] = [];

  // A forest's trees all fit the base rate's gradients; boosting refreshes them after every tree.
  if (params.forest) logisticGradients(margin, data.y, weights, gradHess);
  for (let round = 0; round < params.rounds; round++) {
    if (options.stopAt !== undefined && round > 0 && Date.now() > options.stopAt) break;
    if (!params.forest) logisticGradients(margin, data.y, weights, gradHess);
    const sampleRows = sampleRowsInto(ws.index, inSample, rows, params.subsample, random);
    const columns = sampleColumns(data.columns.length, params.colsampleByTree, random);
    const grown = growTree(binned, binMapper.edges, gradHess, sampleRows, columns, params, ws);
    const tree = grown.tree;
    trees.push(tree);

    // Sampled rows: add their leaf's value by segment; the others walk the tree on their bins. A forest
    // never reads the training margin (its gradients stay the base rate's), so it skips this.
    if (!params.forest) {
      for (let n = 0; n < tree.column.length; n++) {
        if (tree.column[n]! >= 0) continue;
        const v = tree.value[n]!;
        for (let i = grown.rowStart[n]!; i < grown.rowEnd[n]!; i++) margin[ws.index[i]!]! += v;
      }
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

/** Logistic loss derivatives in the margin, interleaved: g = w (p − y), h = w p (1 − p). */
function logisticGradients(
  margin: Float64Array,
  y: ArrayLike<number>,
  weights: Float64Array,
  gradHess: Float32Array,
): void {
  for (let i = 0; i < margin.length; i++) {
    const p = 1 / (1 + Math.exp(-margin[i]!));
    const w = weights[i]!;
    gradHess[2 * i] = (p - (y[i] ? 1 : 0)) * w;
    gradHess[2 * i + 1] = Math.max(p * (1 - p), 1e-16) * w;
  }
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

/** Bernoulli row sample into `index` (ascending); all rows when `rate` is 1. Returns the sample size. */
function sampleRowsInto(
  index: Uint32Array,
  inSample: Uint8Array,
  rows: number,
  rate: number,
  random: Random,
): number {
  let k = 0;
  if (rate >= 1) {
    for (let r = 0; r < rows; r++) index[r] = r;
    return rows;
  }
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
