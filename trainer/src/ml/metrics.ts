import { createRandom } from "./random.ts";

/** Binary-classification metrics. `y` holds 0/1 labels, `p` predicted probabilities of class 1. */

type Labels = ArrayLike<number>;
type Scores = ArrayLike<number>;

function checkLengths(y: Labels, p: Scores): void {
  if (y.length !== p.length)
    throw new Error(`labels (${y.length}) and scores (${p.length}) differ in length`);
  if (y.length === 0) throw new Error("metrics need at least one row");
}

/** Indices sorted by descending score. */
function byScoreDescending(p: Scores): number[] {
  return Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[b]! - p[a]!);
}

/**
 * ROC-AUC via the Mann-Whitney U statistic: the share of (positive, negative) pairs the scores order
 * correctly, a tie counting ½. Each class's scores are sorted natively and merged, which is exact (counts
 * of pairs) and several times faster than sorting indices with a comparator. NaN if one class is absent.
 */
export function rocAuc(y: Labels, p: Scores): number {
  checkLengths(y, p);
  let positives = 0;
  for (let i = 0; i < y.length; i++) if (y[i]) positives++;
  const negatives = y.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  const pos = new Float64Array(positives);
  const neg = new Float64Array(negatives);
  for (let i = 0, a = 0, b = 0; i < y.length; i++) {
    if (y[i]) pos[a++] = p[i]!;
    else neg[b++] = p[i]!;
  }
  pos.sort();
  neg.sort();
  // For each positive (ascending): negatives strictly below it, and those equal to it (ties).
  let below = 0;
  let upTo = 0;
  let pairs = 0;
  for (let i = 0; i < positives; i++) {
    const s = pos[i]!;
    while (below < negatives && neg[below]! < s) below++;
    if (upTo < below) upTo = below;
    while (upTo < negatives && neg[upTo]! <= s) upTo++;
    pairs += below + (upTo - below) / 2;
  }
  return pairs / (positives * negatives);
}

/**
 * Average precision (area under the precision-recall curve as a step function):
 * Σ over distinct thresholds of (recall_k − recall_{k−1}) · precision_k, tied scores taken together.
 */
export function averagePrecision(y: Labels, p: Scores): number {
  checkLengths(y, p);
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] ? 1 : 0;
  if (positives === 0) return Number.NaN;
  const order = byScoreDescending(p);
  let truePositives = 0;
  let previousRecall = 0;
  let ap = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && p[order[end + 1]!] === p[order[start]!]) end++;
    for (let i = start; i <= end; i++) truePositives += y[order[i]!] ? 1 : 0;
    const seen = end + 1;
    const recall = truePositives / positives;
    ap += (recall - previousRecall) * (truePositives / seen);
    previousRecall = recall;
    start = end + 1;
  }
  return ap;
}

/** Mean negative log-likelihood; probabilities are clipped to [eps, 1−eps] so a confident miss stays finite. */
export function logLoss(y: Labels, p: Scores, eps = 1e-15): number {
  checkLengths(y, p);
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(Math.max(p[i]!, eps), 1 - eps);
    sum -= y[i] ? Math.log(q) : Math.log(1 - q);
  }
  return sum / y.length;
}

/** Mean squared error of the probabilities. */
export function brierScore(y: Labels, p: Scores): number {
  checkLengths(y, p);
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += (p[i]! - (y[i] ? 1 : 0)) ** 2;
  return sum / y.length;
}

export interface ThresholdMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Classification at `probability >= threshold`; precision / recall / F1 are 0 when undefined. */
export function thresholdMetrics(y: Labels, p: Scores, threshold: number): ThresholdMetrics {
  checkLengths(y, p);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < y.length; i++) {
    const predicted = p[i]! >= threshold;
    if (y[i]) predicted ? tp++ : fn++;
    else predicted ? fp++ : tn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { accuracy: (tp + tn) / y.length, precision, recall, f1 };
}

/**
 * Expected calibration error over `bins` equal-width probability bins ([0,0.1), …, [0.9,1]):
 * Σ_b (n_b / n) · |mean(y in b) − mean(p in b)|.
 */
export function expectedCalibrationError(y: Labels, p: Scores, bins = 10): number {
  checkLengths(y, p);
  const count = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(Math.max(Math.floor(p[i]! * bins), 0), bins - 1);
    count[b]!++;
    sumP[b]! += p[i]!;
    sumY[b]! += y[i] ? 1 : 0;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b]! > 0) ece += Math.abs(sumY[b]! - sumP[b]!) / y.length;
  }
  return ece;
}

export interface HoldoutMetrics extends ThresholdMetrics {
  roc_auc: number;
  pr_auc: number;
  log_loss: number;
  brier: number;
  ece: number;
}

export function holdoutMetrics(y: Labels, p: Scores, threshold: number): HoldoutMetrics {
  return {
    roc_auc: rocAuc(y, p),
    pr_auc: averagePrecision(y, p),
    log_loss: logLoss(y, p),
    brier: brierScore(y, p),
    ece: expectedCalibrationError(y, p),
    ...thresholdMetrics(y, p, threshold),
  };
}

/** A curve as parallel x / y arrays, thinned to at most `maxPoints` for plotting. */
export interface Curve {
  x: number[];
  y: number[];
}

/** ROC curve (x = false-positive rate, y = true-positive rate), one point per distinct score. */
export function rocCurve(y: Labels, p: Scores, maxPoints = 200): Curve {
  checkLengths(y, p);
  const order = byScoreDescending(p);
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] ? 1 : 0;
  const negatives = y.length - positives;
  const curve: Curve = { x: [0], y: [0] };
  let tp = 0;
  let fp = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && p[order[end + 1]!] === p[order[start]!]) end++;
    for (let i = start; i <= end; i++) y[order[i]!] ? tp++ : fp++;
    curve.x.push(negatives > 0 ? fp / negatives : 0);
    curve.y.push(positives > 0 ? tp / positives : 0);
    start = end + 1;
  }
  return thin(curve, maxPoints);
}

/** Precision-recall curve (x = recall, y = precision), one point per distinct score. */
export function prCurve(y: Labels, p: Scores, maxPoints = 200): Curve {
  checkLengths(y, p);
  const order = byScoreDescending(p);
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] ? 1 : 0;
  const curve: Curve = { x: [], y: [] };
  let tp = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && p[order[end + 1]!] === p[order[start]!]) end++;
    for (let i = start; i <= end; i++) tp += y[order[i]!] ? 1 : 0;
    curve.x.push(positives > 0 ? tp / positives : 0);
    curve.y.push(tp / (end + 1));
    start = end + 1;
  }
  return thin(curve, maxPoints);
}

/** Keeps every k-th point (and the last) so a plotted curve stays small. */
function thin(curve: Curve, maxPoints: number): Curve {
  if (curve.x.length <= maxPoints) return curve;
  const step = Math.ceil(curve.x.length / maxPoints);
  const out: Curve = { x: [], y: [] };
  for (let i = 0; i < curve.x.length; i += step) {
    out.x.push(curve.x[i]!);
    out.y.push(curve.y[i]!);
  }
  out.x.push(curve.x.at(-1)!);
  out.y.push(curve.y.at(-1)!);
  return out;
}

export interface ReliabilityBin {
  /** Lower edge of the equal-width probability bin. */
  from: number;
  to: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

/** The reliability diagram behind `expectedCalibrationError`: same bins, empty ones left out. */
export function reliabilityBins(y: Labels, p: Scores, bins = 10): ReliabilityBin[] {
  checkLengths(y, p);
  const count = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(Math.max(Math.floor(p[i]! * bins), 0), bins - 1);
    count[b]!++;
    sumP[b]! += p[i]!;
    sumY[b]! += y[i] ? 1 : 0;
  }
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    out.push({
      from: b / bins,
      to: (b + 1) / bins,
      count: count[b]!,
      meanPredicted: sumP[b]! / count[b]!,
      observedRate: sumY[b]! / count[b]!,
    });
  }
  return out;
}

export interface DecileRow {
  /** 1 = the tenth of customers with the highest scores. */
  decile: number;
  rows: number;
  positives: number;
  /** Churn rate in the decile. */
  rate: number;
  /** rate / overall rate. */
  lift: number;
  /** Share of all churners found in deciles 1..d. */
  cumulativeGain: number;
  /** Churn rate of deciles 1..d over the overall rate. */
  cumulativeLift: number;
}

/** Lift and cumulative gain by score decile (rows sorted by descending score, split into 10 near-equal groups). */
export function liftTable(y: Labels, p: Scores, groups = 10): DecileRow[] {
  checkLengths(y, p);
  const order = byScoreDescending(p);
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] ? 1 : 0;
  const overall = positives / y.length;
  const out: DecileRow[] = [];
  let seenRows = 0;
  let seenPositives = 0;
  for (let d = 0; d < groups; d++) {
    const start = Math.floor((d * order.length) / groups);
    const end = Math.floor(((d + 1) * order.length) / groups);
    let pos = 0;
    for (let i = start; i < end; i++) pos += y[order[i]!] ? 1 : 0;
    const rows = end - start;
    seenRows += rows;
    seenPositives += pos;
    const rate = rows > 0 ? pos / rows : 0;
    out.push({
      decile: d + 1,
      rows,
      positives: pos,
      rate,
      lift: overall > 0 ? rate / overall : 0,
      cumulativeGain: positives > 0 ? seenPositives / positives : 0,
      cumulativeLift: overall > 0 && seenRows > 0 ? seenPositives / seenRows / overall : 0,
    });
  }
  return out;
}

/**
 * Headline metrics of one evaluation: HoldoutMetrics plus the top decile's lift and the share of
 * churners in the top 10% and 20% of scores (flat numbers, as the manifest's metric maps want).
 */
export function evaluationMetrics(y: Labels, p: Scores, threshold: number): Record<string, number> {
  const deciles = liftTable(y, p);
  return {
    ...holdoutMetrics(y, p, threshold),
    lift_top_decile: deciles[0]?.lift ?? 0,
    gain_top_10pct: deciles[0]?.cumulativeGain ?? 0,
    gain_top_20pct: deciles[1]?.cumulativeGain ?? 0,
  };
}

/**
 * Cross-validation summary: each metric computed per fold, then the mean over folds, with `<name>_std`
 * (sample standard deviation) for ROC-AUC and log loss.
 */
export function crossValidationMetrics(
  y: Labels,
  p: Scores,
  fold: ArrayLike<number>,
  threshold: number,
): Record<string, number> {
  const folds = [...new Set(Array.from(fold))].sort((a, b) => a - b);
  const perFold = folds.map((f) => {
    const rows: number[] = [];
    for (let i = 0; i < fold.length; i++) if (fold[i] === f) rows.push(i);
    return evaluationMetrics(
      rows.map((i) => y[i]!),
      rows.map((i) => p[i]!),
      threshold,
    );
  });
  const out: Record<string, number> = { folds: folds.length };
  for (const key of Object.keys(perFold[0] ?? {})) {
    const values = perFold.map((m) => m[key]!).filter((v) => Number.isFinite(v));
    const mean = values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
    out[key] = mean;
    if (key === "roc_auc" || key === "log_loss") {
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(values.length - 1, 1);
      out[`${key}_std`] = Math.sqrt(variance);
    }
  }
  return out;
}

/**
 * Median ECE a perfectly calibrated model would show with these probabilities on this many rows: labels
 * are drawn from the probabilities themselves, `draws` times. ECE is biased upwards on small samples
 * (about 0.02 on 1,400 churn rows), so an observed ECE should be read against this floor.
 */
export function eceNoiseFloor(p: Scores, draws = 200, seed = 1): number {
  const random = createRandom(seed);
  const y = new Uint8Array(p.length);
  const eces: number[] = [];
  for (let d = 0; d < draws; d++) {
    for (let i = 0; i < p.length; i++) y[i] = random() < p[i]! ? 1 : 0;
    eces.push(expectedCalibrationError(y, p));
  }
  eces.sort((a, b) => a - b);
  return eces[Math.floor(draws / 2)]!;
}
