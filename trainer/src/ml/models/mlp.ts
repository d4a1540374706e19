import { ChurnError } from "#shared/errors.ts";
import {
  compileReluNet,
  explainReluRow,
  preActivations,
  type ReluNet,
} from "#shared/model-runtime/deeplift.ts";
import { noCalibration } from "../export/calibration.ts";
import { exportChurnGraph } from "../export/churn-graph.ts";
import { chunked, type FeatureBatch } from "../features.ts";
import {
  DEFAULT_MAX_CATEGORIES,
  encode,
  encodedColumnFeatures,
  encodeTrainingRows,
  featureSpecs,
  type Preprocessor,
} from "../preprocess.ts";
import { createRandom, normal, shuffleInPlace } from "../random.ts";
import { stratifiedSplit } from "../split.ts";
import type { Model, ModelTrainer, TrainingSet } from "./model.ts";

const f32 = Math.fround;

/**
 * A one-hidden-layer ReLU network on the logistic regression's encoding (standardised numerics, one-hot
 * categories, optional step columns): margin = w2 · relu(W1 x + b1) + b2. Trained with Adam on
 * mini-batches, objective mean log loss + ½·l2·‖W‖²/n (biases unpenalised, as scikit-learn's alpha).
 */
export interface MlpParams {
  hidden: number;
  l2: number;
  learningRate: number;
  batchSize: number;
  /** Most epochs; early stopping usually ends sooner. */
  epochs: number;
  /** Epochs without a better validation loss before stopping (0 = train all `epochs`). */
  patience: number;
  validationFraction: number;
  numericBins: number;
  maxCategories: number;
  seed: number;
}

/** Tuned by cross-validation on the public churn data (training rows only). */
export const MLP_DEFAULTS: MlpParams = {
  hidden: 16,
  l2: 10,
  learningRate: 0.001,
  batchSize: 64,
  epochs: 200,
  patience: 12,
  validationFraction: 0.1,
  numericBins: 10,
  maxCategories: DEFAULT_MAX_CATEGORIES,
  seed: 42,
};

/** Plain data: what the predictor, the ONNX exporter and the explainer read. Weights are float32 values. */
export interface MlpModelData {
  preprocessor: Preprocessor;
  hidden: number;
  /** hidden x width, row-major. */
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: number;
  /** Mean encoded training row: the reference the contributions are measured from. */
  reference: Float32Array;
}

export interface MlpModel extends Model {
  readonly family: "mlp";
  readonly data: MlpModelData;
}

export const mlpTrainer: ModelTrainer<MlpParams> = {
  family: "mlp",
  defaults: MLP_DEFAULTS,
  fit: (set, params) => fitMlpModel(set, params),
};

/**
 * Fits preprocessing and the network on the set's rows. With `patience`, a stratified tenth is held out
 * and the weights of the epoch with the lowest validation log loss are kept; with `epochs` given and
 * patience 0 (the final refit, at the mean epoch count of the CV folds) all rows train that many epochs.
 */
export function fitMlpModel(set: TrainingSet, params: MlpParams): MlpModel {
  checkMlpParams(params);
  const { pre, x, y, rows } = encodeTrainingRows(set.dataset, set.rows, {
    maxCategories: params.maxCategories,
    numericBins: params.numericBins,
  });
  let fitPositions = rows.map((_, i) => i);
  let validation: number[] | undefined;
  if (params.patience > 0) {
    const split = stratifiedSplit(y, params.seed, params.validationFraction);
    fitPositions = split.train;
    validation = split.test;
  }
  const fit = trainNetwork(sparseRows(x, rows.length, pre.width), y, fitPositions, validation, params);
  const reference = new Float64Array(pre.width);
  for (let i = 0; i < rows.length; i++) {
    for (let k = 0; k < pre.width; k++) reference[k]! += x[i * pre.width + k]!;
  }
  const data: MlpModelData = {
    preprocessor: pre,
    hidden: params.hidden,
    w1: Float32Array.from(fit.w1),
    b1: Float32Array.from(fit.b1),
    w2: Float32Array.from(fit.w2),
    b2: f32(fit.b2),
    reference: Float32Array.from(reference, (s) => s / Math.max(rows.length, 1)),
  };
  return createMlpModel(data, {
    ...params,
    epochsRun: fit.epochsRun,
    bestEpochs: fit.bestEpochs,
    fitRows: fitPositions.length,
    ...(validation ? { validationRows: validation.length, validationLogLoss: fit.validationLoss } : {}),
  });
}

export function checkMlpParams(p: MlpParams): void {
  const fail = (message: string) => {
    throw new ChurnError("INVALID_REQUEST", message);
  };
  if (!(Number.isInteger(p.hidden) && p.hidden >= 1))
    fail(`hidden must be a positive integer, got ${p.hidden}`);
  if (!(p.l2 >= 0)) fail(`l2 must be >= 0, got ${p.l2}`);
  if (!(p.learningRate > 0)) fail(`learningRate must be > 0, got ${p.learningRate}`);
  if (!(Number.isInteger(p.batchSize) && p.batchSize >= 1)) fail(`batchSize must be a positive integer`);
  if (!(Number.isInteger(p.epochs) && p.epochs >= 1))
    fail(`epochs must be a positive integer, got ${p.epochs}`);
  if (!(p.validationFraction > 0 && p.validationFraction < 1)) fail("validationFraction must be in (0, 1)");
}

/** Non-zero entries of each encoded row: one-hot blocks make rows mostly zeros. */
interface SparseRows {
  start: Int32Array;
  column: Int32Array;
  value: Float64Array;
  width: number;
}

function sparseRows(x: Float32Array, rows: number, width: number): SparseRows {
  const start = new Int32Array(rows + 1);
  const column: number[] = [];
  const value: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < width; k++) {
      const v = x[i * width + k]!;
      if (v !== 0) {
        column.push(k);
        value.push(v);
      }
    }
    start[i + 1] = column.length;
  }
  return { start, column: Int32Array.from(column), value: Float64Array.from(value), width };
}

interface NetworkFit {
  w1: Float64Array;
  b1: Float64Array;
  w2: Float64Array;
  b2: number;
  epochsRun: number;
  bestEpochs: number;
  validationLoss: number;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;

/**
 * Mini-batch Adam. He-initialised first layer, small second layer, output bias at the training log-odds;
 * every draw comes from one seeded generator, so a seed gives the same network.
 */
function trainNetwork(
  x: SparseRows,
  y: Uint8Array,
  fitPositions: readonly number[],
  validation: readonly number[] | undefined,
  params: MlpParams,
): NetworkFit {
  const { hidden: h } = params;
  const width = x.width;
  const random = createRandom(params.seed);
  const w1 = new Float64Array(h * width);
  const initScale = Math.sqrt(2 / Math.max(width, 1));
  for (let i = 0; i < w1.length; i++) w1[i] = normal(random) * initScale;
  const b1 = new Float64Array(h);
  const w2 = Float64Array.from({ length: h }, () => normal(random) * Math.sqrt(1 / h));
  let positives = 0;
  for (const i of fitPositions) positives += y[i]!;
  const prior = Math.min(Math.max(positives / Math.max(fitPositions.length, 1), 1e-6), 1 - 1e-6);
  let b2 = Math.log(prior / (1 - prior));

  // Parameters in one vector view for Adam: [w1, b1, w2, b2].
  const size = w1.length + h + h + 1;
  const grad = new Float64Array(size);
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  const zBuf = new Float64Array(h);
  const n = fitPositions.length;
  const decay = params.l2 / Math.max(n, 1);
  let step = 0;

  const best = { loss: Number.POSITIVE_INFINITY, epoch: 0 };
  const snapshot = () => ({ w1: w1.slice(), b1: b1.slice(), w2: w2.slice(), b2 });
  let kept = snapshot();
  const order = [...fitPositions];
  let epochsRun = 0;

  for (let epoch = 1; epoch <= params.epochs; epoch++) {
    shuffleInPlace(order, random);
    for (let from = 0; from < order.length; from += params.batchSize) {
      const to = Math.min(from + params.batchSize, order.length);
      grad.fill(0);
      for (let b = from; b < to; b++) {
        const row = order[b]!;
        const margin = forward(x, row, w1, b1, w2, b2, h, zBuf);
        const err = sigmoid(margin) - y[row]!;
        grad[size - 1]! += err;
        for (let j = 0; j < h; j++) {
          const z = zBuf[j]!;
          if (z <= 0) continue;
          grad[w1.length + h + j]! += err * z;
          const delta = err * w2[j]!;
          grad[w1.length + j]! += delta;
          const base = j * width;
          for (let e = x.start[row]!; e < x.start[row + 1]!; e++) {
            grad[base + x.column[e]!]! += delta * x.value[e]!;
          }
        }
      }
      const scale = 1 / (to - from);
      step++;
      const lr = (params.learningRate * Math.sqrt(1 - BETA2 ** step)) / (1 - BETA1 ** step);
      for (let p = 0; p < size; p++) {
        let g = grad[p]! * scale;
        if (p < w1.length) g += decay * w1[p]!;
        else if (p >= w1.length + h && p < size - 1) g += decay * w2[p - w1.length - h]!;
        m[p] = BETA1 * m[p]! + (1 - BETA1) * g;
        v[p] = BETA2 * v[p]! + (1 - BETA2) * g * g;
        const delta = (lr * m[p]!) / (Math.sqrt(v[p]!) + EPSILON);
        if (p < w1.length) w1[p]! -= delta;
        else if (p < w1.length + h) b1[p - w1.length]! -= delta;
        else if (p < size - 1) w2[p - w1.length - h]! -= delta;
        else b2 -= delta;
      }
    }
    epochsRun = epoch;
    if (!validation) continue;
    let loss = 0;
    for (const row of validation) {
      const margin = forward(x, row, w1, b1, w2, b2, h, zBuf);
      loss += y[row] ? softplus(-margin) : softplus(margin);
    }
    loss /= Math.max(validation.length, 1);
    if (loss < best.loss - 1e-7) {
      best.loss = loss;
      best.epoch = epoch;
      kept = snapshot();
    } else if (epoch - best.epoch >= params.patience) {
      break;
    }
  }
  if (!validation) kept = snapshot();
  return {
    ...kept,
    epochsRun,
    bestEpochs: validation ? best.epoch : epochsRun,
    validationLoss: best.loss,
  };
}

/** Margin of one sparse row; leaves the hidden activations (after ReLU) in `z`. */
function forward(
  x: SparseRows,
  row: number,
  w1: Float64Array,
  b1: Float64Array,
  w2: Float64Array,
  b2: number,
  h: number,
  z: Float64Array,
): number {
  let margin = b2;
  for (let j = 0; j < h; j++) {
    let s = b1[j]!;
    const base = j * x.width;
    for (let e = x.start[row]!; e < x.start[row + 1]!; e++) s += w1[base + x.column[e]!]! * x.value[e]!;
    const a = Math.max(s, 0);
    z[j] = a;
    margin += w2[j]! * a;
  }
  return margin;
}

function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

function softplus(t: number): number {
  return t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
}

/** The network in the shape the shared DeepLIFT code reads. */
export function reluNetOf(data: MlpModelData): ReluNet {
  const { hidden, w1, b1, w2, b2, reference } = data;
  return { hidden, width: data.preprocessor.width, w1, b1, w2, b2, reference };
}

/** The network's margin at the reference row: the base the contributions start from. */
export function mlpBaseMargin(data: MlpModelData): number {
  return compileReluNet(reluNetOf(data)).baseMargin;
}

/** Margins (float64) and per-feature DeepLIFT contributions, rows x features (see shared/src/model-runtime/deeplift.ts). */
export function mlpExplain(
  data: MlpModelData,
  encoded: Float32Array,
  rows: number,
): { margins: Float64Array; contributions: Float64Array } {
  const pre = data.preprocessor;
  const nFeatures = pre.features.length;
  const columnFeature = encodedColumnFeatures(pre);
  const net = compileReluNet(reluNetOf(data));
  const margins = new Float64Array(rows);
  const contributions = new Float64Array(rows * nFeatures);
  for (let i = 0; i < rows; i++) {
    margins[i] = explainReluRow(net, encoded, i * pre.width, columnFeature, contributions, i * nFeatures);
  }
  return { margins, contributions };
}

/** Builds the model around fitted data: float32 margins as the graph computes them, DeepLIFT contributions. */
export function createMlpModel(data: MlpModelData, params: Record<string, unknown>): MlpModel {
  const pre = data.preprocessor;
  return {
    family: "mlp",
    data,
    features: featureSpecs(pre),
    baseMargin: mlpBaseMargin(data),
    params,
    predictMargin: chunked((batch: FeatureBatch) => mlpMargins(data, encode(pre, batch), batch.rows)),
    contributions: chunked(
      (batch: FeatureBatch) =>
        Float32Array.from(mlpExplain(data, encode(pre, batch), batch.rows).contributions),
      pre.features.length,
    ),
    toOnnx: () =>
      exportChurnGraph({
        features: pre.features,
        linear: [],
        mlp: [data],
        calibration: noCalibration,
        contributions: false,
        name: "churn_mlp",
        docString: "MLP churn model (one hidden ReLU layer): probability and margin (log-odds).",
      }),
  };
}

/** Margins the way the graph's Gemm → Relu → Gemm computes them: float32 at each layer's output. */
export function mlpMargins(data: MlpModelData, encoded: Float32Array, rows: number): Float32Array {
  const net = reluNetOf(data);
  const z = new Float64Array(data.hidden);
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    preActivations(net, encoded, i * net.width, z);
    let margin = data.b2;
    for (let j = 0; j < data.hidden; j++) margin += data.w2[j]! * Math.max(f32(z[j]!), 0);
    out[i] = margin;
  }
  return out;
}

/** Multiplies the output layer by `w` (float32): one member of a weighted ensemble. */
export function scaleMlpData(data: MlpModelData, w: number): MlpModelData {
  return { ...data, w2: data.w2.map((v) => v * w), b2: f32(data.b2 * w) };
}
