import type { GbdtModelData } from "../models/gbdt/model.ts";
import type { LogisticModelData } from "../models/logistic.ts";
import { noCalibration } from "./calibration.ts";
import { exportChurnGraph } from "./churn-graph.ts";

/** One uncalibrated model alone as a graph (tests and single-family fits); the composite uses the parts. */

/**
 * Gradient-boosted trees with their preprocessing as one ONNX graph, outputs `probability` and `margin`.
 * Contributions are not in the graph: TreeSHAP runs from the explainer package instead.
 */
export function exportGbdtOnnx(data: GbdtModelData): Uint8Array {
  return exportChurnGraph({
    features: data.preprocessor.features,
    trees: data,
    linear: [],
    calibration: noCalibration,
    contributions: false,
    name: "churn_gbdt",
    docString: "Gradient-boosted trees churn model: probability and margin (log-odds).",
  });
}

/**
 * Logistic regression with its preprocessing as one ONNX graph, outputs `probability`, `margin` and
 * `contributions` (see exportChurnGraph for the layout).
 */
export function exportLogisticOnnx(data: LogisticModelData): Uint8Array {
  return exportChurnGraph({
    features: data.preprocessor.features,
    linear: [data],
    calibration: noCalibration,
    contributions: true,
    name: "churn_logistic_regression",
    docString:
      "Logistic regression churn model: probability, margin and exact per-feature margin contributions.",
  });
}
