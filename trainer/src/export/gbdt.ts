import type { GbdtModelData } from "../models/gbdt/model.ts";
import { BATCH, GraphBuilder, IR_VERSION, ML_DOMAIN, ML_OPSET, OPSET } from "../onnx/graph.ts";
import { DataType, encodeModel } from "../onnx/model.ts";
import { encodedBlocks } from "../preprocess.ts";

/**
 * Gradient-boosted trees with their preprocessing as one ONNX graph:
 *   numeric inputs (NaN = missing, passed through)  ─┐
 *   categorical -> OneHotEncoder(zeros=1) -> Flatten ─┴─ Concat -> encoded [N,W]
 *   encoded -> TreeEnsembleRegressor(SUM, base_values = base score) -> margin [N,1]
 *   probability = Sigmoid(margin)
 * Split thresholds are float32 data values tested as x <= t (BRANCH_LEQ) and missing values follow each
 * split's learned direction (nodes_missing_value_tracks_true), so the TS predictor matches it exactly.
 * Contributions are not in the graph: TreeSHAP runs from the explainer package instead.
 */
export function exportGbdtOnnx(data: GbdtModelData): Uint8Array {
  const pre = data.preprocessor;
  const g = new GraphBuilder();
  const blocks = encodedBlocks(pre);

  for (const f of pre.features) {
    g.input({
      name: f.name,
      elemType: f.kind === "numeric" ? DataType.FLOAT : DataType.STRING,
      shape: [BATCH, 1],
    });
  }

  // Encoded columns in layout order: numeric features first, then each categorical feature's block.
  const parts: { offset: number; name: string }[] = [];
  pre.features.forEach((f, j) => {
    const { offset, size } = blocks[j]!;
    if (f.kind === "numeric") {
      parts.push({ offset, name: f.name });
      return;
    }
    if (size === 0) return;
    const oneHot = g.op("OneHotEncoder", [f.name], {
      domain: ML_DOMAIN,
      attributes: [
        { name: "cats_strings", type: "strings", value: f.categories },
        { name: "zeros", type: "int", value: 1 },
      ],
      hint: `onehot_${f.name}`,
    });
    g.valueInfo.push({ name: oneHot, elemType: DataType.FLOAT, shape: [BATCH, 1, size] });
    const flat = g.op("Flatten", [oneHot], {
      attributes: [{ name: "axis", type: "int", value: 1 }],
      hint: `flat_${f.name}`,
    });
    parts.push({ offset, name: flat });
  });
  parts.sort((a, b) => a.offset - b.offset);
  const encoded =
    parts.length > 1
      ? g.op(
          "Concat",
          parts.map((p) => p.name),
          { attributes: [{ name: "axis", type: "int", value: 1 }], hint: "encoded" },
        )
      : parts[0]!.name;

  const e = ensembleAttributes(data);
  g.op("TreeEnsembleRegressor", [encoded], {
    domain: ML_DOMAIN,
    output: "margin",
    attributes: [
      { name: "n_targets", type: "int", value: 1 },
      { name: "aggregate_function", type: "string", value: "SUM" },
      { name: "post_transform", type: "string", value: "NONE" },
      { name: "base_values", type: "floats", value: [data.baseScore] },
      { name: "nodes_treeids", type: "ints", value: e.treeIds },
      { name: "nodes_nodeids", type: "ints", value: e.nodeIds },
      { name: "nodes_featureids", type: "ints", value: e.featureIds },
      { name: "nodes_modes", type: "strings", value: e.modes },
      { name: "nodes_values", type: "floats", value: e.thresholds },
      { name: "nodes_truenodeids", type: "ints", value: e.trueIds },
      { name: "nodes_falsenodeids", type: "ints", value: e.falseIds },
      { name: "nodes_missing_value_tracks_true", type: "ints", value: e.missingTrue },
      { name: "target_treeids", type: "ints", value: e.targetTreeIds },
      { name: "target_nodeids", type: "ints", value: e.targetNodeIds },
      { name: "target_ids", type: "ints", value: e.targetIds },
      { name: "target_weights", type: "floats", value: e.targetWeights },
    ],
  });
  g.op("Sigmoid", ["margin"], { output: "probability" });

  g.output({ name: "probability", elemType: DataType.FLOAT, shape: [BATCH, 1] });
  g.output({ name: "margin", elemType: DataType.FLOAT, shape: [BATCH, 1] });

  return encodeModel({
    irVersion: IR_VERSION,
    opsetImports: [
      { domain: "", version: OPSET },
      { domain: ML_DOMAIN, version: ML_OPSET },
    ],
    producerName: "churn-trainer",
    producerVersion: "1",
    docString: "Gradient-boosted trees churn model: probability and margin (log-odds).",
    graph: g.build("churn_gbdt"),
  });
}

/** TreeEnsembleRegressor's flat node and leaf-weight lists; node ids are the trees' own indices. */
function ensembleAttributes(data: GbdtModelData) {
  const e = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    featureIds: [] as number[],
    modes: [] as string[],
    thresholds: [] as number[],
    trueIds: [] as number[],
    falseIds: [] as number[],
    missingTrue: [] as number[],
    targetTreeIds: [] as number[],
    targetNodeIds: [] as number[],
    targetIds: [] as number[],
    targetWeights: [] as number[],
  };
  data.trees.forEach((tree, t) => {
    for (let n = 0; n < tree.column.length; n++) {
      const leaf = tree.column[n]! < 0;
      e.treeIds.push(t);
      e.nodeIds.push(n);
      e.featureIds.push(leaf ? 0 : tree.column[n]!);
      e.modes.push(leaf ? "LEAF" : "BRANCH_LEQ");
      e.thresholds.push(leaf ? 0 : tree.threshold[n]!);
      e.trueIds.push(leaf ? 0 : tree.left[n]!);
      e.falseIds.push(leaf ? 0 : tree.right[n]!);
      e.missingTrue.push(leaf ? 0 : tree.missingLeft[n]!);
      if (leaf) {
        e.targetTreeIds.push(t);
        e.targetNodeIds.push(n);
        e.targetIds.push(0);
        e.targetWeights.push(tree.value[n]!);
      }
    }
  });
  return e;
}
