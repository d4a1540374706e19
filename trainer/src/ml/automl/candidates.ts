import type { Dataset } from "../../data/dataset.ts";
import { fitGbdt, type GbdtModel } from "../models/gbdt/model.ts";
import { GBDT_DEFAULTS, type GbdtParams } from "../models/gbdt/params.ts";
import {
  fitLogisticModel,
  LOGISTIC_DEFAULTS,
  type LogisticModel,
  type LogisticParams,
} from "../models/logistic.ts";
import { fitMlpModel, MLP_DEFAULTS, type MlpModel, type MlpParams } from "../models/mlp.ts";
import { createRandom, type Random } from "../random.ts";

/** One point of the search space: a family and its full hyper-parameters. */
export type Candidate =
  | { id: string; family: "logistic_regression"; params: LogisticParams }
  | { id: string; family: "gbdt"; params: GbdtParams }
  | { id: string; family: "random_forest"; params: GbdtParams }
  | { id: string; family: "mlp"; params: MlpParams };

export type SearchFamily = Candidate["family"];

export interface FittedCandidate {
  model: LogisticModel | GbdtModel | MlpModel;
  /** Trees (GBDT) or epochs (MLP) kept by early stopping, for choosing the final model's length. */
  rounds?: number;
}

/**
 * Fits a candidate on `rows`. GBDTs early-stop on a stratified tenth of those rows and are refitted on
 * all of them; with `rounds` they fit exactly that many trees instead (the final refit, using the mean
 * tree count of the CV folds, which is steadier than one inner split). MLPs keep their best epoch on a
 * stratified tenth; with `rounds` they train that many epochs on all rows.
 */
export function fitCandidate(
  candidate: Candidate,
  dataset: Dataset,
  rows: readonly number[],
  rounds?: number,
  /** Date.now() past which tree models grow no further trees (see BoosterOptions.stopAt). */
  stopAt?: number,
): FittedCandidate {
  if (candidate.family === "logistic_regression") {
    return { model: fitLogisticModel({ dataset, rows }, candidate.params) };
  }
  if (candidate.family === "mlp") {
    const params: MlpParams =
      rounds === undefined ? candidate.params : { ...candidate.params, epochs: rounds, patience: 0 };
    const model = fitMlpModel({ dataset, rows }, params);
    return { model, rounds: model.params["bestEpochs"] as number };
  }
  // Random forests have a fixed number of trees and no early stopping: `rounds` changes nothing for them.
  const params: GbdtParams =
    rounds === undefined || candidate.family === "random_forest"
      ? candidate.params
      : { ...candidate.params, rounds, earlyStoppingRounds: 0 };
  const model = fitGbdt({ dataset, rows }, params, stopAt !== undefined ? { stopAt } : {});
  return { model, rounds: model.data.trees.length };
}

/** Short human-readable label, e.g. "gbdt depth 3, lr 0.05, mcw 10, colsample 0.8". */
export function describeCandidate(c: Candidate): string {
  if (c.family === "logistic_regression") {
    const p = c.params;
    const penalty = p.l1 > 0 ? `L1 ${p.l1} + L2 ${p.l2}` : `L2 ${p.l2} (C=${round(1 / p.l2)})`;
    return `logistic ${penalty}${p.numericBins > 1 ? `, ${p.numericBins} numeric bins` : ""}`;
  }
  if (c.family === "mlp") {
    const p = c.params;
    return `mlp ${p.hidden} hidden, L2 ${p.l2}, lr ${p.learningRate}${p.numericBins > 1 ? `, ${p.numericBins} numeric bins` : ""}`;
  }
  const p = c.params;
  const shape = p.growth === "lossguide" ? `lossguide ${p.maxLeaves} leaves, ` : "";
  if (c.family === "random_forest") {
    return `random forest ${p.rounds} trees, ${shape}depth ${p.maxDepth}, mcw ${p.minChildWeight}, colsample ${p.colsampleByTree}, subsample ${p.subsample}`;
  }
  // Without early stopping the tree count is part of the candidate (fixed hyper-parameters), so it is named.
  const trees = p.earlyStoppingRounds === 0 ? `${p.rounds} trees, ` : "";
  return `gbdt ${trees}${shape}depth ${p.maxDepth}, lr ${p.learningRate}, mcw ${p.minChildWeight}, λ ${p.lambda}, colsample ${p.colsampleByTree}, subsample ${p.subsample}`;
}

/** The hyper-parameters that vary in the search, for runs.json and the leaderboard. */
export function searchedParams(c: Candidate): Record<string, number | string> {
  if (c.family === "logistic_regression") {
    const { l2, l1, numericBins } = c.params;
    return { C: round(1 / l2), l2, l1, numericBins };
  }
  if (c.family === "mlp") {
    const { hidden, l2, learningRate, numericBins, seed } = c.params;
    return { hidden, l2, learningRate, numericBins, seed };
  }
  const { rounds, maxDepth, learningRate, minChildWeight, lambda, colsampleByTree, subsample, seed } =
    c.params;
  if (c.family === "random_forest")
    return { trees: rounds, maxDepth, minChildWeight, colsampleByTree, subsample, seed };
  return { maxDepth, learningRate, minChildWeight, lambda, colsampleByTree, subsample, seed };
}

function round(x: number): number {
  return Number(x.toPrecision(3));
}

export interface SpaceOptions {
  families: readonly SearchFamily[];
  seed: number;
  maxCategories?: number;
  /** Fixes the logistic L2 penalty (a single plain logistic candidate). */
  l2?: number;
}

/** The plain logistic regression every search starts with: cheap, and the floor a search must beat. */
export function baselineCandidate(options: SpaceOptions): Candidate {
  return logistic({ l2: options.l2 ?? 1 }, options);
}

/**
 * The first bracket: logistic regression with a few penalties, with and without numeric step bins (a
 * step-shaped effect per numeric feature, which is most of what trees add on churn tables), and GBDTs
 * around the defaults, which were tuned by CV on churn data: shallow trees, a small learning rate.
 */
export function initialCandidates(options: SpaceOptions): Candidate[] {
  const out: Candidate[] = [];
  if (options.families.includes("logistic_regression") && options.l2 === undefined) {
    out.push(
      logistic({ l2: 10 }, options),
      logistic({ l2: 3, numericBins: 10 }, options),
      logistic({ l2: 10, numericBins: 10 }, options),
      logistic({ l2: 30, numericBins: 10 }, options),
      logistic({ l2: 1, l1: 2, numericBins: 10 }, options),
    );
  }
  if (options.families.includes("gbdt")) {
    const grid: Partial<GbdtParams>[] = [
      {},
      { minChildWeight: 10 },
      { minChildWeight: 10, learningRate: 0.03, lambda: 5 },
      { maxDepth: 2, minChildWeight: 5 },
      { maxDepth: 4, minChildWeight: 10, lambda: 5 },
      { maxDepth: 5, minChildWeight: 20, lambda: 10, colsampleByTree: 0.6 },
      { maxDepth: 3, learningRate: 0.1, minChildWeight: 5 },
      { maxDepth: 4, learningRate: 0.03, minChildWeight: 20, colsampleByTree: 0.5 },
      { maxDepth: 6, minChildWeight: 50, lambda: 10, subsample: 0.7 },
    ];
    for (const g of grid) out.push(gbdt(g, options));
  }
  if (options.families.includes("random_forest")) {
    // Deep, decorrelated trees on about two thirds of the rows each (sampling without replacement, as
    // scikit-learn's max_samples), half or a third of the columns per tree.
    out.push(
      forest(FIRST_FOREST, options),
      forest({ maxDepth: 12, minChildWeight: 2, colsampleByTree: 0.33 }, options),
    );
  }
  if (options.families.includes("mlp")) {
    // Small and strongly penalised: on churn tables a wider or looser network only fits noise sooner.
    out.push(mlp({ hidden: 16, l2: 10 }, options), mlp({ hidden: 32, l2: 30 }, options));
  }
  return out;
}

/** The search's first forest, and the settings a forest with fixed hyper-parameters starts from. */
export const FIRST_FOREST: Partial<GbdtParams> = { maxDepth: 8, minChildWeight: 1, colsampleByTree: 0.5 };

/** Grids the local moves step along (one neighbour up or down at a time). */
const GBDT_GRID = {
  maxDepth: [2, 3, 4, 5, 6],
  learningRate: [0.02, 0.03, 0.05, 0.07, 0.1],
  minChildWeight: [1, 3, 5, 10, 20, 40, 80],
  lambda: [0.5, 1, 3, 5, 10, 20],
  colsampleByTree: [0.5, 0.65, 0.8, 1],
  subsample: [0.6, 0.7, 0.8, 0.9, 1],
} as const;
/**
 * A later bracket: local moves around the best GBDTs found so far, each hyper-parameter stepping to a
 * neighbouring grid value with probability 2/3, a cheap stand-in for Bayesian search. Parents are used in
 * turn; settings already tried are skipped. Logistic regression is not perturbed: its first-bracket grid
 * covers it, and searching it more finely chased cross-validation noise (better CV, worse holdout on
 * all three seeds tried on the public data).
 */
export function perturbedCandidates(
  parents: readonly Candidate[],
  count: number,
  options: SpaceOptions,
  bracket: number,
  seen: ReadonlySet<string>,
): Candidate[] {
  if (parents.length === 0) return [];
  const random = createRandom(options.seed * 7919 + bracket * 31 + parents.length);
  const move = (grid: readonly number[], value: number) => {
    let at = 0;
    for (let i = 1; i < grid.length; i++)
      if (Math.abs(grid[i]! - value) < Math.abs(grid[at]! - value)) at = i;
    const step = pick(random, [-1, 0, 1]);
    return grid[clamp(at + step, 0, grid.length - 1)]!;
  };
  const out: Candidate[] = [];
  for (let attempt = 0; out.length < count && attempt < count * 20; attempt++) {
    const parent = parents[attempt % parents.length]!;
    if (parent.family !== "gbdt") continue;
    const p = parent.params;
    const child = gbdt(
      {
        maxDepth: move(GBDT_GRID.maxDepth, p.maxDepth),
        learningRate: move(GBDT_GRID.learningRate, p.learningRate),
        minChildWeight: move(GBDT_GRID.minChildWeight, p.minChildWeight),
        lambda: move(GBDT_GRID.lambda, p.lambda),
        colsampleByTree: move(GBDT_GRID.colsampleByTree, p.colsampleByTree),
        subsample: move(GBDT_GRID.subsample, p.subsample),
      },
      options,
    );
    if (seen.has(child.id) || out.some((c) => c.id === child.id)) continue;
    out.push(child);
  }
  return out;
}

/** Hyper-parameters given for one family; what they leave out takes the search's defaults. */
export type PartialCandidate =
  | { family: "logistic_regression"; params: Partial<LogisticParams> }
  | { family: "gbdt"; params: Partial<GbdtParams> }
  | { family: "random_forest"; params: Partial<GbdtParams> }
  | { family: "mlp"; params: Partial<MlpParams> };

/** A candidate built as the search builds its own, from the family's defaults and `given`. */
export function candidateOf(given: PartialCandidate, options: SpaceOptions): Candidate {
  switch (given.family) {
    case "logistic_regression":
      return logistic(given.params, options);
    case "gbdt":
      return gbdt(given.params, options);
    case "random_forest":
      return forest(given.params, options);
    case "mlp":
      return mlp(given.params, options);
  }
}

function logistic(p: Partial<LogisticParams>, options: SpaceOptions): Candidate {
  const params: LogisticParams = {
    ...LOGISTIC_DEFAULTS,
    ...p,
    ...(options.maxCategories !== undefined ? { maxCategories: options.maxCategories } : {}),
  };
  return {
    id: idOf("lr", searchedParamsOf("logistic_regression", params)),
    family: "logistic_regression",
    params,
  };
}

function gbdt(p: Partial<GbdtParams>, options: SpaceOptions): Candidate {
  const params: GbdtParams = {
    ...GBDT_DEFAULTS,
    rounds: 2000,
    ...p,
    seed: options.seed,
    ...(options.maxCategories !== undefined ? { maxCategories: options.maxCategories } : {}),
  };
  return { id: idOf("gbdt", searchedParamsOf("gbdt", params)), family: "gbdt", params };
}

/** Trees in every forest candidate: past a couple of hundred, more trees only add time. */
const FOREST_TREES = 200;

function forest(p: Partial<GbdtParams>, options: SpaceOptions): Candidate {
  const params: GbdtParams = {
    ...GBDT_DEFAULTS,
    rounds: FOREST_TREES,
    learningRate: 1 / FOREST_TREES,
    subsample: 0.632,
    lambda: 1,
    earlyStoppingRounds: 0,
    refit: false,
    forest: true,
    ...p,
    seed: options.seed,
    ...(options.maxCategories !== undefined ? { maxCategories: options.maxCategories } : {}),
  };
  return { id: idOf("rf", searchedParamsOf("random_forest", params)), family: "random_forest", params };
}

function mlp(p: Partial<MlpParams>, options: SpaceOptions): Candidate {
  const params: MlpParams = {
    ...MLP_DEFAULTS,
    ...p,
    seed: options.seed,
    ...(options.maxCategories !== undefined ? { maxCategories: options.maxCategories } : {}),
  };
  return { id: idOf("mlp", searchedParamsOf("mlp", params)), family: "mlp", params };
}

function searchedParamsOf(family: SearchFamily, params: LogisticParams | GbdtParams | MlpParams) {
  return searchedParams({ id: "", family, params } as Candidate);
}

function idOf(prefix: string, params: Record<string, number | string>): string {
  return `${prefix}(${Object.entries(params)
    .filter(([k]) => k !== "C" && k !== "seed")
    .map(([k, v]) => `${k}=${v}`)
    .join(",")})`;
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), hi);
}
