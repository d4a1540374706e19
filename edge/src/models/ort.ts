import ortWasm from "onnxruntime-web/ort-wasm-simd-threaded.wasm";
import * as ort from "onnxruntime-web/wasm";
import { DataType, encodeModel } from "../../../trainer/src/onnx/model.ts";

/**
 * workerd forbids compiling WebAssembly from bytes at run time, so ORT cannot fetch and compile its own
 * binary. The bundler hands us the precompiled Module instead; ORT is given a sentinel "binary", and
 * WebAssembly.instantiate is wrapped to instantiate the real Module whenever it sees that sentinel.
 */
const SENTINEL = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x63, 0x68, 0x72, 0x6e]);

function isSentinel(source: unknown): boolean {
  const bytes =
    source instanceof Uint8Array
      ? source
      : source instanceof ArrayBuffer
        ? new Uint8Array(source)
        : undefined;
  if (!bytes || bytes.byteLength !== SENTINEL.byteLength) return false;
  return bytes.every((b, i) => b === SENTINEL[i]);
}

let installed = false;
function installInstantiateHook(): void {
  if (installed) return;
  installed = true;
  const original = WebAssembly.instantiate.bind(WebAssembly) as (
    source: BufferSource | WebAssembly.Module,
    imports?: WebAssembly.Imports,
  ) => Promise<unknown>;
  (WebAssembly as { instantiate: unknown }).instantiate = async (
    source: BufferSource | WebAssembly.Module,
    imports?: WebAssembly.Imports,
  ) => {
    if (isSentinel(source)) {
      const instance = (await original(ortWasm, imports)) as WebAssembly.Instance;
      return { instance, module: ortWasm };
    }
    return original(source, imports);
  };
}

let ready: Promise<typeof ort> | undefined;

/** Starts ORT once per isolate; concurrent first requests share the same start-up. */
export function loadOrt(): Promise<typeof ort> {
  ready ??= (async () => {
    installInstantiateHook();
    ort.env.wasm.wasmBinary = SENTINEL;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = "error";
    return ort;
  })();
  return ready;
}

export type Ort = typeof ort;
export type OrtSession = ort.InferenceSession;
export type OrtTensor = ort.Tensor;

/**
 * A tiny graph with the operators the trainer's exports use (imputation, scaling, one-hot, linear terms,
 * a tree ensemble, sigmoid). Creating and running it does ORT's start-up and compiles those kernels' code.
 */
function warmUpModel(): Uint8Array {
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

/**
 * Runs onnxruntime's one-off start-up (WASM instantiation, op-schema registration: nearly all of a cold
 * first prediction) while the isolate starts, not on the first request.
 */
export async function warmUpOrt(): Promise<void> {
  const runtime = await loadOrt();
  const session = await runtime.InferenceSession.create(warmUpModel());
  try {
    await session.run({
      num: new runtime.Tensor("float32", Float32Array.of(Number.NaN), [1, 1]),
      cat: new runtime.Tensor("string", ["a"], [1, 1]),
    });
  } finally {
    await session.release();
  }
}
