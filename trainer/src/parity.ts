import * as ort from "onnxruntime-web";
import { ChurnError } from "../../shared/src/errors.ts";
import type { FeatureBatch } from "./features.ts";
import { type Model, sigmoid } from "./models/model.ts";

export const PARITY_TOLERANCE = 1e-5;

export interface OnnxOutputs {
  probability: Float32Array;
  contributions: Float32Array;
}

export interface ParityReport {
  rows: number;
  maxProbabilityDiff: number;
  maxContributionDiff: number;
  maxDiff: number;
}

// Single-threaded wasm: Node has no cross-origin isolation story to care about, and workers would only
// add start-up time for the small batches scored here.
ort.env.wasm.numThreads = 1;

/** Scores a batch with onnxruntime-web (the same runtime the edge uses). */
export async function runOnnx(bytes: Uint8Array, batch: FeatureBatch): Promise<OnnxOutputs> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of session.inputNames) {
      const values = batch.values[name];
      if (values === undefined)
        throw new ChurnError("INVALID_MODEL", `ONNX input "${name}" has no feature column`);
      feeds[name] =
        values instanceof Float32Array
          ? new ort.Tensor("float32", values, [batch.rows, 1])
          : new ort.Tensor("string", values, [batch.rows, 1]);
    }
    const result = await session.run(feeds);
    const probability = result["probability"];
    const contributions = result["contributions"];
    if (!probability || !contributions) {
      throw new ChurnError("INVALID_MODEL", "ONNX model must output `probability` and `contributions`");
    }
    return {
      probability: probability.data as Float32Array,
      contributions: contributions.data as Float32Array,
    };
  } finally {
    await session.release();
  }
}

/**
 * Runs the exported graph and the TS predictor on the same rows; throws INVALID_MODEL if probabilities or
 * contributions differ by more than `tolerance` anywhere.
 */
export async function checkParity(
  model: Model,
  bytes: Uint8Array,
  batch: FeatureBatch,
  tolerance = PARITY_TOLERANCE,
): Promise<ParityReport> {
  const onnx = await runOnnx(bytes, batch);
  const margins = model.predictMargin(batch);
  const contributions = model.contributions(batch);
  const width = model.features.length;
  if (onnx.probability.length !== batch.rows || onnx.contributions.length !== batch.rows * width) {
    throw new ChurnError(
      "INVALID_MODEL",
      `ONNX output shapes differ: probability ${onnx.probability.length} values, contributions ${onnx.contributions.length} values for ${batch.rows} rows x ${width} features`,
    );
  }
  const maxProbabilityDiff = maxAbsDiff(onnx.probability, Float64Array.from(margins, sigmoid));
  const maxContributionDiff = maxAbsDiff(onnx.contributions, contributions);
  const maxDiff = Math.max(maxProbabilityDiff, maxContributionDiff);
  if (!(maxDiff <= tolerance)) {
    throw new ChurnError(
      "INVALID_MODEL",
      `ONNX parity check failed: max abs diff ${maxDiff.toExponential(3)} (probability ${maxProbabilityDiff.toExponential(3)}, contributions ${maxContributionDiff.toExponential(3)}) exceeds ${tolerance}`,
    );
  }
  return { rows: batch.rows, maxProbabilityDiff, maxContributionDiff, maxDiff };
}

/** Largest |a - b|; NaN anywhere counts as an infinite difference. */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return max;
}
