import { describe, expect, it } from "vitest";
import {
  averagePrecision,
  brierScore,
  expectedCalibrationError,
  holdoutMetrics,
  logLoss,
  rocAuc,
  thresholdMetrics,
} from "../../trainer/src/ml/metrics.ts";

describe("metrics", () => {
  it("computes ROC-AUC, counting ties as one half", () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
    // positive 0.5 vs negative 0.5 is a tie: (0.5 + 1 + 1 + 1) / 4
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])).toBeCloseTo(0.875, 12);
    expect(rocAuc([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3])).toBeCloseTo(0.5, 12);
    expect(rocAuc([1, 1], [0.2, 0.9])).toBeNaN();
  });

  it("computes average precision", () => {
    // ranks: 0.8(+) P=1 R=.5, 0.4(-), 0.35(+) P=2/3 R=1 -> .5*1 + .5*2/3
    expect(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(5 / 6, 12);
    // a tie between a positive and a negative at the top: P=1/2 at R=1
    expect(averagePrecision([1, 0], [0.7, 0.7])).toBeCloseTo(0.5, 12);
  });

  it("computes log loss and Brier score", () => {
    expect(logLoss([1, 0], [0.8, 0.3])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(1e-15), 6);
    expect(brierScore([1, 0], [0.8, 0.3])).toBeCloseTo(0.065, 12);
  });

  it("computes expected calibration error over 10 equal-width bins", () => {
    // bins: [0,.1) p=.05 y=0 -> .05; [.1,.2) mean p .15 mean y .5 -> .35 (x2 rows); [.9,1] p=.95 y=1 -> .05
    expect(expectedCalibrationError([0, 0, 1, 1], [0.05, 0.15, 0.15, 0.95])).toBeCloseTo(0.2, 12);
    expect(expectedCalibrationError([1, 0], [1, 0])).toBeCloseTo(0, 12);
  });

  it("computes threshold metrics with >= threshold as positive", () => {
    expect(thresholdMetrics([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1], 0.5)).toEqual({
      accuracy: 0.5,
      precision: 0.5,
      recall: 0.5,
      f1: 0.5,
    });
    expect(thresholdMetrics([1, 0], [0.5, 0.2], 0.5).precision).toBe(1);
    expect(thresholdMetrics([1, 0], [0.1, 0.2], 0.5)).toEqual({
      accuracy: 0.5,
      precision: 0,
      recall: 0,
      f1: 0,
    });
  });

  it("bundles the holdout metrics", () => {
    const m = holdoutMetrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.5);
    expect(Object.keys(m).sort()).toEqual(
      ["accuracy", "brier", "ece", "f1", "log_loss", "pr_auc", "precision", "recall", "roc_auc"].sort(),
    );
    expect(m.roc_auc).toBeCloseTo(0.75, 12);
  });
});
