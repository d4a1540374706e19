import type { FeatureSpec, ModelFamily } from "../../../shared/src/manifest.ts";
import type { Dataset } from "../dataset.ts";
import type { FeatureBatch } from "../features.ts";

/**
 * What every model family (logistic regression now, gradient boosting later) provides to the trainer.
 * Inputs are raw feature batches, exactly what the exported ONNX graph takes, so parity checks compare
 * like with like. Margins are in logit space; probability = sigmoid(margin).
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
  /** Serialized ONNX graph with inputs named after features and outputs `probability`, `contributions`. */
  toOnnx(): Uint8Array;
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
  return model.predictMargin(batch).map(sigmoid);
}
