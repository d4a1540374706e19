import type { GbdtModelData } from "../models/gbdt/model.ts";
import type { Tree } from "../models/gbdt/tree.ts";
import { ML_DOMAIN } from "../onnx/graph.ts";
import { encodedBlocks } from "../preprocess.ts";
import { concatColumns, type GraphInputs } from "./inputs.ts";

/**
 * Emits the trees' margin [N,1]:
 *   numeric inputs (NaN = missing, passed through)  ─┐
 *   categorical -> OneHotEncoder(zeros=1) -> Flatten ─┴─ Concat -> encoded [N,W]
 *   encoded -> TreeEnsembleRegressor(SUM, base_values = base score) -> margin [N,1]
 * Split thresholds are float32 data values tested as x <= t (BRANCH_LEQ) and missing values follow each
 * split's learned direction (nodes_missing_value_tracks_true), so the TS predictor matches it exactly.
 */
export function emitTreeMargin(inputs: GraphInputs, data: GbdtModelData, output?: string): string {
  const g = inputs.g;
  const pre = data.preprocessor;
  const blocks = encodedBlocks(pre);
  // Encoded columns in layout order: numeric features first, then each categorical feature's block.
  const parts: { offset: number; name: string }[] = [];
  pre.features.forEach((f, j) => {
    const { offset, size } = blocks[j]!;
    if (f.kind === "numeric") parts.push({ offset, name: f.input });
    else if (size > 0) parts.push({ offset, name: inputs.oneHot(f) });
  });
  parts.sort((a, b) => a.offset - b.offset);
  const encoded = concatColumns(
    g,
    parts.map((p) => p.name),
    "tree_encoded",
  );

  const e = ensembleAttributes(data.trees);
  return g.op("TreeEnsembleRegressor", [encoded], {
    domain: ML_DOMAIN,
    ...(output ? { output } : {}),
    hint: "tree_margin",
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
}

/** TreeEnsembleRegressor's flat node and leaf-weight lists; node ids are the trees' own indices. */
function ensembleAttributes(trees: readonly Tree[]) {
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
  trees.forEach((tree, t) => {
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
