import { type Calibration, isotonicSegments } from "../calibration.ts";
import type { GraphBuilder } from "../onnx/graph.ts";

export const noCalibration: Calibration = { method: "none" };

/**
 * Turns the margin [N,1] into the named probability output [N,1]:
 *   none      Sigmoid(margin)
 *   platt     Sigmoid(margin · a + b)
 *   isotonic  start + ReduceSum(slopes · (Min(Max(margin, lower), upper) − lower))
 * The same float32 constants and operation order as `calibrate` in calibration.ts.
 */
export function emitCalibration(
  g: GraphBuilder,
  margin: string,
  calibration: Calibration,
  output: string,
): string {
  switch (calibration.method) {
    case "none":
      return g.op("Sigmoid", [margin], { output });
    case "platt": {
      const scaled = g.op("Mul", [margin, g.floats("platt_a", [1], [calibration.a])], {
        hint: "platt_scaled",
      });
      const shifted = g.op("Add", [scaled, g.floats("platt_b", [1], [calibration.b])], {
        hint: "platt_logit",
      });
      return g.op("Sigmoid", [shifted], { output });
    }
    case "isotonic": {
      const { lower, upper, slopes, start } = isotonicSegments(calibration);
      const n = slopes.length;
      const lowerName = g.floats("isotonic_lower", [n], lower);
      const above = g.op("Max", [margin, lowerName], { hint: "isotonic_above" });
      const clamped = g.op("Min", [above, g.floats("isotonic_upper", [n], upper)], {
        hint: "isotonic_clamped",
      });
      const run = g.op("Sub", [clamped, lowerName], { hint: "isotonic_run" });
      const rise = g.op("Mul", [run, g.floats("isotonic_slopes", [n], slopes)], { hint: "isotonic_rise" });
      const total = g.op("ReduceSum", [rise, g.int64s("isotonic_axes", [1], [1])], {
        attributes: [{ name: "keepdims", type: "int", value: 1 }],
        hint: "isotonic_total",
      });
      return g.op("Add", [total, g.floats("isotonic_start", [1], [start])], { output });
    }
  }
}
