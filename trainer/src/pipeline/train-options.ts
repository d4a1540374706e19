import { ChurnError } from "#shared/errors.ts";
import { manifestSchema } from "#shared/manifest.ts";
import type { DecimalMark } from "../data/cells.ts";
import type { Separator } from "../data/csv.ts";
import type { ColumnType } from "../data/dataset.ts";
import type { TextEncodingName } from "../data/text-decoding.ts";
import type { Candidate, SearchFamily } from "../ml/automl/candidates.ts";
import { fixedCandidate } from "../ml/automl/fixed-params.ts";
import type { SearchProgress } from "../ml/automl/search.ts";
import type { CalibrationChoice } from "../ml/calibration.ts";
import type { DecisionParams } from "../ml/decision.ts";

/** What `train` takes: the data file and how to read it, the search, and the business inputs. */
export type ModelChoice = "auto" | SearchFamily;

export interface TrainOptions {
  /** CSV file with a header row. */
  data: string;
  target: string;
  /** Target value that counts as churn (class 1). */
  positive: string;
  /** JSON file `{"train": [...], "test": [...]}` of 0-based data-row indices; default: stratified 80/20. */
  split?: string;
  seed?: number;
  drop?: string[];
  /** Column types overriding inference. */
  schema?: Record<string, ColumnType>;
  name?: string;
  /** Fixed decision threshold; default: the profit-optimal one (see `decision`). */
  threshold?: number;
  riskBands?: { medium: number; high: number };
  /** "auto" (default) searches logistic regression, GBDT and MLP and may ensemble them; a family forces it. */
  model?: ModelChoice;
  /** Wall-clock budget for the whole run in seconds (default 60); the search stops to keep it. */
  timeBudget?: number;
  /** Cross-validation folds (default 5, or 3 when the budget is under 20 s). */
  folds?: number;
  calibration?: CalibrationChoice;
  /** Allow a weighted ensemble when it beats the best single model on CV (default: with model "auto"). */
  ensemble?: boolean;
  /** Business inputs of the profit-optimal threshold. */
  decision?: Partial<DecisionParams>;
  /** Fixes the logistic L2 penalty (1 = scikit-learn's C=1) instead of searching it. */
  l2?: number;
  /**
   * Fixes the hyper-parameters of `model` (a family, not "auto") instead of searching them, e.g.
   * `{"rounds": 100, "maxDepth": 6, "learningRate": 0.1}` for gbdt; parsed JSON, checked by
   * fixed-params.ts. Trees and epochs are then exact (no early stopping, no seed bagging).
   */
  params?: unknown;
  maxCategories?: number;
  /** Field separator of the data file; sniffed when absent. */
  separator?: Separator | undefined;
  /** Byte encoding of the data file; UTF-8 unless a BOM says otherwise. */
  encoding?: TextEncodingName | undefined;
  /** Decimal mark; sniffed when absent. */
  decimal?: DecimalMark | undefined;
  /** Missing-value markers beyond the defaults. */
  naValues?: readonly string[] | undefined;
  /** Leave out rows whose target is missing instead of stopping. */
  dropMissingTarget?: boolean;
  /** Train even when a column alone predicts the target almost perfectly (see LEAKAGE_STOP_AUC). */
  allowLeaky?: boolean;
  /** Receives warnings (dropped columns, data-quality findings) as they happen. */
  onWarning?: (message: string) => void;
  /** Receives progress: one event per phase and per cross-validation fit. */
  onProgress?: (event: TrainProgress) => void;
}

export type TrainProgress =
  | {
      phase: "load" | "quality" | "ensemble" | "calibrate" | "refit" | "export" | "report" | "done";
      message: string;
      elapsedMs: number;
    }
  | (SearchProgress & { message: string });

export const DEFAULT_SEED = 42;
export const DEFAULT_NAME = "churn";
export const DEFAULT_TIME_BUDGET = 60;
export const DEFAULT_FOLDS = 5;
export const DEFAULT_RISK_BANDS = { medium: 0.3, high: 0.6 } as const;
export const HOLDOUT_FRACTION = 0.2;

/** The candidate `params` fixes, checked before any data is read; undefined when the search runs. */
export function fixedModel(
  options: Pick<TrainOptions, "params" | "l2" | "maxCategories">,
  modelChoice: ModelChoice,
  seed: number,
): Candidate | undefined {
  if (options.params === undefined) return undefined;
  if (modelChoice === "auto") {
    throw new ChurnError(
      "INVALID_REQUEST",
      "Model params fix one family's hyper-parameters: choose it with model gbdt, random_forest, mlp or logistic_regression",
    );
  }
  if (options.l2 !== undefined) {
    throw new ChurnError(
      "INVALID_REQUEST",
      'Give the L2 penalty inside the model params ("l2"), not beside them',
    );
  }
  return fixedCandidate(modelChoice, options.params, {
    families: [modelChoice],
    seed,
    ...(options.maxCategories !== undefined ? { maxCategories: options.maxCategories } : {}),
  });
}

/** Refuses options no run could honour, before any data is read. */
export function checkOptions(o: {
  seed: number;
  name: string;
  threshold: number | undefined;
  riskBands: { medium: number; high: number };
  modelChoice: string;
  timeBudget: number;
  folds: number | undefined;
}): void {
  if (!Number.isSafeInteger(o.seed))
    throw new ChurnError("INVALID_REQUEST", `Seed must be an integer, got ${o.seed}`);
  const nameCheck = manifestSchema.shape.name.safeParse(o.name);
  if (!nameCheck.success) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Model name "${o.name}" is invalid: use 1-64 lowercase letters, digits and -, starting with a letter or digit`,
    );
  }
  if (o.threshold !== undefined && !(o.threshold >= 0 && o.threshold <= 1)) {
    throw new ChurnError("INVALID_REQUEST", `Threshold must be between 0 and 1, got ${o.threshold}`);
  }
  const { medium, high } = o.riskBands;
  if (!(medium >= 0 && medium <= high && high <= 1)) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Risk bands need 0 <= medium <= high <= 1, got ${medium} / ${high}`,
    );
  }
  if (!["auto", "logistic_regression", "gbdt", "random_forest", "mlp"].includes(o.modelChoice)) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Model must be auto, logistic_regression, gbdt, random_forest or mlp, got ${JSON.stringify(o.modelChoice)}`,
    );
  }
  if (!(Number.isFinite(o.timeBudget) && o.timeBudget > 0)) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Time budget must be a positive number of seconds, got ${o.timeBudget}`,
    );
  }
  if (o.folds !== undefined && !(Number.isInteger(o.folds) && o.folds >= 2 && o.folds <= 20)) {
    throw new ChurnError("INVALID_REQUEST", `Folds must be an integer in [2, 20], got ${o.folds}`);
  }
}
