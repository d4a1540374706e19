import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ChurnError } from "#shared/errors.ts";
import { EXPLAINER_FORMAT } from "#shared/explainer.ts";
import { sha256Hex } from "#shared/hash.ts";
import { type Manifest, manifestSchema } from "#shared/manifest.ts";
import { nowMs, toIso } from "#shared/time.ts";
import { fitCandidate, type SearchFamily } from "./automl/candidates.ts";
import { chooseEnsemble } from "./automl/ensemble.ts";
import { feasibleFolds } from "./automl/folds.ts";
import { type Run, runsOf } from "./automl/runs.ts";
import { describeEvaluation, type Evaluation, type SearchProgress, searchModels } from "./automl/search.ts";
import { type CalibrationChoice, selectCalibration } from "./calibration.ts";
import type { DecimalMark } from "./cells.ts";
import type { Separator } from "./csv.ts";
import { type ColumnType, type Dataset, loadDataset } from "./dataset.ts";
import { DECISION_DEFAULTS, type Decision, type DecisionParams, decide, profitCurve } from "./decision.ts";
import { batchFromDataset, type FeatureBatch } from "./features.ts";
import { globalImportance } from "./importance.ts";
import {
  crossValidationMetrics,
  eceNoiseFloor,
  evaluationMetrics,
  type HoldoutMetrics,
  liftTable,
  prCurve,
  reliabilityBins,
  rocCurve,
} from "./metrics.ts";
import { type ChurnModel, composeModel, type Member } from "./models/composite.ts";
import { averageGbdtModels, type GbdtModel } from "./models/gbdt/model.ts";
import { IR_VERSION, OPSET } from "./onnx/graph.ts";
import { checkParity, type ParityReport } from "./parity.ts";
import { type DataQualityReport, dataQuality, LEAKAGE_STOP_AUC } from "./quality.ts";
import { driftReference } from "./reference.ts";
import { renderReport, type ShapSample } from "./report/report.ts";
import { evenlySpread, loadSplit, type Split, stratifiedSplit } from "./split.ts";
import type { TextEncodingName } from "./text-decoding.ts";

export type ModelChoice = "auto" | SearchFamily;

export interface TrainOptions {
  /** CSV file with a header row. */
  data: string;
  target: string;
  /** Target value that counts as churn (class 1). */
  positive: string;
  /** Output directory (created if needed); see TrainResult.files for what is written. */
  out: string;
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

export interface TrainResult {
  outDir: string;
  files: {
    model: string;
    manifest: string;
    metrics: string;
    runs: string;
    report: string;
    explainer?: string;
  };
  manifest: Manifest;
  /** Holdout metrics of the calibrated probability at the manifest's threshold. */
  metrics: HoldoutMetrics & Record<string, number>;
  cv: Record<string, number>;
  parity: ParityReport;
  rows: { train: number; holdout: number };
  warnings: string[];
  runs: Run[];
  dataQuality: DataQualityReport;
  decision: Decision;
  seconds: number;
}

export const DEFAULT_SEED = 42;
export const DEFAULT_NAME = "churn";
export const DEFAULT_TIME_BUDGET = 60;
export const DEFAULT_FOLDS = 5;
export const DEFAULT_RISK_BANDS = { medium: 0.3, high: 0.6 } as const;
export const HOLDOUT_FRACTION = 0.2;
/**
 * From this many training rows cross-validation uses 3 folds: each fold's estimate is already steady, and
 * two fewer fits per candidate leave the budget for more of them.
 */
const LARGE_ROWS = 100_000;
/** Below this budget (seconds) cross-validation uses 3 folds, so the search can try more candidates. */
const SHORT_BUDGET = 20;
/** Seeds averaged for the best GBDT (seed bagging; see searchModels). */
const GBDT_BAGS = 5;
/** Data cells (rows x features) up to which the search fits two candidates at a time. */
const TWO_THREAD_CELLS = 20_000_000;
/** Training rows the drift reference is drawn from, at most. */
const REFERENCE_ROWS = 200_000;
/** Holdout rows the graph and the TS predictor are compared on, at most. */
const PARITY_ROWS = 20_000;
/** Rows explained for the report's SHAP summary. */
const SHAP_SAMPLE = 250;

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Reads the CSV, reports data quality, runs AutoML (cross-validated search, optional ensemble),
 * calibrates on out-of-fold margins, refits the winner on all training rows, exports one ONNX graph,
 * checks ONNX/TS parity on the holdout, chooses the profit-optimal threshold and writes the artefacts.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const startedAt = performance.now();
  const elapsedMs = () => performance.now() - startedAt;
  const progress = (phase: Exclude<TrainProgress["phase"], "search">, message: string) =>
    options.onProgress?.({ phase, message, elapsedMs: elapsedMs() });
  const seed = options.seed ?? DEFAULT_SEED;
  const name = options.name ?? DEFAULT_NAME;
  const riskBands = options.riskBands ?? { ...DEFAULT_RISK_BANDS };
  const modelChoice = options.model ?? "auto";
  const timeBudget = options.timeBudget ?? DEFAULT_TIME_BUDGET;
  const decisionParams: DecisionParams = { ...DECISION_DEFAULTS, ...options.decision };
  checkOptions({
    seed,
    name,
    threshold: options.threshold,
    riskBands,
    modelChoice,
    timeBudget,
    folds: options.folds,
  });

  progress("load", `reading ${options.data}`);
  const dataFingerprint = await fileSha256(options.data);
  const dataset = await loadDataset(options.data, {
    target: options.target,
    positive: options.positive,
    drop: options.drop ?? [],
    ...(options.schema ? { schema: options.schema } : {}),
    separator: options.separator,
    encoding: options.encoding,
    decimal: options.decimal,
    naValues: options.naValues,
    ...(options.dropMissingTarget ? { dropMissingTarget: true } : {}),
  });
  const warnings: string[] = [];
  const warn = (w: string) => {
    warnings.push(w);
    options.onWarning?.(w);
  };
  for (const w of dataset.warnings) warn(w);

  const split: Split = options.split
    ? keptRowsOf(await loadSplit(options.split, dataset.reading.rowsRead), dataset.sourceRows)
    : stratifiedSplit(dataset.target.y, seed, HOLDOUT_FRACTION);
  checkBothClasses(dataset.target.y, split.train, "training");
  checkBothClasses(dataset.target.y, split.test, "holdout");

  progress("quality", `checking ${dataset.rowCount} rows x ${dataset.features.length} features`);
  const quality = dataQuality(dataset, split.train, seed);
  for (const w of quality.warnings) warn(w);
  checkLeakage(quality, options.allowLeaky ?? false);

  const yTrain = Uint8Array.from(split.train, (r) => dataset.target.y[r]!);
  const folds = feasibleFolds(
    yTrain,
    options.folds ?? (timeBudget < SHORT_BUDGET || split.train.length >= LARGE_ROWS ? 3 : DEFAULT_FOLDS),
  );
  const families: SearchFamily[] =
    modelChoice === "auto" ? ["logistic_regression", "gbdt", "random_forest", "mlp"] : [modelChoice];
  const allowEnsemble = options.ensemble ?? modelChoice === "auto";
  const maxMembers = allowEnsemble ? 3 : 1;
  const search = await searchModels({
    dataset,
    rows: split.train,
    folds,
    seed,
    families,
    budgetMs: timeBudget * 1000,
    startedAt,
    overheadMs: overheadEstimateMs(dataset.rowCount),
    // Two fits at once hold two sets of encoded columns: past TWO_THREAD_CELLS that is what would push a
    // wide million-row file over 2 GB, so the search fits one at a time there.
    ...(dataset.rowCount * dataset.features.length > TWO_THREAD_CELLS ? { threads: 1 } : {}),
    maxMembers,
    bags: GBDT_BAGS,
    ...(options.l2 !== undefined ? { l2: options.l2 } : {}),
    ...(options.maxCategories !== undefined ? { maxCategories: options.maxCategories } : {}),
    onProgress: (e) =>
      options.onProgress?.({
        ...e,
        message: `fold ${e.fold}/${e.folds} of ${e.candidate}${e.best ? `; best CV log loss ${e.best.score.toFixed(4)}` : ""}`,
      }),
  });

  const complete = search.evaluations
    .filter((e) => e.status === "complete")
    .sort((a, b) => a.score - b.score);
  const bestSingle = complete[0]!;
  const ensemble = allowEnsemble
    ? chooseEnsemble(
        search.evaluations,
        search.y,
        maxMembers,
        startedAt + timeBudget * 1000 - overheadEstimateMs(dataset.rowCount),
      )
    : undefined;
  const chosen = ensemble ? ensemble.members : [{ evaluation: bestSingle, weight: 1 }];
  const oof = ensemble ? ensemble.oof : bestSingle.oof;
  progress(
    "ensemble",
    ensemble
      ? `ensemble of ${chosen.length} beats the best single model (CV log loss ${ensemble.score.toFixed(4)} vs ${bestSingle.score.toFixed(4)})`
      : `best: ${describeEvaluation(bestSingle)} (CV log loss ${bestSingle.score.toFixed(4)})`,
  );

  const calibration = selectCalibration(oof, search.y, search.fold, options.calibration ?? "auto");
  progress("calibrate", `calibration: ${calibration.calibration.method}`);
  // Business threshold and CV metrics use the cross-fitted calibrated out-of-fold probabilities.
  const decision = decide(search.y, calibration.crossFitted, decisionParams);
  const threshold = options.threshold ?? decision.threshold;
  const cv = {
    ...crossValidationMetrics(search.y, calibration.crossFitted, search.fold, threshold),
    expected_profit_per_customer: profitAt(search.y, calibration.crossFitted, decisionParams, threshold),
  };

  progress("refit", `refitting ${chosen.length} model(s) on ${split.train.length} training rows`);
  const members: Member[] = chosen.map(({ evaluation, weight }) => ({
    model: refitEvaluation(evaluation, dataset, split.train),
    weight,
  }));
  const memberParams = chosen.map(({ evaluation, weight }, i) => ({
    family: evaluation.candidate.family,
    weight,
    description: describeEvaluation(evaluation),
    params: members[i]!.model.params,
  }));
  const model = composeModel(members, calibration.calibration, {
    members: memberParams,
    calibration: calibration.calibration,
  });
  checkCategories(model);

  progress("export", "exporting ONNX and checking parity on the holdout");
  const onnx = model.toOnnx();
  const holdout = batchFromDataset(dataset, split.test);
  // onnxruntime holds a run's whole intermediate tensors; parity on up to PARITY_ROWS holdout rows is the
  // same evidence without a gigabyte-sized run on a million-row file.
  const parity = await checkParity(model, onnx, sampleBatch(dataset, split.test, PARITY_ROWS, seed));
  const yTest = Uint8Array.from(split.test, (r) => dataset.target.y[r]!);
  const pTest = model.predictProbability(holdout);
  const metrics = {
    ...(evaluationMetrics(yTest, pTest, threshold) as HoldoutMetrics & Record<string, number>),
    ece_noise_floor: eceNoiseFloor(pTest, 200, seed),
    expected_profit_per_customer: profitAt(yTest, pTest, decisionParams, threshold),
  };

  // The drift baseline is a distribution: up to REFERENCE_ROWS training rows, evenly spread, draw it as well.
  const referenceRows = evenlySpread(split.train, REFERENCE_ROWS, seedOffset(seed));
  const reference = driftReference(
    dataset,
    referenceRows,
    model.predictProbability(batchFromDataset(dataset, referenceRows)),
  );
  const importance = globalImportance(members, sampleBatch(dataset, split.train, 2000, seed));
  const explainerText = model.explainer ? `${JSON.stringify(model.explainer)}\n` : undefined;
  const explainerBytes = explainerText ? new TextEncoder().encode(explainerText) : undefined;
  const rows = { train: split.train.length, holdout: split.test.length };
  const gitCommit = await currentGitCommit();
  const runs = runsOf(search.evaluations, search.y, ensemble, chosen);

  const manifest = manifestSchema.parse({
    schemaVersion: 1,
    name,
    family: model.family,
    createdAt: toIso(nowMs()),
    target: { column: dataset.target.column, positive: dataset.target.positive },
    features: model.features,
    outputs: {
      probability: { name: "probability" },
      ...(model.graphContributions
        ? { contributions: { name: "contributions", baseMargin: model.baseMargin } }
        : {}),
    },
    threshold,
    riskBands,
    onnx: { sha256: await sha256Hex(onnx), bytes: onnx.length, irVersion: IR_VERSION, opset: OPSET },
    metrics: { holdout: finite(metrics), cv: finite(cv) },
    ...(explainerBytes && model.explainer
      ? {
          explainer: {
            format: EXPLAINER_FORMAT,
            sha256: await sha256Hex(explainerBytes),
            bytes: explainerBytes.length,
            baseMargin: model.explainer.baseMargin,
          },
        }
      : {}),
    calibration: { method: calibration.calibration.method },
    decision: {
      valuePerCustomer: decision.valuePerCustomer,
      offerCost: decision.offerCost,
      offerAcceptance: decision.offerAcceptance,
      curve: decision.curve,
    },
    importance,
    reference,
    lineage: {
      dataFingerprint,
      trainerVersion: await trainerVersion(),
      params: {
        model: modelChoice,
        members: memberParams.map(({ params, ...rest }) => ({ ...rest, params: leanParams(params) })),
        calibration: calibration.calibration,
        split: options.split ? "file" : `stratified ${1 - HOLDOUT_FRACTION}/${HOLDOUT_FRACTION}`,
        folds,
        timeBudget,
        candidates: search.evaluations.length,
        selection: "CV log loss after Platt scaling of out-of-fold margins",
        dropped: dataset.dropped.map((d) => d.column),
        ...(options.threshold !== undefined ? { thresholdOverride: options.threshold } : {}),
      },
      seed,
      ...(gitCommit ? { gitCommit } : {}),
      rows,
    },
  } satisfies Manifest);

  progress("report", "writing report.html");
  const outDir = resolve(options.out);
  await mkdir(outDir, { recursive: true });
  const files: TrainResult["files"] = {
    model: join(outDir, "model.onnx"),
    manifest: join(outDir, "manifest.json"),
    metrics: join(outDir, "metrics.json"),
    runs: join(outDir, "runs.json"),
    report: join(outDir, "report.html"),
    ...(explainerText ? { explainer: join(outDir, "explainer.json") } : {}),
  };
  const deciles = liftTable(yTest, pTest);
  const seconds = elapsedMs() / 1000;
  const metricsFile = {
    holdout: metrics,
    cv,
    rows,
    deciles: { holdout: deciles },
    calibration: { method: calibration.calibration.method, cv: calibration.cv },
    decision: {
      threshold,
      profitOptimal: decision.threshold,
      breakEven: decision.breakEven,
      valuePerCustomer: decision.valuePerCustomer,
      offerCost: decision.offerCost,
      offerAcceptance: decision.offerAcceptance,
    },
    automl: {
      timeBudget,
      folds,
      candidates: search.evaluations.length,
      stoppedByBudget: search.stoppedByBudget,
      slowdown: search.slowdown,
      selection: "cv log loss (Platt-scaled out-of-fold margins)",
      winner: model.family,
      members: memberParams.map(({ params: _params, ...rest }) => rest),
    },
    parity,
    dataQuality: quality,
    seconds,
  };
  await writeFile(files.model, onnx);
  if (files.explainer && explainerText) await writeFile(files.explainer, explainerText);
  await writeFile(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(files.metrics, `${JSON.stringify(metricsFile, null, 2)}\n`);
  await writeFile(files.runs, `${JSON.stringify(runs, null, 2)}\n`);
  await writeFile(
    files.report,
    renderReport({
      manifest,
      holdout: metrics,
      cv,
      rows,
      seconds,
      timeBudget,
      roc: rocCurve(yTest, pTest),
      pr: prCurve(yTest, pTest),
      reliability: reliabilityBins(yTest, pTest),
      deciles,
      decision: { ...decision, threshold, holdoutCurve: profitCurve(yTest, pTest, decisionParams) },
      calibration: { method: calibration.calibration.method, cv: calibration.cv },
      importance,
      shap: shapSample(model, dataset, split.test, seed),
      quality,
      runs,
      parity,
      warnings,
    }),
  );
  progress("done", `wrote ${outDir}`);
  return {
    outDir,
    files,
    manifest,
    metrics,
    cv,
    parity,
    rows,
    warnings,
    runs,
    dataQuality: quality,
    decision: { ...decision, threshold },
    seconds: elapsedMs() / 1000,
  };
}

/** The winner's final fit on all training rows; a bagged GBDT fits once per seed and averages them. */
function refitEvaluation(evaluation: Evaluation, dataset: Dataset, rows: readonly number[]): Member["model"] {
  const { candidate, seeds } = evaluation;
  const rounds = finalRounds(evaluation);
  if (candidate.family !== "gbdt" || !seeds) return fitCandidate(candidate, dataset, rows, rounds).model;
  const models = seeds.map(
    (seed) =>
      fitCandidate({ ...candidate, params: { ...candidate.params, seed } }, dataset, rows, rounds)
        .model as GbdtModel,
  );
  const { importance: _importance, ...params } = models[0]!.params;
  return averageGbdtModels(models, { ...params, seeds });
}

/** Mean trees (epochs) kept over the CV folds: the final GBDT (MLP) fits that many on all training rows. */
function finalRounds(e: Evaluation): number | undefined {
  if (e.foldRounds.length === 0) return undefined;
  return Math.max(1, Math.round(e.foldRounds.reduce((a, b) => a + b, 0) / e.foldRounds.length));
}

/**
 * Calibration, parity, reference and report after the refit: measured at about 0.5 s for the 7k-row
 * Telco data on these machines (onnxruntime start-up dominates) and 7 s for a million rows x 60 columns
 * (parity and the drift reference work on bounded samples, so it grows slowly with rows).
 */
function overheadEstimateMs(rows: number): number {
  return 400 + 0.012 * rows;
}

function profitAt(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  params: DecisionParams,
  threshold: number,
): number {
  let profit = 0;
  for (let i = 0; i < y.length; i++) {
    if (p[i]! >= threshold)
      profit += params.offerAcceptance * params.valuePerCustomer * (y[i] ? 1 : 0) - params.offerCost;
  }
  return profit / Math.max(y.length, 1);
}

/** Contributions of a sample of holdout rows with their raw values, for the report's SHAP summary. */
function shapSample(model: ChurnModel, dataset: Dataset, rows: readonly number[], seed: number): ShapSample {
  const batch = sampleBatch(dataset, rows, SHAP_SAMPLE, seed);
  return {
    features: model.features.map((f) => f.name),
    rows: batch.rows,
    contributions: model.contributions(batch),
    values: model.features.map((f) => batch.values[f.name]!),
    baseMargin: model.baseMargin,
    source: model.graphContributions ? "graph" : "explainer",
  };
}

/** Up to `max` of `rows`, evenly spaced from a seeded offset (deterministic, no shuffle needed). */
function sampleBatch(dataset: Dataset, rows: readonly number[], max: number, seed: number): FeatureBatch {
  return batchFromDataset(dataset, evenlySpread(rows, max, seedOffset(seed)));
}

const seedOffset = (seed: number) => (seed % 997) / 997;

/** Drops non-finite values (e.g. an undefined AUC), which manifest metric maps cannot hold. */
function finite(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
}

/** Lineage keeps hyper-parameters, not bulky fit diagnostics such as per-feature importance lists. */
function leanParams(params: Record<string, unknown>): Record<string, unknown> {
  const { importance: _importance, ...rest } = params;
  return rest;
}

function checkCategories(model: ChurnModel): void {
  for (const f of model.features) {
    if (f.type === "categorical" && f.categories.length === 0) {
      throw new ChurnError(
        "INVALID_REQUEST",
        `Column "${f.name}" has no values in the training rows; drop it with --drop ${f.name}`,
      );
    }
  }
}

function checkOptions(o: {
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

/** The data file's sha256, streamed (the file may be larger than memory allows to hold twice). */
async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (cause) {
    throw new ChurnError("INVALID_REQUEST", `Cannot read data file ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  return hash.digest("hex");
}

/**
 * A split file names the file's data rows; once rows without a target are left out, its indices are
 * mapped onto the rows kept, and those naming a left-out row are skipped.
 */
function keptRowsOf(split: Split, sourceRows: Int32Array | undefined): Split {
  if (!sourceRows) return split;
  const position = new Map<number, number>();
  sourceRows.forEach((source, kept) => {
    position.set(source, kept);
  });
  const map = (rows: number[]) => rows.flatMap((r) => (position.has(r) ? [position.get(r)!] : []));
  return { train: map(split.train), test: map(split.test) };
}

/**
 * A column that alone ranks the training rows almost perfectly is nearly always recorded after the outcome
 * (a cancellation date, a closing reason): training stops and names it, unless the caller vouches for it.
 */
function checkLeakage(quality: DataQualityReport, allowLeaky: boolean): void {
  const leaky = quality.features.filter((f) => f.singleFeatureAuc >= LEAKAGE_STOP_AUC);
  if (leaky.length === 0 || allowLeaky) return;
  const named = leaky.map((f) => `"${f.name}" (ROC-AUC ${f.singleFeatureAuc.toFixed(3)})`).join(", ");
  throw new ChurnError(
    "INVALID_REQUEST",
    `Probable target leakage: ${named} alone predict${leaky.length === 1 ? "s" : ""} the target almost perfectly on the training folds, so ${leaky.length === 1 ? "it is" : "they are"} probably recorded after the customer left. Leave ${leaky.length === 1 ? "it" : "them"} out with --drop ${leaky.map((f) => JSON.stringify(f.name)).join(",")}, or pass --allow-leaky if ${leaky.length === 1 ? "it is" : "they are"} known before churn`,
  );
}

function checkBothClasses(y: Uint8Array, rows: readonly number[], part: string): void {
  let positives = 0;
  for (const r of rows) positives += y[r]!;
  if (positives === 0 || positives === rows.length) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `The ${part} rows contain only one target class (${positives} of ${rows.length} positive); both are needed`,
    );
  }
}

async function trainerVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "0.0.0";
}

/** Commit of the trainer's source tree, when it is a git checkout with at least one commit. */
async function currentGitCommit(): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)("git", ["rev-parse", "HEAD"], {
      cwd: repoRoot,
      timeout: 5000,
    });
    const commit = stdout.trim();
    return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}
