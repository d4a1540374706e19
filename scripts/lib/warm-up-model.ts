import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { DataType, encodeModel } from "../../trainer/src/ml/onnx/model.ts";

/** Where the edge imports its warm-up graph from (wrangler bundles `.bin` files as bytes). */
export const WARM_UP_MODEL_PATH = resolve(import.meta.dirname, "../../edge/generated/warm-up-model.bin");

/**
 * A tiny graph with the operators the trainer's exports use (imputation, scaling, one-hot, linear terms,
 * a tree ensemble, sigmoid). Creating and running it at isolate start does ORT's start-up and compiles
 * those kernels' code.
 */
export function warmUpModel(): Uint8Array {
  const f = DataType.FLOAT;
  const scalar = (name: string, value: number) => ({ name, dataType: f, dims: [1], values: [value] });
  return encodeModel({
    irVersion: 8,
    opsetImports: [
      { domain: "", version: 17 },
      { domain: "ai.onnx.ml", version: 3 },
    ],
    producerName: "churn-edge",
    producerVersion: "warm-up",
    graph: {
      name: "warm-up",
      nodes: [
        { opType: "IsNaN", inputs: ["num"], outputs: ["missing"] },
        { opType: "Where", inputs: ["missing", "zero", "num"], outputs: ["imputed"] },
        { opType: "Sub", inputs: ["imputed", "zero"], outputs: ["centred"] },
        { opType: "Div", inputs: ["centred", "one"], outputs: ["scaled"] },
        {
          opType: "OneHotEncoder",
          domain: "ai.onnx.ml",
          inputs: ["cat"],
          outputs: ["onehot3d"],
          attributes: [
            { name: "cats_strings", type: "strings", value: ["a", "b"] },
            { name: "zeros", type: "int", value: 1 },
          ],
        },
        {
          opType: "Flatten",
          inputs: ["onehot3d"],
          outputs: ["onehot"],
          attributes: [{ name: "axis", type: "int", value: 1 }],
        },
        {
          opType: "Concat",
          inputs: ["scaled", "onehot"],
          outputs: ["x"],
          attributes: [{ name: "axis", type: "int", value: 1 }],
        },
        { opType: "MatMul", inputs: ["x", "w"], outputs: ["linear"] },
        { opType: "Mul", inputs: ["linear", "one"], outputs: ["terms"] },
        { opType: "ReduceSum", inputs: ["terms", "axes"], outputs: ["sum"] },
        { opType: "Add", inputs: ["sum", "zero"], outputs: ["margin"] },
        { opType: "Sigmoid", inputs: ["margin"], outputs: ["p"] },
        // Step bins and isotonic calibration.
        { opType: "Greater", inputs: ["num", "zero"], outputs: ["above"] },
        {
          opType: "Cast",
          inputs: ["above"],
          outputs: ["step"],
          attributes: [{ name: "to", type: "int", value: 1 }],
        },
        { opType: "Max", inputs: ["step", "zero"], outputs: ["floored"] },
        { opType: "Min", inputs: ["floored", "one"], outputs: ["clipped"] },
        { opType: "Gather", inputs: ["one", "index"], outputs: ["picked"] },
        { opType: "Add", inputs: ["clipped", "picked"], outputs: ["steps"] },
        {
          opType: "TreeEnsembleRegressor",
          domain: "ai.onnx.ml",
          inputs: ["x"],
          outputs: ["tree"],
          attributes: [
            { name: "n_targets", type: "int", value: 1 },
            { name: "nodes_treeids", type: "ints", value: [0, 0, 0] },
            { name: "nodes_nodeids", type: "ints", value: [0, 1, 2] },
            { name: "nodes_featureids", type: "ints", value: [0, 0, 0] },
            { name: "nodes_values", type: "floats", value: [0.5, 0, 0] },
            { name: "nodes_modes", type: "strings", value: ["BRANCH_LEQ", "LEAF", "LEAF"] },
            { name: "nodes_truenodeids", type: "ints", value: [1, 0, 0] },
            { name: "nodes_falsenodeids", type: "ints", value: [2, 0, 0] },
            { name: "nodes_missing_value_tracks_true", type: "ints", value: [1, 0, 0] },
            { name: "target_treeids", type: "ints", value: [0, 0] },
            { name: "target_nodeids", type: "ints", value: [1, 2] },
            { name: "target_ids", type: "ints", value: [0, 0] },
            { name: "target_weights", type: "floats", value: [-1, 1] },
            { name: "aggregate_function", type: "string", value: "SUM" },
            { name: "post_transform", type: "string", value: "NONE" },
          ],
        },
      ],
      initializers: [
        scalar("zero", 0),
        scalar("one", 1),
        { name: "w", dataType: f, dims: [3, 1], values: [1, 1, 1] },
        { name: "axes", dataType: DataType.INT64, dims: [1], values: [1] },
        { name: "index", dataType: DataType.INT64, dims: [1], values: [0] },
      ],
      inputs: [
        { name: "num", elemType: f, shape: [1, 1] },
        { name: "cat", elemType: DataType.STRING, shape: [1, 1] },
      ],
      outputs: [
        { name: "p", elemType: f, shape: [1, 1] },
        { name: "tree", elemType: f, shape: [1, 1] },
        { name: "steps", elemType: f, shape: [1, 1] },
      ],
      valueInfo: [
        { name: "onehot3d", elemType: f, shape: [1, 1, 2] },
        { name: "tree", elemType: f, shape: [1, 1] },
      ],
    },
  });
}

/** Writes the warm-up graph where the worker imports it; run before every bundle build. */
export async function writeWarmUpModel(): Promise<void> {
  await mkdir(dirname(WARM_UP_MODEL_PATH), { recursive: true });
  await writeFile(WARM_UP_MODEL_PATH, warmUpModel());
}
