import { describe, expect, it } from "vitest";
import type { FeatureSpec } from "#shared/manifest.ts";
import { liftOneHotEncoders } from "#shared/onnx/lift-one-hot.ts";
import { cellReader } from "../../trainer/src/data/cells.ts";
import {
  BATCH,
  GraphBuilder,
  IR_VERSION,
  ML_DOMAIN,
  ML_OPSET,
  OPSET,
} from "../../trainer/src/ml/onnx/graph.ts";
import { DataType, encodeModel } from "../../trainer/src/ml/onnx/model.ts";
import type { ScoreBatch } from "../../trainer/src/pipeline/scoring/batch.ts";
import { feedEncoder } from "../../trainer/src/pipeline/scoring/feeds.ts";
import { openSessionScorer } from "../../trainer/src/pipeline/scoring/session-scorer.ts";

/**
 * A graph shaped like the trainer's (string inputs one-hot encoded, concatenated with a number, a linear
 * layer and a sigmoid), with the awkward cases an encoder can meet: two encoders on one input, a repeated
 * category (the last position wins), a category holding NUL, and an input the graph also outputs.
 */
function graphBytes(options: { zeros?: number; echoRegion?: boolean } = {}): Uint8Array {
  const g = new GraphBuilder();
  const input = (name: string, elemType: 1 | 8) => g.input({ name, elemType, shape: [BATCH, 1] });
  const plan = input("plan", DataType.STRING);
  const region = input("region", DataType.STRING);
  const tenure = input("tenure", DataType.FLOAT);
  const oneHot = (source: string, categories: string[], zeros = 1) =>
    g.op(
      "Flatten",
      [
        g.op("OneHotEncoder", [source], {
          domain: ML_DOMAIN,
          attributes: [
            { name: "cats_strings", type: "strings", value: categories },
            { name: "zeros", type: "int", value: zeros },
          ],
        }),
      ],
      { attributes: [{ name: "axis", type: "int", value: 1 }] },
    );
  const columns = [
    tenure,
    oneHot(plan, ["basic", "pro", "max", "pro"], options.zeros ?? 1),
    oneHot(plan, ["max", "basic"]),
    oneHot(region, ["north", "south", "a\u0000b", "Zürich"]),
  ];
  const width = 1 + 4 + 2 + 4;
  // Distinct powers of two: a one in the wrong column, or a missing one, changes the result.
  const weights = Array.from({ length: width }, (_, i) => 2 ** -(i + 1));
  const encoded = g.op("Concat", columns, { attributes: [{ name: "axis", type: "int", value: 1 }] });
  const margin = g.op(
    "Add",
    [g.op("MatMul", [encoded, g.floats("w", [width, 1], weights)]), g.floats("b", [1], [-0.3])],
    {
      output: "margin",
    },
  );
  g.op("Sigmoid", [margin], { output: "probability" });
  g.output({ name: "probability", elemType: DataType.FLOAT, shape: [BATCH, 1] });
  g.output({ name: "margin", elemType: DataType.FLOAT, shape: [BATCH, 1] });
  if (options.echoRegion) {
    g.op("Identity", [region], { output: "region_echo" });
    g.output({ name: "region_echo", elemType: DataType.STRING, shape: [BATCH, 1] });
  }
  return encodeModel({
    irVersion: IR_VERSION,
    opsetImports: [
      { domain: "", version: OPSET },
      { domain: ML_DOMAIN, version: ML_OPSET },
    ],
    producerName: "test",
    producerVersion: "1",
    graph: g.build("lift"),
  });
}

const FEATURES: FeatureSpec[] = [
  { name: "plan", type: "categorical", required: false, categories: [] },
  { name: "region", type: "categorical", required: false, categories: [] },
  { name: "tenure", type: "numeric", required: false },
];

/**
 * Cells as a CSV would hold them: seen, unseen, blank, a missing marker, padded, with NUL, non-ASCII. A
 * missing tenure makes the whole (linear) margin NaN, so it only comes with cells that matter elsewhere.
 */
const ROWS = [
  ["basic", "north", "1"],
  ["pro", "south", "2.5"],
  ["max", "a\u0000b", "4"],
  ["Max", "a", "5"],
  ["  pro ", "a\u0000c", "-3"],
  ["max\u0000pro", "Zürich", "70.25"],
  ["", "NA", "0"],
  ["unseen", "zurich", "1e3"],
  ["basic\u0000", "north ", "12"],
  ["pro", "south", "NA"],
  ["max", "north", ""],
];

/** What `churn predict` fed the graph before the encoders were lifted: the trimmed texts, "" when missing. */
function textBatch(): ScoreBatch {
  const reader = cellReader();
  const text = (cell: string) => {
    const t = cell.trim();
    return reader.missingMarker(t) === undefined ? t : "";
  };
  const number = (cell: string) => {
    const t = cell.trim();
    return reader.missingMarker(t) === undefined ? reader.number(t) : Number.NaN;
  };
  const n = ROWS.length;
  return {
    rows: n,
    tensors: [
      { input: "plan", type: "string", data: ROWS.map((r) => text(r[0]!)), dims: [n, 1] },
      { input: "region", type: "string", data: ROWS.map((r) => text(r[1]!)), dims: [n, 1] },
      { input: "tenure", type: "float32", data: Float32Array.from(ROWS, (r) => number(r[2]!)), dims: [n, 1] },
    ],
  };
}

async function scoreBoth(
  bytes: Uint8Array,
  batchSize: number,
): Promise<{ original: Float32Array; lifted: Float32Array }> {
  const lifted = liftOneHotEncoders(bytes);
  expect(lifted).toBeDefined();
  const original = await openSessionScorer(bytes, { name: "margin" });
  const rewritten = await openSessionScorer(lifted!.bytes, { name: "margin" });
  try {
    const encoder = feedEncoder(FEATURES, [0, 1, 2], cellReader(), lifted!.oneHots);
    const parts: Float32Array[] = [];
    for (let start = 0; start < ROWS.length; start += batchSize) {
      encoder.start(batchSize);
      for (const [i, cells] of ROWS.slice(start, start + batchSize).entries())
        encoder.add(cells, start + i + 2);
      parts.push(await rewritten.score(encoder.finish()));
    }
    const out = new Float32Array(ROWS.length);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return { original: await original.score(textBatch()), lifted: out };
  } finally {
    await original.release();
    await rewritten.release();
  }
}

describe("lifting one-hot encoders out of a graph", () => {
  it("gives bit-identical margins to the graph fed with text, for every kind of cell and batch size", async () => {
    for (const batchSize of [1, 4, ROWS.length]) {
      const { original, lifted } = await scoreBoth(graphBytes(), batchSize);
      expect(Array.from(lifted)).toEqual(Array.from(original));
    }
  });

  it("replaces each encoder of a string input with a float input of the encoder's width", () => {
    const lifted = liftOneHotEncoders(graphBytes())!;
    expect(lifted.oneHots.map((o) => [o.source, o.categories.length])).toEqual([
      ["plan", 4],
      ["plan", 2],
      ["region", 4],
    ]);
    expect(new Set(lifted.oneHots.map((o) => o.input)).size).toBe(3);
  });

  it("leaves the graph alone when an encoder would fail on unknown values (zeros=0)", () => {
    expect(liftOneHotEncoders(graphBytes({ zeros: 0 }))?.oneHots.map((o) => o.source)).toEqual(["region"]);
  });

  it("keeps feeding text to an input something else reads, and still lifts the others", async () => {
    const lifted = liftOneHotEncoders(graphBytes({ echoRegion: true }))!;
    expect([...new Set(lifted.oneHots.map((o) => o.source))]).toEqual(["plan"]);
    const { original, lifted: scored } = await scoreBoth(graphBytes({ echoRegion: true }), ROWS.length);
    expect(Array.from(scored)).toEqual(Array.from(original));
  });

  it("returns nothing for bytes that are not a model", () => {
    expect(liftOneHotEncoders(new Uint8Array([1, 2, 3, 4]))).toBeUndefined();
    expect(liftOneHotEncoders(new Uint8Array(0))).toBeUndefined();
  });
});
