import type { ExplainerPackage } from "#shared/explainer.ts";
import type { FeatureSpec, ModelFamily } from "#shared/manifest.ts";
import type { Dataset } from "../../data/dataset.ts";
import type { FeatureBatch } from "../features.ts";

/**
 * What every model (a logistic regression, a GBDT, or the calibrated composition the trainer ships)
 * provides. Inputs are raw feature batches, exactly what the exported ONNX graph takes, so parity checks
 * compare like with like. Margins are in logit space; the probability is sigmoid(margin) unless the model
 * calibrates it (`predictProbability`).
 */
export interface Model {
  readonly family: ModelFamily;
  /** Feature specs in the order of ONNX inputs, manifest `features` and contribution columns. */
  readonly features: FeatureSpec[];
  /** Margin of the "average" training row: baseMargin + Σ contributions = margin. */
  readonly baseMargin: number;
  /** Hyper-parameters and fit diagnostics recorded in the manifest's lineage. */
  readonly params: Record<string, unknown>;
  predictMargin(batch: FeatureBatch): Float32Array;
  /** Per-feature margin contributions, rows x features, row-major. */
  contributions(batch: FeatureBatch): Float32Array;
  /** Serialized ONNX graph with inputs named after features and outputs `probability`, `margin`, maybe `contributions`. */
  toOnnx(): Uint8Array;
  /** The graph's (calibrated) probability; sigmoid(margin) when absent. */
  predictProbability?(batch: FeatureBatch): Float32Array;
  /** TreeSHAP package explaining the margin, for models whose graph has no `contributions` output. */
  readonly explainer?: ExplainerPackage;
}

/** Rows of a dataset used for fitting. */
export interface TrainingSet {
  dataset: Dataset;
  rows: readonly number[];
}

/** A model family the trainer can fit; new families register one of these. */
export interface ModelTrainer<Params> {
  readonly family: ModelFamily;
  readonly defaults: Params;
  fit(set: TrainingSet, params: Params): Model;
}

export function sigmoid(margin: number): number {
  return margin >= 0 ? 1 / (1 + Math.exp(-margin)) : Math.exp(margin) / (1 + Math.exp(margin));
}

export function predictProbability(model: Model, batch: FeatureBatch): Float32Array {
  return model.predictProbability ? model.predictProbability(batch) : model.predictMargin(batch).map(sigmoid);
}
