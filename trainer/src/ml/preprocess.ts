import type { FeatureSpec } from "#shared/manifest.ts";
import type { Dataset } from "../data/dataset.ts";
import { batchFromDataset, categoricalInput, type FeatureBatch, numericInput } from "./features.ts";
import { evenlySpread } from "./split.ts";

const f32 = Math.fround;

/**
 * Impute NaN with the training mean, then standardise. Constants are float32, as in the ONNX graph.
 * With `steps`, the imputed value also feeds one 0/1 column per cut point, `x > step`: a "thermometer"
 * that lets a linear model learn a step-shaped effect (churn falls fast over the first months of tenure,
 * then flattens) without losing the plain linear term.
 */
export interface NumericEncoding {
  kind: "numeric";
  name: string;
  /** The ONNX input the feature is fed through. */
  input: string;
  mean: number;
  std: number;
  hadMissing: boolean;
  min: number;
  max: number;
  /** Ascending float32 cut points (training quantiles), or empty. */
  steps: number[];
}

/** One-hot over training categories (sorted); missing, rare-beyond-the-cap and unseen values encode as zeros. */
export interface CategoricalEncoding {
  kind: "categorical";
  name: string;
  input: string;
  categories: string[];
  hadMissing: boolean;
}

export type FeatureEncoding = NumericEncoding | CategoricalEncoding;

/**
 * Fitted preprocessing, plain data so the TS predictor and the ONNX exporter read the same numbers.
 * Encoded layout: every numeric feature's single column first (in feature order), then each categorical
 * feature's one-hot block (in feature order), then each numeric feature's step columns (in feature
 * order). `features` itself keeps the dataset's column order.
 */
export interface Preprocessor {
  features: FeatureEncoding[];
  width: number;
}

export interface PreprocessOptions {
  /** Most frequent categories kept per feature; the rest encode as zeros. */
  maxCategories?: number;
  /** Quantile bins per numeric feature for step columns (0 or 1 = none). */
  numericBins?: number;
}

/**
 * Most frequent levels one-hot encoded per categorical feature; the rest encode as zeros, with unseen and
 * missing values. Measured on a 747-level service area in 50,000 rows (`npm run bench:high-cardinality`,
 * docs/BENCHMARKS.md): more levels kept scored better each time (30, 100, 300, all), and the budget holds
 * since tree fits stop at it; 300 keeps the one-hot block, the manifest and the graph bounded.
 */
export const DEFAULT_MAX_CATEGORIES = 300;

export function fitPreprocessor(
  dataset: Dataset,
  trainRows: readonly number[],
  options: PreprocessOptions = {},
): Preprocessor {
  const maxCategories = options.maxCategories ?? DEFAULT_MAX_CATEGORIES;
  const numericBins = options.numericBins ?? 0;
  const features: FeatureEncoding[] = dataset.features.map((column) => {
    if (column.kind === "numeric") {
      let sum = 0;
      let count = 0;
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const r of trainRows) {
        const raw = column.values[r]!;
        if (Number.isNaN(raw)) continue;
        // The graph sees float32 inputs, so the mean is taken over those; the range stays in source units.
        sum += f32(raw);
        count++;
        if (raw < min) min = raw;
        if (raw > max) max = raw;
      }
      const mean = f32(count > 0 ? sum / count : 0);
      // Imputed cells sit at the mean, so they count towards n with zero deviation (impute, then scale).
      let squares = 0;
      for (const r of trainRows) {
        const x = f32(column.values[r]!);
        if (!Number.isNaN(x)) squares += (x - mean) ** 2;
      }
      const rawStd = f32(Math.sqrt(squares / Math.max(trainRows.length, 1)));
      const std = rawStd > 1e-12 && Number.isFinite(rawStd) ? rawStd : 1;
      return {
        kind: "numeric",
        name: column.name,
        input: column.input,
        mean,
        std,
        hadMissing: column.missing > 0,
        min: count > 0 ? min : 0,
        max: count > 0 ? max : 0,
        steps: numericBins > 1 ? quantileSteps(column.values, trainRows, numericBins) : [],
      };
    }
    const counts = new Map<string, number>();
    for (const r of trainRows) {
      const v = column.values[r]!;
      if (v !== "") counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const kept = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]))
      .slice(0, maxCategories)
      .map(([value]) => value)
      .sort(compareStrings);
    return {
      kind: "categorical",
      name: column.name,
      input: column.input,
      categories: kept,
      hadMissing: column.missing > 0,
    };
  });
  return { features, width: encodedWidth(features) };
}

/**
 * Cut points between `bins` equal-frequency bins of the float32 training values. Each is an actual data
 * value; repeats and the maximum (no value lies above it) are dropped, so a 0/1 column keeps one step.
 */
function quantileSteps(values: Float64Array, rows: readonly number[], bins: number): number[] {
  const present: number[] = [];
  for (const r of rows) {
    const x = values[r]!;
    if (!Number.isNaN(x)) present.push(f32(x));
  }
  if (present.length === 0) return [];
  present.sort((a, b) => a - b);
  const max = present[present.length - 1]!;
  const steps: number[] = [];
  for (let k = 1; k < bins; k++) {
    const cut = present[Math.min(present.length - 1, Math.floor((k * present.length) / bins))]!;
    if (cut < max && (steps.length === 0 || cut > steps[steps.length - 1]!)) steps.push(cut);
  }
  return steps;
}

/** Code-unit order, so the result never depends on the runtime's locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function encodedWidth(features: readonly FeatureEncoding[]): number {
  let width = 0;
  for (const f of features) width += f.kind === "numeric" ? 1 + f.steps.length : f.categories.length;
  return width;
}

/**
 * First encoded column and column count of each feature's main block (indexed like `pre.features`):
 * the standardised column of a numeric feature, the one-hot block of a categorical one. Step columns
 * are described by `stepBlocks`.
 */
export function encodedBlocks(pre: Preprocessor): { offset: number; size: number }[] {
  const blocks: { offset: number; size: number }[] = new Array(pre.features.length);
  let offset = 0;
  pre.features.forEach((f, j) => {
    if (f.kind === "numeric") blocks[j] = { offset: offset++, size: 1 };
  });
  pre.features.forEach((f, j) => {
    if (f.kind === "categorical") {
      blocks[j] = { offset, size: f.categories.length };
      offset += f.categories.length;
    }
  });
  return blocks;
}

/** First step column and step count of each numeric feature that has steps, after all main blocks. */
export function stepBlocks(pre: Preprocessor): { feature: number; offset: number; size: number }[] {
  let offset = 0;
  for (const f of pre.features) offset += f.kind === "numeric" ? 1 : f.categories.length;
  const out: { feature: number; offset: number; size: number }[] = [];
  pre.features.forEach((f, j) => {
    if (f.kind === "numeric" && f.steps.length > 0) {
      out.push({ feature: j, offset, size: f.steps.length });
      offset += f.steps.length;
    }
  });
  return out;
}

/** The raw feature (index into `pre.features`) behind every encoded column. */
export function encodedColumnFeatures(pre: Preprocessor): Int32Array {
  const out = new Int32Array(pre.width);
  encodedBlocks(pre).forEach(({ offset, size }, j) => {
    out.fill(j, offset, offset + size);
  });
  for (const { feature, offset, size } of stepBlocks(pre)) out.fill(feature, offset, offset + size);
  return out;
}

export function hasSteps(pre: Preprocessor): boolean {
  return pre.features.some((f) => f.kind === "numeric" && f.steps.length > 0);
}

/**
 * Encoded cells a dense fit may hold (float32: 128 MiB). Beyond it, models on this encoding fit on an
 * evenly spread subset of the rows: a million wide rows would need gigabytes, and at that size the tree
 * models, which read every row, lead the search anyway. Preprocessing is still fitted on every row.
 */
export const MAX_DENSE_CELLS = 32 * 1024 * 1024;

/**
 * Fits preprocessing on the training rows and encodes them (all of them, or an even subset within
 * MAX_DENSE_CELLS): what every model on this encoding (logistic regression, MLP) starts from. `x` is
 * `rows` x width, row-major; `y` those rows' labels.
 */
export function encodeTrainingRows(
  dataset: Dataset,
  rows: readonly number[],
  options: PreprocessOptions,
): { pre: Preprocessor; x: Float32Array; y: Uint8Array; rows: readonly number[] } {
  const pre = fitPreprocessor(dataset, rows, options);
  const limit = Math.max(1, Math.floor(MAX_DENSE_CELLS / pre.width));
  const used = evenlySpread(rows, limit);
  const x = encode(pre, batchFromDataset(dataset, used));
  const y = Uint8Array.from(used, (r) => dataset.target.y[r]!);
  return { pre, x, y, rows: used };
}

/** Encodes a batch to a row-major rows x width matrix using float32 arithmetic (mirrors the ONNX graph). */
export function encode(pre: Preprocessor, batch: FeatureBatch): Float32Array {
  const { width } = pre;
  const out = new Float32Array(batch.rows * width);
  const blocks = encodedBlocks(pre);
  const steps = new Map(stepBlocks(pre).map((b) => [b.feature, b.offset]));
  pre.features.forEach((feature, j) => {
    const { offset } = blocks[j]!;
    if (feature.kind === "numeric") {
      const x = numericInput(batch, feature.name);
      const stepOffset = steps.get(j);
      for (let i = 0; i < batch.rows; i++) {
        const value = Number.isNaN(x[i]!) ? feature.mean : x[i]!;
        out[i * width + offset] = f32(f32(value - feature.mean) / feature.std);
        if (stepOffset === undefined) continue;
        for (let k = 0; k < feature.steps.length; k++) {
          if (value > feature.steps[k]!) out[i * width + stepOffset + k] = 1;
        }
      }
      return;
    }
    const index = new Map(feature.categories.map((c, k) => [c, k]));
    const x = categoricalInput(batch, feature.name);
    for (let i = 0; i < batch.rows; i++) {
      const k = index.get(x[i]!);
      if (k !== undefined) out[i * width + offset + k] = 1;
    }
  });
  return out;
}

/** Manifest feature specs, in feature order; `input` only where the graph input is not the name itself. */
export function featureSpecs(pre: Preprocessor): FeatureSpec[] {
  return pre.features.map((f) => {
    const input = f.input !== f.name ? { input: f.input } : {};
    return f.kind === "numeric"
      ? { name: f.name, ...input, type: "numeric", required: !f.hadMissing, min: f.min, max: f.max }
      : { name: f.name, ...input, type: "categorical", required: !f.hadMissing, categories: f.categories };
  });
}
