import { ChurnError } from "#shared/errors.ts";
import { exportLogisticOnnx } from "../export/single-model.ts";
import { chunked, type FeatureBatch } from "../features.ts";
import {
  DEFAULT_MAX_CATEGORIES,
  encode,
  encodedColumnFeatures,
  encodeTrainingRows,
  featureSpecs,
  type Preprocessor,
} from "../preprocess.ts";
import type { Model, ModelTrainer, TrainingSet } from "./model.ts";

const f32 = Math.fround;

/**
 * Objective: Σ_i logloss_i + ½·l2·‖w‖² + l1·‖w‖₁ on standardised / one-hot / step features, intercept
 * unpenalised. l2 = 1/C matches scikit-learn's LogisticRegression(C); l2 > 0 keeps one-hot blocks (which
 * are collinear with the intercept) well-conditioned, so Newton's method always has a unique optimum.
 */
export interface LogisticParams {
  l2: number;
  /** Lasso penalty; > 0 switches to proximal Newton steps and zeroes out weak columns. */
  l1: number;
  /** Quantile bins per numeric feature, encoded as step columns next to the linear term (0 = linear only). */
  numericBins: number;
  maxIterations: number;
  /** Stop when the largest parameter step falls below this. */
  tolerance: number;
  maxCategories: number;
}

export const LOGISTIC_DEFAULTS: LogisticParams = {
  l2: 1,
  l1: 0,
  numericBins: 0,
  maxIterations: 100,
  tolerance: 1e-8,
  maxCategories: DEFAULT_MAX_CATEGORIES,
};

export interface LogisticFit {
  /** float32-rounded so the TS predictor and the ONNX graph use identical constants. */
  weights: Float32Array;
  intercept: number;
  iterations: number;
  converged: boolean;
  objective: number;
}

/** Everything the predictor and the ONNX exporter need; plain data. */
export interface LogisticModelData {
  preprocessor: Preprocessor;
  weights: Float32Array;
  intercept: number;
  /** Per feature: Σ_k w_k·mean_train(z_k) over its encoded columns, float32. */
  featureOffsets: Float32Array;
  /** intercept + Σ featureOffsets, float32. */
  baseMargin: number;
}

export const logisticTrainer: ModelTrainer<LogisticParams> = {
  family: "logistic_regression",
  defaults: LOGISTIC_DEFAULTS,
  fit: (set, params) => fitLogisticModel(set, params),
};

/** Fits preprocessing and weights on the set's rows. */
export function fitLogisticModel(set: TrainingSet, params: LogisticParams): LogisticModel {
  const { pre, x, y, rows } = encodeTrainingRows(set.dataset, set.rows, {
    maxCategories: params.maxCategories,
    numericBins: params.numericBins,
  });
  const fit = fitLogistic(x, rows.length, pre.width, y, params);
  const data = logisticModelData(pre, fit, x, rows.length);
  return createLogisticModel(data, {
    ...params,
    iterations: fit.iterations,
    converged: fit.converged,
  });
}

/** Centres contributions on the training means of the encoded columns (exact linear SHAP). */
export function logisticModelData(
  pre: Preprocessor,
  fit: LogisticFit,
  trainEncoded: Float32Array,
  rows: number,
): LogisticModelData {
  const width = pre.width;
  const means = new Float64Array(width);
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < width; k++) means[k]! += trainEncoded[i * width + k]!;
  }
  for (let k = 0; k < width; k++) means[k]! /= Math.max(rows, 1);
  const columnFeature = encodedColumnFeatures(pre);
  const sums = new Float64Array(pre.features.length);
  for (let k = 0; k < width; k++) sums[columnFeature[k]!]! += fit.weights[k]! * means[k]!;
  const featureOffsets = Float32Array.from(sums);
  let base = fit.intercept;
  for (const offset of featureOffsets) base += offset;
  return {
    preprocessor: pre,
    weights: fit.weights,
    intercept: fit.intercept,
    featureOffsets,
    baseMargin: f32(base),
  };
}

/** Multiplies weights, offsets and intercept by `w` (float32): one member of a weighted ensemble. */
export function scaleLogisticData(data: LogisticModelData, w: number): LogisticModelData {
  const featureOffsets = data.featureOffsets.map((o) => o * w);
  let base = f32(data.intercept * w);
  for (const o of featureOffsets) base += o;
  return {
    preprocessor: data.preprocessor,
    weights: data.weights.map((v) => v * w),
    intercept: f32(data.intercept * w),
    featureOffsets,
    baseMargin: f32(base),
  };
}

/**
 * Per-feature contributions, rows x features: the encoded row times the block weights (MatMul in the
 * graph), minus the feature's offset, in float32. Without step columns each feature has one non-zero
 * product per row, so this is bit-for-bit the graph's arithmetic; with them, summation order may differ
 * in the last bit.
 */
export function logisticContributions(data: LogisticModelData, batch: FeatureBatch): Float32Array {
  const pre = data.preprocessor;
  const nFeatures = pre.features.length;
  const columnFeature = encodedColumnFeatures(pre);
  const z = encode(pre, batch);
  const out = new Float32Array(batch.rows * nFeatures);
  const terms = new Float32Array(nFeatures);
  for (let i = 0; i < batch.rows; i++) {
    const row = i * pre.width;
    terms.fill(0);
    for (let k = 0; k < pre.width; k++) {
      const zk = z[row + k]!;
      if (zk !== 0) terms[columnFeature[k]!] = terms[columnFeature[k]!]! + f32(zk * data.weights[k]!);
    }
    for (let j = 0; j < nFeatures; j++) out[i * nFeatures + j] = f32(terms[j]! - data.featureOffsets[j]!);
  }
  return out;
}

export interface LogisticModel extends Model {
  readonly family: "logistic_regression";
  readonly data: LogisticModelData;
}

export function createLogisticModel(data: LogisticModelData, params: Record<string, unknown>): LogisticModel {
  const pre = data.preprocessor;
  const nFeatures = pre.features.length;
  const contributions = chunked((batch) => logisticContributions(data, batch), nFeatures);

  const predictMargin = chunked((batch: FeatureBatch): Float32Array => {
    const phi = contributions(batch);
    const out = new Float32Array(batch.rows);
    for (let i = 0; i < batch.rows; i++) {
      let sum = 0;
      for (let j = 0; j < nFeatures; j++) sum += phi[i * nFeatures + j]!;
      out[i] = f32(f32(sum) + data.baseMargin);
    }
    return out;
  });

  return {
    family: "logistic_regression",
    data,
    features: featureSpecs(pre),
    baseMargin: data.baseMargin,
    params,
    predictMargin,
    contributions,
    toOnnx: () => exportLogisticOnnx(data),
  };
}

/**
 * Newton's method (IRLS) with a dense Hessian and a backtracking line search. Rows are stored sparsely
 * because one-hot columns dominate, which makes each Hessian pass cost rows x nnz² rather than rows x width².
 */
export function fitLogistic(
  x: Float32Array,
  rows: number,
  width: number,
  y: ArrayLike<number>,
  params: LogisticParams,
): LogisticFit {
  if (!(params.l2 > 0)) throw new ChurnError("INVALID_REQUEST", `l2 must be > 0, got ${params.l2}`);
  const l1 = params.l1 ?? 0;
  if (!(l1 >= 0)) throw new ChurnError("INVALID_REQUEST", `l1 must be >= 0, got ${l1}`);
  let positives = 0;
  for (let i = 0; i < rows; i++) positives += y[i]! ? 1 : 0;
  if (positives === 0 || positives === rows) {
    throw new ChurnError("INVALID_REQUEST", "Training rows must contain both target classes");
  }

  // Sparse rows: column indices and values, parameter index = column + 1 (0 is the intercept).
  const rowStart = new Int32Array(rows + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < width; k++) {
      const v = x[i * width + k]!;
      if (v !== 0) {
        cols.push(k + 1);
        vals.push(v);
      }
    }
    rowStart[i + 1] = cols.length;
  }

  const p = width + 1;
  const theta = new Float64Array(p);
  theta[0] = Math.log(positives / (rows - positives));
  const margins = new Float64Array(rows);

  const computeMargins = (t: Float64Array, out: Float64Array) => {
    for (let i = 0; i < rows; i++) {
      let m = t[0]!;
      for (let e = rowStart[i]!; e < rowStart[i + 1]!; e++) m += t[cols[e]!]! * vals[e]!;
      out[i] = m;
    }
  };
  const objective = (t: Float64Array, m: Float64Array): number => {
    let loss = 0;
    for (let i = 0; i < rows; i++) loss += softplus(m[i]!) - (y[i]! ? m[i]! : 0);
    let penalty = 0;
    let lasso = 0;
    for (let k = 1; k < p; k++) {
      penalty += t[k]! ** 2;
      lasso += Math.abs(t[k]!);
    }
    return loss + 0.5 * params.l2 * penalty + l1 * lasso;
  };

  computeMargins(theta, margins);
  let current = objective(theta, margins);
  let iterations = 0;
  let converged = false;
  const trial = new Float64Array(p);
  const trialMargins = new Float64Array(rows);

  while (iterations < params.maxIterations) {
    iterations++;
    const grad = new Float64Array(p);
    const hess = new Float64Array(p * p);
    for (let i = 0; i < rows; i++) {
      const prob = sigmoid64(margins[i]!);
      const r = prob - (y[i]! ? 1 : 0);
      const s = Math.max(prob * (1 - prob), 1e-12);
      grad[0]! += r;
      hess[0]! += s;
      for (let e = rowStart[i]!; e < rowStart[i + 1]!; e++) {
        const a = cols[e]!;
        const va = vals[e]!;
        grad[a]! += r * va;
        hess[a]! += s * va; // row 0 (intercept) x column a
        for (let f = e; f < rowStart[i + 1]!; f++) hess[a * p + cols[f]!]! += s * va * vals[f]!;
      }
    }
    for (let k = 1; k < p; k++) {
      grad[k]! += params.l2 * theta[k]!;
      hess[k * p + k]! += params.l2;
    }
    // Only the upper triangle was accumulated; mirror it.
    for (let a = 0; a < p; a++) for (let b = a + 1; b < p; b++) hess[b * p + a] = hess[a * p + b]!;

    // `step` is subtracted from theta. With l1 the step comes from the lasso-penalised quadratic model and
    // `slope` is that model's predicted decrease, which is what the Armijo test needs.
    const step = l1 > 0 ? proximalNewtonStep(hess, grad, theta, l1, p) : solveSymmetric(hess, grad, p);
    let slope = 0;
    for (let k = 0; k < p; k++) slope += grad[k]! * step[k]!;
    if (l1 > 0) {
      let before = 0;
      let after = 0;
      for (let k = 1; k < p; k++) {
        before += Math.abs(theta[k]!);
        after += Math.abs(theta[k]! - step[k]!);
      }
      slope -= l1 * (after - before);
    }

    let t = 1;
    let next = current;
    for (let halvings = 0; halvings < 40; halvings++) {
      for (let k = 0; k < p; k++) trial[k] = theta[k]! - t * step[k]!;
      computeMargins(trial, trialMargins);
      next = objective(trial, trialMargins);
      if (next <= current - 1e-4 * t * slope) break;
      t /= 2;
    }
    let largest = 0;
    for (let k = 0; k < p; k++) largest = Math.max(largest, Math.abs(t * step[k]!));
    if (next <= current) {
      theta.set(trial);
      margins.set(trialMargins);
      current = next;
    }
    if (largest < params.tolerance || slope < 1e-20) {
      converged = true;
      break;
    }
  }

  return {
    weights: Float32Array.from(theta.subarray(1)),
    intercept: f32(theta[0]!),
    iterations,
    converged,
    objective: current,
  };
}

/**
 * Minimises g·d + ½ dᵀHd + l1·Σ_{k≥1} |θ_k + d_k| by cyclic coordinate descent (the inner solver of
 * glmnet / newGLMNET), keeping H·d up to date; returns −d so callers subtract it like a Newton step.
 */
function proximalNewtonStep(
  h: Float64Array,
  g: Float64Array,
  theta: Float64Array,
  l1: number,
  n: number,
): Float64Array {
  const d = new Float64Array(n);
  const hd = new Float64Array(n);
  for (let sweep = 0; sweep < 200; sweep++) {
    let largest = 0;
    for (let k = 0; k < n; k++) {
      const a = h[k * n + k]!;
      if (!(a > 0)) continue;
      // Gradient of the quadratic model in d_k, without d_k's own curvature term.
      const b = g[k]! + hd[k]! - a * d[k]!;
      const unpenalised = theta[k]! - b / a;
      const target = k === 0 ? unpenalised : softThreshold(unpenalised, l1 / a);
      const change = target - theta[k]! - d[k]!;
      if (change === 0) continue;
      d[k]! += change;
      for (let j = 0; j < n; j++) hd[j]! += h[j * n + k]! * change;
      largest = Math.max(largest, Math.abs(change));
    }
    if (largest < 1e-10) break;
  }
  return d.map((v) => -v);
}

function softThreshold(x: number, t: number): number {
  return x > t ? x - t : x < -t ? x + t : 0;
}

function softplus(m: number): number {
  return m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m));
}

function sigmoid64(m: number): number {
  return m >= 0 ? 1 / (1 + Math.exp(-m)) : Math.exp(m) / (1 + Math.exp(m));
}

/** Solves H·s = g for symmetric positive-definite H by Cholesky, adding a little jitter if needed. */
function solveSymmetric(h: Float64Array, g: Float64Array, n: number): Float64Array {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += h[i * n + i]!;
  for (let attempt = 0, jitter = 0; attempt < 8; attempt++, jitter = (jitter || 1e-10) * 100) {
    const l = cholesky(h, n, (jitter * trace) / n);
    if (l) return choleskySolve(l, g, n);
  }
  throw new ChurnError("INTERNAL", "Logistic regression Hessian is not positive definite");
}

function cholesky(h: Float64Array, n: number, jitter: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = h[i * n + j]! + (i === j ? jitter : 0);
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(sum > 0)) return undefined;
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / l[j * n + j]!;
      }
    }
  }
  return l;
}

function choleskySolve(l: Float64Array, g: Float64Array, n: number): Float64Array {
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = g[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * n + k]! * z[k]!;
    z[i] = sum / l[i * n + i]!;
  }
  const s = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = z[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * s[k]!;
    s[i] = sum / l[i * n + i]!;
  }
  return s;
}
