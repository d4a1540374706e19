import type { ExplainerFeature, ExplainerPackage } from "#shared/explainer.ts";
import { createExplainer, type RawColumns } from "#shared/model-runtime/explainer.ts";
import { createExplainerPackage } from "../../explain/explainer-writer.ts";
import { exportGbdtOnnx } from "../../export/single-model.ts";
import {
  batchFromDataset,
  categoricalInput,
  chunked,
  type FeatureBatch,
  numericInput,
} from "../../features.ts";
import { featureSpecs, fitPreprocessor, type Preprocessor } from "../../preprocess.ts";
import { stratifiedSplit } from "../../split.ts";
import type { Model, ModelTrainer, TrainingSet } from "../model.ts";
import { trainBooster } from "./booster.ts";
import { encodeForTrees, treeColumns } from "./encoding.ts";
import { checkGbdtParams, GBDT_DEFAULTS, type GbdtParams } from "./params.ts";
import { predictMargins, type Tree } from "./tree.ts";

/** Everything the predictor, the ONNX exporter and the explainer need; plain data. */
export interface GbdtModelData {
  preprocessor: Preprocessor;
  trees: Tree[];
  /** float32 margin before any tree. */
  baseScore: number;
}

export interface FeatureImportance {
  feature: string;
  /** Summed loss reduction of the feature's splits (one-hot columns summed into their feature). */
  gain: number;
  splits: number;
}

export interface GbdtModel extends Model {
  /** Boosted trees, or a random forest (GbdtParams.forest): the same trees, graph and explainer. */
  readonly family: "gbdt" | "random_forest";
  readonly data: GbdtModelData;
  /** JSON-ready TreeSHAP package: ship it beside the ONNX graph to explain predictions at the edge. */
  readonly explainer: ExplainerPackage;
  /** Features by descending gain. */
  readonly importance: FeatureImportance[];
}

export const gbdtTrainer: ModelTrainer<GbdtParams> = {
  family: "gbdt",
  defaults: GBDT_DEFAULTS,
  fit: (set, params) => fitGbdt(set, params),
};

/**
 * Fits gradient-boosted trees. With early stopping, a stratified `validationFraction` of the rows (or
 * the given `validationRows`) is held out to choose the number of trees; the rest fit them, and with
 * `refit` that many trees are then fitted again on all rows.
 */
export function fitGbdt(
  set: TrainingSet,
  params: GbdtParams,
  options: { validationRows?: readonly number[]; stopAt?: number } = {},
): GbdtModel {
  checkGbdtParams(params);
  const { dataset } = set;
  let fitRows = set.rows;
  let validationRows = options.validationRows;
  if (!validationRows && params.earlyStoppingRounds > 0) {
    const y = Uint8Array.from(set.rows, (r) => dataset.target.y[r]!);
    const split = stratifiedSplit(y, params.seed, params.validationFraction);
    fitRows = split.train.map((i) => set.rows[i]!);
    validationRows = split.test.map((i) => set.rows[i]!);
  }

  const pre = fitPreprocessor(dataset, set.rows, { maxCategories: params.maxCategories });
  const layout = treeColumns(pre);
  const design = (rows: readonly number[]) => ({
    columns: encodeForTrees(pre, batchFromDataset(dataset, rows)),
    y: Uint8Array.from(rows, (r) => dataset.target.y[r]!),
  });
  const stopAt = options.stopAt !== undefined ? { stopAt: options.stopAt } : {};
  const fit = trainBooster(design(fitRows), params, {
    indicator: layout.indicator,
    ...(validationRows ? { validation: design(validationRows) } : {}),
    ...stopAt,
  });
  const refit =
    params.refit && validationRows && !options.validationRows
      ? trainBooster(
          design(set.rows),
          { ...params, rounds: fit.trees.length, earlyStoppingRounds: 0 },
          {
            indicator: layout.indicator,
            ...stopAt,
          },
        )
      : undefined;
  const final = refit ?? fit;

  const bestLoss = fit.validationLoss.length > 0 ? fit.validationLoss[fit.trees.length - 1] : undefined;
  return createGbdtModel(
    { preprocessor: pre, trees: final.trees, baseScore: final.baseScore },
    {
      ...params,
      trees: final.trees.length,
      roundsRun: fit.roundsRun,
      fitRows: refit ? set.rows.length : fitRows.length,
      ...(validationRows ? { validationRows: validationRows.length } : {}),
      ...(bestLoss !== undefined ? { validationLogLoss: bestLoss } : {}),
    },
  );
}

/**
 * Seed bagging: one model whose margin is the mean of the models' margins (every leaf value and the base
 * score scaled by 1/n). The models must share a preprocessor, i.e. be fitted on the same rows.
 */
export function averageGbdtModels(models: readonly GbdtModel[], params: Record<string, unknown>): GbdtModel {
  if (models.length === 1) return models[0]!;
  const share = 1 / models.length;
  const trees: Tree[] = [];
  let baseScore = 0;
  for (const { data } of models) {
    baseScore += share * data.baseScore;
    for (const t of data.trees) {
      trees.push({ ...t, value: t.value.map((v) => v * share), gain: t.gain.map((g) => g * share) });
    }
  }
  return createGbdtModel(
    { preprocessor: models[0]!.data.preprocessor, trees, baseScore: Math.fround(baseScore) },
    { ...params, trees: trees.length },
  );
}

export function createGbdtModel(data: GbdtModelData, params: Record<string, unknown>): GbdtModel {
  const pre = data.preprocessor;
  const layout = treeColumns(pre);
  const explainerPackage = createExplainerPackage({
    features: explainerFeatures(pre),
    columns: layout.columns,
    baseScore: data.baseScore,
    trees: data.trees.map((t) => ({ ...t, feature: t.column })),
  });
  const explainer = createExplainer(explainerPackage);
  const importance = featureImportance(
    data,
    layout.columns.map((c) => c.feature),
  );

  const rawColumns = (batch: FeatureBatch): RawColumns =>
    pre.features.map((f) =>
      f.kind === "numeric" ? numericInput(batch, f.name) : categoricalInput(batch, f.name),
    );

  return {
    family: params["forest"] === true ? "random_forest" : "gbdt",
    features: featureSpecs(pre),
    baseMargin: explainerPackage.baseMargin,
    params: { ...params, importance },
    data,
    explainer: explainerPackage,
    importance,
    predictMargin: chunked((batch) =>
      predictMargins(data.trees, data.baseScore, encodeForTrees(pre, batch), batch.rows),
    ),
    contributions: chunked(
      (batch) => Float32Array.from(explainer.explain(rawColumns(batch), batch.rows).contributions),
      pre.features.length,
    ),
    toOnnx: () => exportGbdtOnnx(data),
  };
}

/** The explainer's view of the raw features: names, kinds and (for categorical ones) kept categories. */
export function explainerFeatures(pre: Preprocessor): ExplainerFeature[] {
  return pre.features.map((f) =>
    f.kind === "numeric"
      ? { name: f.name, type: "numeric" }
      : { name: f.name, type: "categorical", categories: f.categories },
  );
}

export function featureImportance(
  data: GbdtModelData,
  columnFeature: readonly number[],
): FeatureImportance[] {
  const out = data.preprocessor.features.map((f) => ({ feature: f.name, gain: 0, splits: 0 }));
  for (const tree of data.trees) {
    for (let n = 0; n < tree.column.length; n++) {
      const c = tree.column[n]!;
      if (c < 0) continue;
      const entry = out[columnFeature[c]!]!;
      entry.gain += tree.gain[n]!;
      entry.splits++;
    }
  }
  return out.sort((a, b) => b.gain - a.gain);
}
