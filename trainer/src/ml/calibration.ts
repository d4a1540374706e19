import { ChurnError } from "#shared/errors.ts";
import { expectedCalibrationError, logLoss } from "./metrics.ts";
import { sigmoid } from "./models/model.ts";

const f32 = Math.fround;

/**
 * How a model's margin (log-odds) becomes the probability the graph outputs. Constants are float32, so
 * the TS mirror (`calibrate`) and the ONNX nodes compute the same numbers.
 *   none:     p = sigmoid(m)
 *   platt:    p = sigmoid(a·m + b)
 *   isotonic: p = piecewise-linear interpolation through (knots[i], values[i]), flat outside the knots
 */
export type Calibration =
  | { method: "none" }
  | { method: "platt"; a: number; b: number }
  | { method: "isotonic"; knots: number[]; values: number[] };

export type CalibrationMethod = Calibration["method"];
export type CalibrationChoice = CalibrationMethod | "auto";

/** Isotonic replaces Platt only when its cross-fitted log loss is lower by more than this (nats). */
export const ISOTONIC_MARGIN = 0.002;
/** Isotonic probabilities are kept this far from 0 and 1 so one surprising customer cannot cost infinity. */
const ISOTONIC_CLIP = 1e-3;

/** Probabilities for float32 margins, in the graph's float32 arithmetic. */
export function calibrate(calibration: Calibration, margins: ArrayLike<number>): Float32Array {
  const out = new Float32Array(margins.length);
  switch (calibration.method) {
    case "none":
      for (let i = 0; i < out.length; i++) out[i] = sigmoid(margins[i]!);
      return out;
    case "platt": {
      const a = f32(calibration.a);
      const b = f32(calibration.b);
      for (let i = 0; i < out.length; i++) out[i] = sigmoid(f32(f32(margins[i]! * a) + b));
      return out;
    }
    case "isotonic": {
      const { lower, upper, slopes, start } = isotonicSegments(calibration);
      for (let i = 0; i < out.length; i++) {
        const m = margins[i]!;
        let sum = 0;
        for (let k = 0; k < slopes.length; k++) {
          const clamped = f32(Math.min(f32(Math.max(m, lower[k]!)), upper[k]!));
          sum = f32(sum + f32(f32(clamped - lower[k]!) * slopes[k]!));
        }
        out[i] = f32(sum + start);
      }
      return out;
    }
  }
}

/**
 * The isotonic map as segments: p = start + Σ_k slope_k · (clamp(m, lower_k, upper_k) − lower_k), which
 * the graph computes with Max, Min, Sub, Mul and ReduceSum.
 */
export function isotonicSegments(calibration: { knots: number[]; values: number[] }): {
  lower: Float32Array;
  upper: Float32Array;
  slopes: Float32Array;
  start: number;
} {
  const { knots, values } = calibration;
  const n = knots.length - 1;
  const lower = new Float32Array(n);
  const upper = new Float32Array(n);
  const slopes = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    lower[k] = knots[k]!;
    upper[k] = knots[k + 1]!;
    slopes[k] = (values[k + 1]! - values[k]!) / (knots[k + 1]! - knots[k]!);
  }
  return { lower, upper, slopes, start: f32(values[0]!) };
}

/**
 * Platt scaling: one-feature logistic regression of y on the margin, by Newton's method with a
 * backtracking line search (margins of confident models reach ±15, where undamped steps overshoot).
 */
export function fitPlatt(margins: ArrayLike<number>, y: ArrayLike<number>): { a: number; b: number } {
  const n = margins.length;
  const loss = (a: number, b: number) => {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const z = a * margins[i]! + b;
      // log(1 + e^z) − y·z without overflow.
      total += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - (y[i] ? z : 0);
    }
    return total;
  };
  let a = 1;
  let b = 0;
  let current = loss(a, b);
  for (let iteration = 0; iteration < 100; iteration++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-9;
    let hab = 0;
    let hbb = 1e-9;
    for (let i = 0; i < n; i++) {
      const m = margins[i]!;
      const p = sigmoid(a * m + b);
      const r = p - (y[i] ? 1 : 0);
      const s = p * (1 - p);
      ga += r * m;
      gb += r;
      haa += s * m * m;
      hab += s * m;
      hbb += s;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    let t = 1;
    let next = loss(a - da, b - db);
    while (!(next <= current) && t > 1e-10) {
      t /= 2;
      next = loss(a - t * da, b - t * db);
    }
    if (!(next <= current)) break;
    a -= t * da;
    b -= t * db;
    const improvement = current - next;
    current = next;
    if (Math.abs(t * da) + Math.abs(t * db) < 1e-9 || improvement < 1e-12 * Math.max(1, current)) break;
  }
  return { a: f32(a), b: f32(b) };
}

/**
 * Isotonic regression of y on the margin (pool adjacent violators), turned into a continuous map by
 * interpolating between the pooled blocks' centres: a step function would tie whole blocks of customers
 * and throw away ranking the model had.
 */
export function fitIsotonic(
  margins: ArrayLike<number>,
  y: ArrayLike<number>,
): { knots: number[]; values: number[] } {
  const order = Array.from({ length: margins.length }, (_, i) => i).sort((i, j) => margins[i]! - margins[j]!);
  // Blocks: summed margin, summed label, row count. Equal margins start in one block.
  const sumM: number[] = [];
  const sumY: number[] = [];
  const count: number[] = [];
  for (let s = 0; s < order.length; ) {
    let e = s;
    let m = 0;
    let yy = 0;
    while (e < order.length && margins[order[e]!] === margins[order[s]!]) {
      m += margins[order[e]!]!;
      yy += y[order[e]!] ? 1 : 0;
      e++;
    }
    sumM.push(m);
    sumY.push(yy);
    count.push(e - s);
    // Merge backwards while the block means decrease.
    while (count.length > 1) {
      const last = count.length - 1;
      if (sumY[last - 1]! / count[last - 1]! <= sumY[last]! / count[last]!) break;
      sumM[last - 1]! += sumM[last]!;
      sumY[last - 1]! += sumY[last]!;
      count[last - 1]! += count[last]!;
      sumM.pop();
      sumY.pop();
      count.pop();
    }
    s = e;
  }
  const knots: number[] = [];
  const values: number[] = [];
  for (let k = 0; k < count.length; k++) {
    const x = f32(sumM[k]! / count[k]!);
    const v = f32(Math.min(Math.max(sumY[k]! / count[k]!, ISOTONIC_CLIP), 1 - ISOTONIC_CLIP));
    if (knots.length > 0 && x <= knots[knots.length - 1]!) {
      values[values.length - 1] = Math.max(values[values.length - 1]!, v);
      continue;
    }
    // Inside a flat run (clipping makes long ones) only the run's ends shape the map.
    const last = values.length - 1;
    if (last >= 1 && values[last] === v && values[last - 1] === v) {
      knots[last] = x;
      continue;
    }
    knots.push(x);
    values.push(v);
  }
  return { knots, values };
}

export function fitCalibration(
  method: CalibrationMethod,
  margins: ArrayLike<number>,
  y: ArrayLike<number>,
): Calibration {
  if (method === "none") return { method };
  if (method === "platt") return { method, ...fitPlatt(margins, y) };
  const iso = fitIsotonic(margins, y);
  // A single pooled block maps everything to one probability; Platt is the better degenerate case.
  if (iso.knots.length < 2) return { method: "platt", ...fitPlatt(margins, y) };
  return { method, ...iso };
}

export interface CalibrationScores {
  log_loss: number;
  ece: number;
}

export interface CalibrationSelection {
  calibration: Calibration;
  /** Cross-fitted scores of each method on the out-of-fold margins. */
  cv: Record<CalibrationMethod, CalibrationScores>;
  /** Out-of-fold probabilities with the chosen method, each fold calibrated by a map fitted on the others. */
  crossFitted: Float32Array;
}

/**
 * Chooses and fits the calibration from out-of-fold margins. Each method is scored by cross-fitting
 * (fit on k−1 folds' margins, apply to the k-th), so isotonic's extra freedom is not rewarded in-sample.
 * "auto" takes Platt unless isotonic is better by more than ISOTONIC_MARGIN.
 */
export function selectCalibration(
  margins: ArrayLike<number>,
  y: ArrayLike<number>,
  fold: ArrayLike<number>,
  choice: CalibrationChoice,
): CalibrationSelection {
  if (margins.length !== y.length || margins.length !== fold.length) {
    throw new ChurnError("INTERNAL", "calibration: margins, labels and folds differ in length");
  }
  const methods: CalibrationMethod[] = ["none", "platt", "isotonic"];
  const crossFitted = {} as Record<CalibrationMethod, Float32Array>;
  const cv = {} as Record<CalibrationMethod, CalibrationScores>;
  for (const method of methods) {
    crossFitted[method] = crossFit(method, margins, y, fold);
    cv[method] = {
      log_loss: logLoss(y, crossFitted[method]),
      ece: expectedCalibrationError(y, crossFitted[method]),
    };
  }
  let method: CalibrationMethod;
  if (choice !== "auto") method = choice;
  else method = cv.isotonic.log_loss < cv.platt.log_loss - ISOTONIC_MARGIN ? "isotonic" : "platt";
  const calibration = fitCalibration(method, margins, y);
  return { calibration, cv, crossFitted: crossFitted[calibration.method] };
}

function crossFit(
  method: CalibrationMethod,
  margins: ArrayLike<number>,
  y: ArrayLike<number>,
  fold: ArrayLike<number>,
): Float32Array {
  const out = new Float32Array(margins.length);
  const folds = new Set(Array.from(fold));
  if (method === "none" || folds.size < 2) return calibrate(fitCalibration(method, margins, y), margins);
  for (const f of folds) {
    const fitRows: number[] = [];
    const applyRows: number[] = [];
    for (let i = 0; i < margins.length; i++) (fold[i] === f ? applyRows : fitRows).push(i);
    const calibration = fitCalibration(
      method,
      fitRows.map((i) => margins[i]!),
      fitRows.map((i) => y[i]!),
    );
    const p = calibrate(
      calibration,
      applyRows.map((i) => margins[i]!),
    );
    applyRows.forEach((i, k) => {
      out[i] = p[k]!;
    });
  }
  return out;
}
