import * as ort from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import { decodeModel } from "#shared/onnx/model-proto.ts";
import { packNumericInputs } from "#shared/onnx/pack-numeric.ts";
import { IR_VERSION, OPSET } from "../../trainer/src/ml/onnx/graph.ts";
import { DataType, encodeModel, type Node } from "../../trainer/src/ml/onnx/model.ts";

ort.env.wasm.numThreads = 1;
const { FLOAT } = DataType;

/** a, b, c ([N, 1] floats) concatenated, then a weighted sum and a sigmoid; `extra` nodes read what they like. */
function model(options: { axis?: number; extra?: Node[]; extraOutputs?: string[] } = {}): Uint8Array {
  return encodeModel({
    irVersion: IR_VERSION,
    opsetImports: [{ domain: "", version: OPSET }],
    producerName: "test",
    producerVersion: "1",
    graph: {
      name: "columns",
      inputs: ["a", "b", "c"].map((name) => ({ name, elemType: FLOAT, shape: ["N", 1] })),
      outputs: [
        { name: "p", elemType: FLOAT, shape: ["N", 1] },
        ...(options.extraOutputs ?? []).map((name) => ({ name, elemType: FLOAT, shape: ["N", 1] })),
      ],
      valueInfo: [{ name: "x", elemType: FLOAT, shape: ["N", 3] }],
      initializers: [{ name: "w", dataType: FLOAT, dims: [3, 1], values: [0.5, -1.25, 2] }],
      nodes: [
        {
          opType: "Concat",
          inputs: ["a", "b", "c"],
          outputs: ["x"],
          attributes: [{ name: "axis", type: "int", value: options.axis ?? 1 }],
        },
        { opType: "MatMul", inputs: ["x", "w"], outputs: ["m"] },
        { opType: "Sigmoid", inputs: ["m"], outputs: ["p"] },
        ...(options.extra ?? []),
      ],
    },
  });
}

async function run(bytes: Uint8Array, feeds: Record<string, Float32Array>, width: number) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, data] of Object.entries(feeds))
      tensors[name] = new ort.Tensor("float32", data, [data.length / width, width]);
    return Array.from((await session.run(tensors, ["p"]))["p"]!.data as Float32Array);
  } finally {
    await session.release();
  }
}

describe("packNumericInputs", () => {
  it("replaces the Concat of column inputs by one input of its name, scoring exactly the same", async () => {
    const bytes = model();
    const packed = packNumericInputs(bytes)!;
    expect(packed).toMatchObject({ input: "x", width: 3 });
    expect([...packed.columns]).toEqual([
      ["a", 0],
      ["b", 1],
      ["c", 2],
    ]);
    const graph = decodeModel(packed.bytes).graph!;
    expect(graph.inputs.map((i) => [i.name, i.shape])).toEqual([["x", ["N", 3]]]);
    expect(graph.nodes.map((n) => n.opType)).toEqual(["MatMul", "Sigmoid"]);
    expect(graph.valueInfo.map((v) => v.name)).not.toContain("x");

    const rows = 7;
    const a = Float32Array.from({ length: rows }, (_, i) => i * 0.3 - 1);
    const b = Float32Array.from({ length: rows }, (_, i) => (i % 3) * 1.7);
    const c = Float32Array.from({ length: rows }, (_, i) => (i === 4 ? Number.NaN : -i));
    const x = new Float32Array(rows * 3);
    for (let i = 0; i < rows; i++) x.set([a[i]!, b[i]!, c[i]!], i * 3);
    expect(await run(packed.bytes, { x }, 3)).toEqual(await run(bytes, { a, b, c }, 1));
  });

  it("packs the longest run of columns beside other inputs, the Concat reading the packed input", async () => {
    // d is [N, 2]: not a column, so a and b are packed and the Concat keeps d and c beside them.
    const bytes = encodeModel({
      irVersion: IR_VERSION,
      opsetImports: [{ domain: "", version: OPSET }],
      producerName: "test",
      producerVersion: "1",
      graph: {
        name: "mixed",
        inputs: [
          ...["a", "b", "c"].map((name) => ({
            name,
            elemType: FLOAT,
            shape: ["N", 1] as (string | number)[],
          })),
          { name: "d", elemType: FLOAT, shape: ["N", 2] },
        ],
        outputs: [{ name: "p", elemType: FLOAT, shape: ["N", 1] }],
        valueInfo: [],
        initializers: [{ name: "w", dataType: FLOAT, dims: [5, 1], values: [0.5, -1.25, 2, 0.75, -0.5] }],
        nodes: [
          {
            opType: "Concat",
            inputs: ["a", "b", "d", "c"],
            outputs: ["x"],
            attributes: [{ name: "axis", type: "int", value: 1 }],
          },
          { opType: "MatMul", inputs: ["x", "w"], outputs: ["m"] },
          { opType: "Sigmoid", inputs: ["m"], outputs: ["p"] },
        ],
      },
    });
    const packed = packNumericInputs(bytes)!;
    expect(packed).toMatchObject({ input: "numeric:packed", width: 2 });
    const graph = decodeModel(packed.bytes).graph!;
    expect(graph.nodes[0]!.inputs).toEqual(["numeric:packed", "d", "c"]);
    const session = await ort.InferenceSession.create(packed.bytes);
    const original = await ort.InferenceSession.create(bytes);
    try {
      const t = (data: number[], width: number) =>
        new ort.Tensor("float32", Float32Array.from(data), [2, width]);
      const got = await session.run({
        "numeric:packed": t([1, 2, 3, 4], 2),
        d: t([5, 6, 7, 8], 2),
        c: t([9, 10], 1),
      });
      const want = await original.run({
        a: t([1, 3], 1),
        b: t([2, 4], 1),
        d: t([5, 6, 7, 8], 2),
        c: t([9, 10], 1),
      });
      expect(Array.from(got["p"]!.data as Float32Array)).toEqual(Array.from(want["p"]!.data as Float32Array));
    } finally {
      await session.release();
      await original.release();
    }
  });

  it("leaves out columns read elsewhere or that are outputs, and Concats not along columns", () => {
    expect(
      packNumericInputs(model({ extra: [{ opType: "Neg", inputs: ["b"], outputs: ["nb"] }] })),
    ).toBeUndefined();
    // A graph output is not a plain column: only b and c, side by side, are packed.
    expect([...packNumericInputs(model({ extraOutputs: ["a"] }))!.columns.keys()]).toEqual(["b", "c"]);
    expect(packNumericInputs(model({ extraOutputs: ["b"] }))).toBeUndefined();
    expect(packNumericInputs(model({ axis: 0 }))).toBeUndefined();
    expect(packNumericInputs(new Uint8Array([1, 2, 3]))).toBeUndefined();
  });
});
