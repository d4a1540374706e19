import type { Calibration } from "../calibration.ts";
import type { GbdtModelData } from "../models/gbdt/model.ts";
import type { LogisticModelData } from "../models/logistic.ts";
import type { MlpModelData } from "../models/mlp.ts";
import { BATCH, GraphBuilder, IR_VERSION, ML_DOMAIN, ML_OPSET, OPSET } from "../onnx/graph.ts";
import { DataType, encodeModel } from "../onnx/model.ts";
import type { FeatureEncoding } from "../preprocess.ts";
import { emitCalibration } from "./calibration.ts";
import { emitTreeMargin } from "./gbdt.ts";
import { GraphInputs } from "./inputs.ts";
import { emitLinearContributions } from "./logistic.ts";
import { emitMlpMargin } from "./mlp.ts";

export interface ChurnGraphSpec {
  /** Raw features in input order. */
  features: readonly FeatureEncoding[];
  /** Tree part (ensemble members already merged and weighted). */
  trees?: GbdtModelData;
  /** Linear parts (ensemble weights already applied). */
  linear: readonly LogisticModelData[];
  /** Network parts (ensemble weights already applied to their output layer). */
  mlp?: readonly MlpModelData[];
  calibration: Calibration;
  /** Output the linear parts' per-feature contributions (only when there are no trees). */
  contributions: boolean;
  name: string;
  docString: string;
}

/**
 * One graph for every model family, sharing the raw inputs:
 *   trees  -> TreeEnsembleRegressor -> tree margin [N,1]                         ─┐
 *   linear -> Σ parts' contributions [N,F] -> ReduceSum + base -> linear margin ─┼─ Add -> margin [N,1]
 *   mlp    -> encoded -> Gemm -> Relu -> Gemm -> network margin (per part)     ─┘
 *   margin -> calibration -> probability [N,1]
 * Outputs: `probability` (calibrated), `margin` (uncalibrated log-odds, the space contributions live in)
 * and, for purely linear models, `contributions`.
 */
export function exportChurnGraph(spec: ChurnGraphSpec): Uint8Array {
  const g = new GraphBuilder();
  const inputs = new GraphInputs(g, spec.features);
  const margins: string[] = [];
  const networks = spec.mlp ?? [];
  const parts = (spec.trees ? 1 : 0) + (spec.linear.length > 0 ? 1 : 0) + networks.length;
  const onlyTrees = spec.trees !== undefined && parts === 1;

  if (spec.trees) {
    const tree = emitTreeMargin(inputs, spec.trees, onlyTrees ? "margin" : undefined);
    if (!onlyTrees) g.valueInfo.push({ name: tree, elemType: DataType.FLOAT, shape: [BATCH, 1] });
    margins.push(tree);
  }

  const withContributions = spec.contributions && parts === 1 && spec.linear.length > 0;
  if (spec.linear.length > 0) {
    const last = spec.linear.length - 1;
    let contributions = "";
    let base = 0;
    spec.linear.forEach((part, i) => {
      const named = withContributions && i === last ? "contributions" : undefined;
      const prefix = spec.linear.length > 1 ? `lr${i}_` : "";
      if (i === 0) {
        contributions = emitLinearContributions(inputs, part, prefix, named);
      } else {
        const c = emitLinearContributions(inputs, part, prefix);
        contributions = g.op(
          "Add",
          [contributions, c],
          named ? { output: named } : { hint: "contributions" },
        );
      }
      base = Math.fround(base + part.baseMargin);
    });
    const delta = g.op("ReduceSum", [contributions, g.int64s("sum_axes", [1], [1])], {
      attributes: [{ name: "keepdims", type: "int", value: 1 }],
      hint: "linear_delta",
    });
    const named = parts > 1 ? { hint: "linear_margin" } : { output: "margin" };
    margins.push(g.op("Add", [delta, g.floats("base_margin", [1], [base])], named));
  }

  networks.forEach((net, i) => {
    const prefix = networks.length > 1 ? `mlp${i}_` : "mlp_";
    margins.push(emitMlpMargin(inputs, net, prefix, parts === 1 ? "margin" : undefined));
  });

  // Add is binary: parts are summed left to right, the last Add naming the output.
  let margin = margins[0]!;
  for (let i = 1; i < margins.length; i++) {
    const last = i === margins.length - 1;
    margin = g.op("Add", [margin, margins[i]!], last ? { output: "margin" } : { hint: "margin_partial" });
  }
  emitCalibration(g, margin, spec.calibration, "probability");

  g.output({ name: "probability", elemType: DataType.FLOAT, shape: [BATCH, 1] });
  g.output({ name: "margin", elemType: DataType.FLOAT, shape: [BATCH, 1] });
  if (withContributions) {
    g.output({ name: "contributions", elemType: DataType.FLOAT, shape: [BATCH, spec.features.length] });
  }

  return encodeModel({
    irVersion: IR_VERSION,
    opsetImports: [
      { domain: "", version: OPSET },
      { domain: ML_DOMAIN, version: ML_OPSET },
    ],
    producerName: "churn-trainer",
    producerVersion: "1",
    docString: spec.docString,
    graph: g.build(spec.name),
  });
}
