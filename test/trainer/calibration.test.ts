import { describe, expect, it } from "vitest";
import { calibrate, fitIsotonic, fitPlatt, selectCalibration } from "../../trainer/src/ml/calibration.ts";
import { expectedCalibrationError, logLoss } from "../../trainer/src/ml/metrics.ts";
import { sigmoid } from "../../trainer/src/ml/models/model.ts";
import { createRandom, normal } from "../../trainer/src/ml/random.ts";

/** Labels drawn from sigmoid(trueMargin), with the model reporting `scale` × the true margin + `shift`. */
function sample(n: number, seed: number, scale: number, shift: number) {
  const random = createRandom(seed);
  const margins = new Float32Array(n);
  const y = new Uint8Array(n);
  const folds = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const truth = 1.5 * normal(random) - 1;
    y[i] = random() < sigmoid(truth) ? 1 : 0;
    margins[i] = scale * truth + shift;
    folds[i] = i % 5;
  }
  return { margins, y, folds };
}

describe("calibration", () => {
  it("Platt scaling recovers the slope and intercept that undo a distorted margin", () => {
    const { margins, y } = sample(20_000, 1, 2, 0.5); // model margin = 2·truth + 0.5
    const { a, b } = fitPlatt(margins, y);
    expect(a).toBeCloseTo(0.5, 1);
    expect(b).toBeCloseTo(-0.25, 1);
  });

  it("improves the expected calibration error of an overconfident, shifted model", () => {
    const train = sample(6000, 2, 3, 0.8);
    const fresh = sample(6000, 3, 3, 0.8);
    const before = expectedCalibrationError(fresh.y, calibrate({ method: "none" }, fresh.margins));
    expect(before).toBeGreaterThan(0.08);
    const selection = selectCalibration(train.margins, train.y, train.folds, "auto");
    expect(selection.calibration.method).not.toBe("none");
    // Cross-fitted scores already show the gain...
    expect(selection.cv.platt.ece).toBeLessThan(selection.cv.none.ece / 3);
    expect(selection.cv.platt.log_loss).toBeLessThan(selection.cv.none.log_loss);
    // ...and it carries over to rows the calibration never saw.
    const after = expectedCalibrationError(fresh.y, calibrate(selection.calibration, fresh.margins));
    expect(after).toBeLessThan(0.03);
    expect(after).toBeLessThan(before / 3);
    expect(logLoss(fresh.y, calibrate(selection.calibration, fresh.margins))).toBeLessThan(
      logLoss(fresh.y, calibrate({ method: "none" }, fresh.margins)),
    );
  });

  it("isotonic calibration is monotone, flat outside its knots and kept away from 0 and 1", () => {
    const { margins, y } = sample(3000, 4, 1, 0);
    const iso = fitIsotonic(margins, y);
    for (let k = 1; k < iso.knots.length; k++) {
      expect(iso.knots[k]!).toBeGreaterThan(iso.knots[k - 1]!);
      expect(iso.values[k]!).toBeGreaterThanOrEqual(iso.values[k - 1]!);
    }
    const grid = Float32Array.from({ length: 200 }, (_, i) => -12 + (24 * i) / 199);
    const p = calibrate({ method: "isotonic", ...iso }, grid);
    for (let i = 1; i < p.length; i++) expect(p[i]!).toBeGreaterThanOrEqual(p[i - 1]! - 1e-7);
    expect(p[0]).toBeCloseTo(iso.values[0]!, 6);
    expect(p.at(-1)).toBeCloseTo(iso.values.at(-1)!, 6);
    expect(Math.min(...p)).toBeGreaterThan(0);
    expect(Math.max(...p)).toBeLessThan(1);
  });

  it("chooses isotonic only when it is clearly better out of fold, and honours an explicit choice", () => {
    const { margins, y, folds } = sample(4000, 5, 1, 0); // already calibrated: Platt is enough
    expect(selectCalibration(margins, y, folds, "auto").calibration.method).toBe("platt");
    expect(selectCalibration(margins, y, folds, "isotonic").calibration.method).toBe("isotonic");
    expect(selectCalibration(margins, y, folds, "none").calibration.method).toBe("none");
    // A monotone step no sigmoid of the margin can follow (flat at 0.3, then 0.9): isotonic wins clearly.
    const random = createRandom(6);
    const m = Float32Array.from({ length: 6000 }, () => normal(random) * 2);
    const yy = Uint8Array.from(m, (v) => (random() < (v < 1 ? 0.3 : 0.9) ? 1 : 0));
    const ff = Uint8Array.from(m, (_, i) => i % 5);
    expect(selectCalibration(m, yy, ff, "auto").calibration.method).toBe("isotonic");
  });
});
