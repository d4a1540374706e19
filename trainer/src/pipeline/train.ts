import { EXPLAINER_FORMAT } from "#shared/explainer.ts";
import { sha256Hex } from "#shared/hash.ts";
import { type Manifest, manifestSchema } from "#shared/manifest.ts";
import { nowMs, toIso } from "#shared/time.ts";
import { type Dataset, loadDataset } from "../data/dataset.ts";
import { type Candidate, fitCandidate, type SearchFamily } from "../ml/automl/candidates.ts";
import { chooseEnsemble } from "../ml/automl/ensemble.ts";
import { feasibleFolds } from "../ml/automl/folds.ts";
import { runsOf } from "../ml/automl/runs.ts";
import { describeEvaluation, type Evaluation, searchModels } from "../ml/automl/search.ts";
import { selectCalibration } from "../ml/calibration.ts";
import { DECISION_DEFAULTS, type DecisionParams, decide, profitCurve } from "../ml/decision.ts";
import { batchFromDataset, type FeatureBatch } from "../ml/features.ts";
import { globalImportance } from "../ml/importance.ts";
import {
  crossValidationMetrics,
  eceNoiseFloor,
  evaluationMetrics,
  type HoldoutMetrics,
  liftTable,
  prCurve,
  reliabilityBins,
  rocCurve,
} from "../ml/metrics.ts";
import { type ChurnModel, composeModel, type Member } from "../ml/models/composite.ts";
import { averageGbdtModels, type GbdtModel } from "../ml/models/gbdt/model.ts";
import { IR_VERSION, OPSET } from "../ml/onnx/graph.ts";
import { checkParity } from "../ml/parity.ts";
import { dataQuality } from "../ml/quality.ts";
import { driftReference } from "../ml/reference.ts";
import { evenlySpread, loadSplit, type Split, stratifiedSplit } from "../ml/split.ts";
import { type TrainedModel, type TrainResult, writeArtefacts } from "./artefacts.ts";
import { checkBothClasses, checkCategories, checkLeakage } from "./checks.ts";
import { currentGitCommit, fileSha256, trainerVersion } from "./provenance.ts";
import { renderReport, type ShapSample } from "./report/report.ts";
import {
  checkOptions,
  DEFAULT_FOLDS,
  DEFAULT_NAME,
  DEFAULT_RISK_BANDS,
  DEFAULT_SEED,
  DEFAULT_TIME_BUDGET,
  fixedModel,
  HOLDOUT_FRACTION,
  type TrainOptions,
  type TrainProgress,
} from "./train-options.ts";

export type { TrainedModel, TrainResult } from "./artefacts.ts";

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
/** How the model was chosen when its hyper-parameters were given (metrics.json, lineage). */
const FIXED_SELECTION = "fixed hyper-parameters (no search)";
/** Rows explained for the report's SHAP summary. */
const SHAP_SAMPLE = 250;

/** One run's settings with their defaults applied, its clock, and where progress and warnings go. */
interface RunContext {
  options: TrainOptions;
  seed: number;
  name: string;
  riskBands: { medium: number; high: number };
  modelChoice: NonNullable<TrainOptions["model"]>;
  /** The one candidate fixed hyper-parameters make (`options.params`); absent when the search runs. */
  fixed?: Candidate;
  timeBudget: number;
  decisionParams: DecisionParams;
  startedAt: number;
  elapsedMs(): number;
  progress(phase: Exclude<TrainProgress["phase"], "search">, message: string): void;
  warn(message: string): void;
  warnings: string[];
}

function startRun(options: TrainOptions): RunContext {
  const startedAt = performance.now();
  const elapsedMs = () => performance.now() - startedAt;
  const warnings: string[] = [];
  const run: RunContext = {
    options,
    seed: options.seed ?? DEFAULT_SEED,
    name: options.name ?? DEFAULT_NAME,
    riskBands: options.riskBands ?? { ...DEFAULT_RISK_BANDS },
    modelChoice: options.model ?? "auto",
    timeBudget: options.timeBudget ?? DEFAULT_TIME_BUDGET,
    decisionParams: { ...DECISION_DEFAULTS, ...options.decision },
    startedAt,
    elapsedMs,
    progress: (phase, message) => options.onProgress?.({ phase, message, elapsedMs: elapsedMs() }),
    warn: (message) => {
      warnings.push(message);
      options.onWarning?.(message);
    },
    warnings,
  };
  checkOptions({
    seed: run.seed,
    name: run.name,
    threshold: options.threshold,
    riskBands: run.riskBands,
    modelChoice: run.modelChoice,
    timeBudget: run.timeBudget,
    folds: options.folds,
  });
  const fixed = fixedModel(options, run.modelChoice, run.seed);
  return fixed ? { ...run, fixed } : run;
}

/**
 * Reads the CSV, reports data quality, runs AutoML (cross-validated search, optional ensemble),
 * calibrates on out-of-fold margins, refits the winner on all training rows, exports one ONNX graph,
 * checks ONNX/TS parity on the holdout, chooses the profit-optimal threshold and renders the report.
 * Everything stays in memory: `writeArtefacts` (or `trainToDirectory`) puts it on disk.
 */
export async function train(options: TrainOptions): Promise<TrainedModel> {
  const run = startRun(options);
  const data = await readData(run);
  const selection = await selectModels(run, data);
  const calibrated = calibrate(run, selection);
  const fitted = refit(run, data, selection, calibrated.calibration);
  const evaluated = await evaluate(run, data, fitted.model, calibrated.threshold);
  const described = await describe(run, data, selection, calibrated, fitted, evaluated);
  run.progress("report", "rendering report.html");
  const { yTest, pTest, metrics } = evaluated;
  const { cv, decision, threshold, calibration } = calibrated;
  const rows = described.rows;
  const deciles = liftTable(yTest, pTest);
  const seconds = run.elapsedMs() / 1000;
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
      timeBudget: run.timeBudget,
      folds: selection.folds,
      candidates: selection.search.evaluations.length,
      stoppedByBudget: selection.search.stoppedByBudget,
      slowdown: selection.search.slowdown,
      selection: run.fixed ? FIXED_SELECTION : "cv log loss (Platt-scaled out-of-fold margins)",
      winner: fitted.model.family,
      members: fitted.memberParams.map(({ params: _params, ...rest }) => rest),
    },
    parity: evaluated.parity,
    dataQuality: data.quality,
    seconds,
  };
  const report = renderReport({
    manifest: described.manifest,
    holdout: metrics,
    cv,
    rows,
    seconds,
    timeBudget: run.timeBudget,
    roc: rocCurve(yTest, pTest),
    pr: prCurve(yTest, pTest),
    reliability: reliabilityBins(yTest, pTest),
    deciles,
    decision: { ...decision, threshold, holdoutCurve: profitCurve(yTest, pTest, run.decisionParams) },
    calibration: { method: calibration.calibration.method, cv: calibration.cv },
    importance: described.importance,
    shap: shapSample(fitted.model, data.dataset, data.split.test, run.seed),
    quality: data.quality,
    runs: described.runs,
    parity: evaluated.parity,
    warnings: run.warnings,
  });
  return {
    artefacts: {
      onnx: evaluated.onnx,
      manifest: described.manifest,
      ...(described.explainerText ? { explainer: described.explainerText } : {}),
      metrics: metricsFile,
      runs: described.runs,
      report,
    },
    manifest: described.manifest,
    metrics,
    cv,
    parity: evaluated.parity,
    rows,
    warnings: run.warnings,
    runs: described.runs,
    dataQuality: data.quality,
    decision: { ...decision, threshold },
    seconds: run.elapsedMs() / 1000,
  };
}

/** `train`, then `writeArtefacts` into `out`: what `churn train` and the retraining worker run. */
export async function trainToDirectory(options: TrainOptions & { out: string }): Promise<TrainResult> {
  const startedAt = performance.now();
  const trained = await train(options);
  const written = await writeArtefacts(trained, options.out);
  const elapsedMs = performance.now() - startedAt;
  options.onProgress?.({ phase: "done", message: `wrote ${written.outDir}`, elapsedMs });
  // The run's time includes writing its files, as `churn train` has always reported it.
  return { ...written, seconds: elapsedMs / 1000 };
}

type LoadedData = Awaited<ReturnType<typeof readData>>;

/** The data set, its train/holdout split and the data-quality report; stops on leakage or one class. */
async function readData(run: RunContext) {
  const { options } = run;
  run.progress("load", `reading ${options.data}`);
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
  for (const w of dataset.warnings) run.warn(w);

  const split: Split = options.split
    ? keptRowsOf(await loadSplit(options.split, dataset.reading.rowsRead), dataset.sourceRows)
    : stratifiedSplit(dataset.target.y, run.seed, HOLDOUT_FRACTION);
  checkBothClasses(dataset.target.y, split.train, "training");
  checkBothClasses(dataset.target.y, split.test, "holdout");

  run.progress("quality", `checking ${dataset.rowCount} rows x ${dataset.features.length} features`);
  const quality = dataQuality(dataset, split.train, run.seed);
  for (const w of quality.warnings) run.warn(w);
  checkLeakage(quality, options.allowLeaky ?? false);
  return { dataset, split, quality, dataFingerprint };
}

type Selection = Awaited<ReturnType<typeof selectModels>>;

/** The cross-validated search and the members it keeps: the best single model or a weighted ensemble. */
async function selectModels(run: RunContext, { dataset, split }: LoadedData) {
  const { options, timeBudget, modelChoice, startedAt } = run;
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
    seed: run.seed,
    families,
    budgetMs: timeBudget * 1000,
    startedAt,
    overheadMs: overheadEstimateMs(dataset.rowCount),
    // Two fits at once hold two sets of encoded columns: past TWO_THREAD_CELLS that is what would push a
    // wide million-row file over 2 GB, so the search fits one at a time there.
    ...(dataset.rowCount * dataset.features.length > TWO_THREAD_CELLS ? { threads: 1 } : {}),
    maxMembers,
    bags: GBDT_BAGS,
    ...(run.fixed ? { fixed: run.fixed } : {}),
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
  run.progress(
    "ensemble",
    ensemble
      ? `ensemble of ${chosen.length} beats the best single model (CV log loss ${ensemble.score.toFixed(4)} vs ${bestSingle.score.toFixed(4)})`
      : `best: ${describeEvaluation(bestSingle)} (CV log loss ${bestSingle.score.toFixed(4)})`,
  );
  return { search, folds, ensemble, chosen, oof };
}

type Calibrated = ReturnType<typeof calibrate>;

/** Calibration on out-of-fold margins, the decision threshold and the cross-validation metrics. */
function calibrate(run: RunContext, { search, oof }: Selection) {
  const { options, decisionParams } = run;
  const calibration = selectCalibration(oof, search.y, search.fold, options.calibration ?? "auto");
  run.progress("calibrate", `calibration: ${calibration.calibration.method}`);
  // Business threshold and CV metrics use the cross-fitted calibrated out-of-fold probabilities.
  const decision = decide(search.y, calibration.crossFitted, decisionParams);
  const threshold = options.threshold ?? decision.threshold;
  const cv = {
    ...crossValidationMetrics(search.y, calibration.crossFitted, search.fold, threshold),
    expected_profit_per_customer: profitAt(search.y, calibration.crossFitted, decisionParams, threshold),
  };
  return { calibration, decision, threshold, cv };
}

type Fitted = ReturnType<typeof refit>;

/** The chosen members refitted on all training rows, composed with the calibration into one model. */
function refit(
  run: RunContext,
  { dataset, split }: LoadedData,
  { chosen }: Selection,
  calibration: Calibrated["calibration"],
) {
  run.progress("refit", `refitting ${chosen.length} model(s) on ${split.train.length} training rows`);
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
  return { members, memberParams, model };
}

type Evaluated = Awaited<ReturnType<typeof evaluate>>;

/** The ONNX graph, its parity with the TypeScript predictor, and the holdout metrics. */
async function evaluate(
  run: RunContext,
  { dataset, split }: LoadedData,
  model: ChurnModel,
  threshold: number,
) {
  run.progress("export", "exporting ONNX and checking parity on the holdout");
  const onnx = model.toOnnx();
  const holdout = batchFromDataset(dataset, split.test);
  // onnxruntime holds a run's whole intermediate tensors; parity on up to PARITY_ROWS holdout rows is the
  // same evidence without a gigabyte-sized run on a million-row file.
  const parity = await checkParity(model, onnx, sampleBatch(dataset, split.test, PARITY_ROWS, run.seed));
  const yTest = Uint8Array.from(split.test, (r) => dataset.target.y[r]!);
  const pTest = model.predictProbability(holdout);
  const metrics = {
    ...(evaluationMetrics(yTest, pTest, threshold) as HoldoutMetrics & Record<string, number>),
    ece_noise_floor: eceNoiseFloor(pTest, 200, run.seed),
    expected_profit_per_customer: profitAt(yTest, pTest, run.decisionParams, threshold),
  };
  return { onnx, parity, yTest, pTest, metrics };
}

/** The manifest (with drift reference, importance and lineage), the explainer package and the runs. */
async function describe(
  run: RunContext,
  { dataset, split, dataFingerprint }: LoadedData,
  selection: Selection,
  { calibration, decision, threshold, cv }: Calibrated,
  { members, memberParams, model }: Fitted,
  { onnx, metrics }: Evaluated,
) {
  const { options, seed } = run;
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
  const runs = runsOf(selection.search.evaluations, selection.search.y, selection.ensemble, selection.chosen);

  const manifest = manifestSchema.parse({
    schemaVersion: 1,
    name: run.name,
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
    riskBands: run.riskBands,
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
        model: run.modelChoice,
        members: memberParams.map(({ params, ...rest }) => ({ ...rest, params: leanParams(params) })),
        calibration: calibration.calibration,
        split: options.split ? "file" : `stratified ${1 - HOLDOUT_FRACTION}/${HOLDOUT_FRACTION}`,
        folds: selection.folds,
        timeBudget: run.timeBudget,
        candidates: selection.search.evaluations.length,
        selection: run.fixed ? FIXED_SELECTION : "CV log loss after Platt scaling of out-of-fold margins",
        dropped: dataset.dropped.map((d) => d.column),
        ...(options.threshold !== undefined ? { thresholdOverride: options.threshold } : {}),
      },
      seed,
      ...(gitCommit ? { gitCommit } : {}),
      rows,
    },
  } satisfies Manifest);
  return { manifest, importance, explainerText, rows, runs };
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
