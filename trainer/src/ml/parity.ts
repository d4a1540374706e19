import * as ort from "onnxruntime-web";
import { ChurnError } from "#shared/errors.ts";
import { graphInputOf } from "#shared/manifest.ts";
import { createExplainer } from "#shared/model-runtime/explainer.ts";
import type { FeatureBatch } from "./features.ts";
import { type Model, predictProbability } from "./models/model.ts";

export const PARITY_TOLERANCE = 1e-5;

/** The graph's outputs for a batch; `margin` and `contributions` only when the graph has them. */
export interface OnnxOutputs {
  probability: Float32Array;
  margin?: Float32Array;
  contributions?: Float32Array;
}

export interface ParityReport {
  rows: number;
  maxProbabilityDiff: number;
  /** Graph margin vs the TS predictor's, when the graph outputs `margin` (relative beyond |1|, see maxScaledDiff). */
  maxMarginDiff?: number;
  /** Graph contributions vs the TS predictor's, when the graph outputs `contributions`. */
  maxContributionDiff?: number;
  /** |explainer baseMargin + Σ contributions − graph margin|, when the model ships an explainer. */
  maxAdditivityDiff?: number;
  maxDiff: number;
}

// Single-threaded wasm: Node has no cross-origin isolation story to care about, and workers would only
// add start-up time for the small batches scored here.
ort.env.wasm.numThreads = 1;

/**
 * Feeds for a session: one [N,1] tensor per feature, taken from the batch by the feature's name and fed to
 * its graph input. Without `features`, each graph input is taken from the batch column of the same name.
 */
export function onnxFeeds(
  inputNames: readonly string[],
  batch: FeatureBatch,
  features?: readonly { name: string; input?: string | undefined }[],
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const columns = features ?? inputNames.map((name) => ({ name }));
  for (const feature of columns) {
    const values = batch.values[feature.name];
    const input = graphInputOf(feature);
    if (values === undefined)
      throw new ChurnError("INVALID_MODEL", `ONNX input "${input}" has no feature column`);
    feeds[input] =
      values instanceof Float32Array
        ? new ort.Tensor("float32", values, [batch.rows, 1])
        : new ort.Tensor("string", values, [batch.rows, 1]);
  }
  return feeds;
}

/** Scores a batch with onnxruntime-web (the same runtime the edge uses). */
export async function runOnnx(
  bytes: Uint8Array,
  batch: FeatureBatch,
  features?: readonly { name: string; input?: string | undefined }[],
): Promise<OnnxOutputs> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run(onnxFeeds(session.inputNames, batch, features));
    const tensor = (name: string) => result[name]?.data as Float32Array | undefined;
    const probability = tensor("probability");
    if (!probability) throw new ChurnError("INVALID_MODEL", "ONNX model must output `probability`");
    const margin = tensor("margin");
    const contributions = tensor("contributions");
    return { probability, ...(margin ? { margin } : {}), ...(contributions ? { contributions } : {}) };
  } finally {
    await session.release();
  }
}

/**
 * Runs the exported graph and the TS predictor on the same rows and compares what the graph outputs:
 * the probability always, the margin and contributions when present. A model with an explainer package
 * (trees) is also checked for additivity: its baseMargin + Σ contributions must reproduce the graph's
 * margin. Throws INVALID_MODEL beyond `tolerance` anywhere.
 */
export async function checkParity(
  model: Model,
  bytes: Uint8Array,
  batch: FeatureBatch,
  tolerance = PARITY_TOLERANCE,
): Promise<ParityReport> {
  const onnx = await runOnnx(bytes, batch, model.features);
  const width = model.features.length;
  const shapeError = (what: string, got: number, want: number) =>
    new ChurnError("INVALID_MODEL", `ONNX output shapes differ: ${what} has ${got} values, expected ${want}`);
  if (onnx.probability.length !== batch.rows)
    throw shapeError("probability", onnx.probability.length, batch.rows);

  const maxProbabilityDiff = maxAbsDiff(onnx.probability, predictProbability(model, batch));
  const report: ParityReport = { rows: batch.rows, maxProbabilityDiff, maxDiff: maxProbabilityDiff };
  if (onnx.margin) {
    if (onnx.margin.length !== batch.rows) throw shapeError("margin", onnx.margin.length, batch.rows);
    report.maxMarginDiff = maxScaledDiff(onnx.margin, model.predictMargin(batch));
  }
  if (onnx.contributions) {
    const want = batch.rows * width;
    if (onnx.contributions.length !== want)
      throw shapeError("contributions", onnx.contributions.length, want);
    report.maxContributionDiff = maxScaledDiff(onnx.contributions, model.contributions(batch));
  }
  if (model.explainer && onnx.margin) {
    const explainer = createExplainer(model.explainer);
    const columns = model.explainer.features.map((f) => batch.values[f.name]!);
    const { contributions } = explainer.explain(columns, batch.rows);
    const explained = new Float64Array(batch.rows);
    for (let r = 0; r < batch.rows; r++) {
      let sum = model.explainer.baseMargin;
      for (let j = 0; j < width; j++) sum += contributions[r * width + j]!;
      explained[r] = sum;
    }
    report.maxAdditivityDiff = maxScaledDiff(onnx.margin, explained);
  }
  report.maxDiff = Math.max(
    maxProbabilityDiff,
    report.maxMarginDiff ?? 0,
    report.maxContributionDiff ?? 0,
    report.maxAdditivityDiff ?? 0,
  );
  if (!(report.maxDiff <= tolerance)) {
    const parts = [
      `probability ${maxProbabilityDiff.toExponential(3)}`,
      report.maxMarginDiff !== undefined ? `margin ${report.maxMarginDiff.toExponential(3)}` : "",
      report.maxContributionDiff !== undefined
        ? `contributions ${report.maxContributionDiff.toExponential(3)}`
        : "",
      report.maxAdditivityDiff !== undefined
        ? `explainer additivity ${report.maxAdditivityDiff.toExponential(3)}`
        : "",
    ].filter((p) => p !== "");
    throw new ChurnError(
      "INVALID_MODEL",
      `ONNX parity check failed: max abs diff ${report.maxDiff.toExponential(3)} (${parts.join(", ")}) exceeds ${tolerance}`,
    );
  }
  return report;
}

/**
 * Largest |a − b| / max(1, |b|): absolute for margins and contributions of ordinary size (churn margins
 * stay within ±10, where float32 resolves 1e-6), relative for the huge ones extreme inputs produce, whose
 * float32 spacing alone exceeds any absolute tolerance.
 */
export function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!));
    if (!(d <= max)) max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return max;
}

/** Largest |a - b|; NaN anywhere counts as an infinite difference. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return max;
}
