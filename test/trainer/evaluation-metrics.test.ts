import { describe, expect, it } from "vitest";
import {
  averagePrecision,
  crossValidationMetrics,
  eceNoiseFloor,
  evaluationMetrics,
  expectedCalibrationError,
  liftTable,
  logLoss,
  prCurve,
  reliabilityBins,
  rocAuc,
  rocCurve,
  thresholdMetrics,
} from "../../trainer/src/ml/metrics.ts";
import { createRandom } from "../../trainer/src/ml/random.ts";

/**
 * The evaluation numbers the training report and the manifest carry, checked against values worked out by
 * hand on small label/score sets.
 */

const expectClose = (actual: number[], expected: number[]) => {
  expect(actual).toHaveLength(expected.length);
  for (const [i, v] of actual.entries()) expect(v, `item ${i}`).toBeCloseTo(expected[i]!, 12);
};

describe("metric inputs", () => {
  it("refuses labels and scores of different lengths, and empty ones", () => {
    expect(() => rocAuc([1, 0], [0.5])).toThrow("labels (2) and scores (1) differ in length");
    expect(() => logLoss([], [])).toThrow("metrics need at least one row");
  });
});

describe("ranking metrics", () => {
  it("ranks ROC-AUC over several tie groups", () => {
    // scores ascending: .1(-) .2(+,-) .3(+) — pairs won: .2+ beats .1-, ties .2- (½); .3+ beats both: 3.5/4.
    expect(rocAuc([0, 1, 0, 1], [0.1, 0.2, 0.2, 0.3])).toBeCloseTo(3.5 / 4, 12);
    expect(rocAuc([0, 0], [0.1, 0.2])).toBeNaN();
  });

  it("gives average precision NaN without positives, and steps over tie groups", () => {
    expect(averagePrecision([0, 0], [0.3, 0.4])).toBeNaN();
    // .9(+) P=1 R=⅓; .8 tie (+,-) P=2/3 R=⅔; .1(+) P=3/4 R=1.
    expect(averagePrecision([1, 1, 0, 1], [0.9, 0.8, 0.8, 0.1])).toBeCloseTo(
      (1 / 3) * 1 + (1 / 3) * (2 / 3) + (1 / 3) * (3 / 4),
      12,
    );
  });

  it("draws the ROC curve with one point per distinct score, from (0,0)", () => {
    const curve = rocCurve([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.1]);
    expect(curve).toEqual({ x: [0, 0, 0.5, 1], y: [0, 0.5, 1, 1] });
    expect(rocCurve([1, 1], [0.2, 0.9])).toEqual({ x: [0, 0, 0], y: [0, 0.5, 1] });
    expect(rocCurve([0, 0], [0.2, 0.9])).toEqual({ x: [0, 0.5, 1], y: [0, 0, 0] });
  });

  it("draws the precision-recall curve with one point per distinct score", () => {
    const curve = prCurve([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.1]);
    expectClose(curve.x, [0.5, 1, 1]);
    expectClose(curve.y, [1, 2 / 3, 0.5]);
    expect(prCurve([0, 0], [0.2, 0.9])).toEqual({ x: [0, 0], y: [0, 0] });
  });

  it("thins a long curve to every k-th point plus the last, and leaves a short one alone", () => {
    const y = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0];
    const p = y.map((_, i) => 1 - i / 10);
    const full = rocCurve(y, p);
    expect(full.x).toHaveLength(11);
    expect(rocCurve(y, p, 11)).toEqual(full);
    const thinned = rocCurve(y, p, 4);
    // step ⌈11/4⌉ = 3: points 0, 3, 6, 9, then the last (10).
    expect(thinned.x).toEqual([0, 3, 6, 9, 10].map((i) => full.x[i]));
    expect(thinned.y).toEqual([0, 3, 6, 9, 10].map((i) => full.y[i]));
    // 10 points, step 3: points 0, 3, 6, 9, and the last (9) once more.
    expect(prCurve(y, p, 4).x).toHaveLength(5);
  });
});

describe("probability metrics", () => {
  it("clips a confident miss on either side", () => {
    expect(logLoss([0], [1])).toBeCloseTo(-Math.log(1 - (1 - 1e-15)), 9);
    expect(logLoss([1], [0], 0.01)).toBeCloseTo(-Math.log(0.01), 12);
    expect(logLoss([0], [1], 0.01)).toBeCloseTo(-Math.log(0.01), 12);
  });

  it("puts probability 1 into the last calibration bin and weighs each bin by its rows", () => {
    // bin 9: p 1 and .95 (y 1, 0) → |1 − 1.95| / 3; bin 0: p .05, y 1 → |1 − .05| / 3.
    expect(expectedCalibrationError([1, 0, 1], [1, 0.95, 0.05])).toBeCloseTo((0.95 + 0.95) / 3, 12);
    // Two bins: [0, .5) and [.5, 1].
    expect(expectedCalibrationError([0, 1], [0.4, 0.6], 2)).toBeCloseTo(0.4, 12);
    expect(expectedCalibrationError([1, 0], [0.4, 0.6], 2)).toBeCloseTo(0.6, 12);
  });

  it("lists the reliability diagram's non-empty bins with their means", () => {
    expect(reliabilityBins([0, 0, 1, 1], [0.05, 0.15, 0.15, 1])).toEqual([
      { from: 0, to: 0.1, count: 1, meanPredicted: 0.05, observedRate: 0 },
      { from: 0.1, to: 0.2, count: 2, meanPredicted: 0.15, observedRate: 0.5 },
      { from: 0.9, to: 1, count: 1, meanPredicted: 1, observedRate: 1 },
    ]);
    expect(reliabilityBins([1, 0], [0.2, 0.7], 2)).toEqual([
      { from: 0, to: 0.5, count: 1, meanPredicted: 0.2, observedRate: 1 },
      { from: 0.5, to: 1, count: 1, meanPredicted: 0.7, observedRate: 0 },
    ]);
  });

  it("classifies at probability >= threshold and computes F1 from precision and recall", () => {
    // tp 2 (.9, .6), fp 1 (.6), fn 1 (.2), tn 1 (.1): precision ⅔, recall ⅔.
    const m = thresholdMetrics([1, 1, 0, 1, 0], [0.9, 0.6, 0.6, 0.2, 0.1], 0.6);
    expect(m.accuracy).toBeCloseTo(3 / 5, 12);
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    const lopsided = thresholdMetrics([1, 1, 0], [0.9, 0.2, 0.8], 0.5);
    expect(lopsided.precision).toBeCloseTo(0.5, 12);
    expect(lopsided.recall).toBeCloseTo(0.5, 12);
    expect(thresholdMetrics([1, 1, 0, 0], [0.9, 0.9, 0.9, 0.1], 0.5).f1).toBeCloseTo(0.8, 12);
  });
});

describe("lift and gain", () => {
  const y = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0];
  const p = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];

  it("splits rows by descending score into groups with rate, lift and cumulative gain", () => {
    const table = liftTable(y, p, 5);
    const overall = 0.3;
    expect(table.map((r) => [r.decile, r.rows, r.positives])).toEqual([
      [1, 2, 2],
      [2, 2, 1],
      [3, 2, 0],
      [4, 2, 0],
      [5, 2, 0],
    ]);
    expectClose(
      table.map((r) => r.rate),
      [1, 0.5, 0, 0, 0],
    );
    expectClose(
      table.map((r) => r.lift),
      [1 / overall, 0.5 / overall, 0, 0, 0],
    );
    expectClose(
      table.map((r) => r.cumulativeGain),
      [2 / 3, 1, 1, 1, 1],
    );
    expectClose(
      table.map((r) => r.cumulativeLift),
      [1, 3 / 4, 3 / 6, 3 / 8, 3 / 10].map((rate) => rate / overall),
    );
  });

  it("sizes groups as evenly as the rows allow, and reads scores, not row order", () => {
    const reversed = liftTable([...y].reverse(), [...p].reverse(), 5);
    expect(reversed.map((r) => r.positives)).toEqual([2, 1, 0, 0, 0]);
    expect(liftTable([1, 0, 0, 0, 0, 0, 0], [7, 6, 5, 4, 3, 2, 1], 3).map((r) => r.rows)).toEqual([2, 2, 3]);
  });

  it("reports zeros rather than dividing by zero without positives or rows", () => {
    const none = liftTable([0, 0, 0], [0.3, 0.2, 0.1], 3);
    for (const row of none) {
      expect(row).toMatchObject({ rate: 0, lift: 0, cumulativeGain: 0, cumulativeLift: 0 });
    }
    const sparse = liftTable([1, 0], [0.9, 0.1], 3);
    expect(sparse.map((r) => r.rows)).toEqual([0, 1, 1]);
    expect(sparse[0]).toMatchObject({ rate: 0, lift: 0, cumulativeGain: 0, cumulativeLift: 0 });
    expect(sparse[1]).toMatchObject({ rate: 1, lift: 2, cumulativeGain: 1, cumulativeLift: 2 });
  });

  it("adds top-decile lift and the gain in the top 10 % and 20 % to the headline metrics", () => {
    const m = evaluationMetrics(y, p, 0.5);
    expect(m["lift_top_decile"]).toBeCloseTo(1 / 0.3, 12);
    expect(m["gain_top_10pct"]).toBeCloseTo(1 / 3, 12);
    expect(m["gain_top_20pct"]).toBeCloseTo(2 / 3, 12);
    expect(m["roc_auc"]).toBeCloseTo(rocAuc(y, p), 12);
    expect(m["log_loss"]).toBeCloseTo(logLoss(y, p), 12);
  });
});

describe("cross-validation summary", () => {
  it("averages each metric over folds, skipping undefined ones, with sample deviations for AUC and log loss", () => {
    const y = [0, 1, 0, 1, 1, 1];
    const p = [0.2, 0.8, 0.8, 0.2, 0.5, 0.6];
    const fold = [3, 3, 10, 10, 7, 7];
    const out = crossValidationMetrics(y, p, fold, 0.5);
    expect(out["folds"]).toBe(3);
    // AUC: fold 3 → 1, fold 10 → 0, fold 7 has one class (NaN, skipped).
    expect(out["roc_auc"]).toBeCloseTo(0.5, 12);
    expect(out["roc_auc_std"]).toBeCloseTo(Math.sqrt(0.5), 12);
    const losses = [-Math.log(0.8), -Math.log(0.2), -(Math.log(0.5) + Math.log(0.6)) / 2];
    const mean = losses.reduce((a, b) => a + b) / 3;
    expect(out["log_loss"]).toBeCloseTo(mean, 12);
    expect(out["log_loss_std"]).toBeCloseTo(
      Math.sqrt(losses.reduce((a, b) => a + (b - mean) ** 2, 0) / 2),
      12,
    );
    expect(out["brier_std"]).toBeUndefined();
    expect(out["accuracy"]).toBeCloseTo((1 + 0 + 1) / 3, 12);
  });

  it("reports a single fold without spread", () => {
    const out = crossValidationMetrics([0, 1], [0.2, 0.8], [1, 1], 0.5);
    expect(out["folds"]).toBe(1);
    expect(out["roc_auc"]).toBe(1);
    expect(out["roc_auc_std"]).toBe(0);
  });
});

describe("ECE noise floor", () => {
  it("is the median ECE over label draws from the probabilities themselves", () => {
    const p = Array.from({ length: 40 }, (_, i) => (i + 0.5) / 40);
    const random = createRandom(3);
    const eces: number[] = [];
    for (let d = 0; d < 5; d++) {
      const y = p.map((q) => (random() < q ? 1 : 0));
      eces.push(expectedCalibrationError(y, p));
    }
    eces.sort((a, b) => a - b);
    expect(eceNoiseFloor(p, 5, 3)).toBe(eces[2]);
    expect(eceNoiseFloor(p, 5, 3)).toBeGreaterThan(0);
  });

  it("is zero when every probability is certain", () => {
    expect(eceNoiseFloor([0, 1, 1, 0], 7)).toBe(0);
  });
});
