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

/** ROC-AUC via the Mann-Whitney U statistic; tied scores get their average rank (count as ½). NaN if one class is absent. */
export function rocAuc(y: Labels, p: Scores): number {
  checkLengths(y, p);
  const order = Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[a]! - p[b]!);
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && p[order[end + 1]!] === p[order[start]!]) end++;
    const averageRank = (start + end) / 2 + 1;
    for (let i = start; i <= end; i++) {
      if (y[order[i]!]) {
        positives++;
        positiveRankSum += averageRank;
      }
    }
    start = end + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
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
