import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChurnError } from "#shared/errors.ts";
import { type Manifest, manifestSchema } from "#shared/manifest.ts";
import { readModelHeader } from "../../trainer/src/cli/commands/manifest.ts";
import { main } from "../../trainer/src/cli/main.ts";
import { DataType, encodeModel } from "../../trainer/src/ml/onnx/model.ts";

/** A one-feature logistic classifier shaped like skl2onnx's export: `probabilities` float [N,2]. */
function tenureClassifier(): Uint8Array {
  const { FLOAT, INT64 } = DataType;
  return encodeModel({
    irVersion: 8,
    opsetImports: [
      { domain: "", version: 17 },
      { domain: "ai.onnx.ml", version: 3 },
    ],
    producerName: "skl2onnx",
    producerVersion: "1.17.0",
    graph: {
      name: "tenure_logistic",
      nodes: [
        {
          opType: "LinearClassifier",
          domain: "ai.onnx.ml",
          inputs: ["tenure"],
          outputs: ["label", "probabilities"],
          attributes: [
            { name: "coefficients", type: "floats", value: [0.05, -0.05] },
            { name: "intercepts", type: "floats", value: [0.1, -0.1] },
            { name: "classlabels_ints", type: "ints", value: [0, 1] },
            { name: "post_transform", type: "string", value: "LOGISTIC" },
          ],
        },
      ],
      initializers: [],
      inputs: [{ name: "tenure", elemType: FLOAT, shape: ["N", 1] }],
      outputs: [
        { name: "label", elemType: INT64, shape: ["N"] },
        { name: "probabilities", elemType: FLOAT, shape: ["N", 2] },
      ],
      valueInfo: [],
    },
  });
}

async function manifestCli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["manifest", ...args], { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join(""), err: err.join("") };
}

describe("churn manifest for a model trained elsewhere", () => {
  let dir: string;
  let onnx: string;
  let features: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "churn-external-manifest-"));
    onnx = join(dir, "model.onnx");
    features = join(dir, "features.json");
    await writeFile(onnx, tenureClassifier());
    await writeFile(features, JSON.stringify([{ name: "tenure", type: "numeric" }]));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a publishable manifest with the graph's IR version, opset, digest and the defaults", async () => {
    const out = join(dir, "defaults");
    const result = await manifestCli(["--onnx", onnx, "--features", features, "--out", out]);
    expect(result.code, result.err).toBe(0);
    expect(result.out).toContain("1 features, opset 17");
    const manifest = manifestSchema.parse(JSON.parse(await readFile(join(out, "manifest.json"), "utf8")));
    expect(manifest).toMatchObject({
      name: "external-model",
      family: "external",
      threshold: 0.5,
      outputs: { probability: { name: "probabilities", column: 1 } },
      features: [{ name: "tenure", type: "numeric", required: true }],
      onnx: { irVersion: 8, opset: 17, bytes: tenureClassifier().byteLength },
    });
    expect(await readFile(join(out, "model.onnx"))).toEqual(Buffer.from(tenureClassifier()));
  });

  it("prints the manifest as JSON with the chosen name and threshold", async () => {
    const result = await manifestCli([
      "--onnx",
      onnx,
      "--features",
      features,
      "--out",
      join(dir, "named"),
      "--name",
      "partner-model",
      "--threshold",
      "0.35",
      "--probability-output",
      "probabilities:1",
      "--json",
    ]);
    expect(result.code, result.err).toBe(0);
    const printed = JSON.parse(result.out) as Manifest;
    expect(printed.name).toBe("partner-model");
    expect(printed.threshold).toBe(0.35);
  });

  it("exits 2 on a threshold outside [0,1], a malformed probability output or a missing flag", async () => {
    const base = ["--onnx", onnx, "--features", features, "--out", join(dir, "usage")];
    const threshold = await manifestCli([...base, "--threshold", "1.5"]);
    expect(threshold.code).toBe(2);
    expect(threshold.err).toContain("--threshold must be a number in [0,1]");
    const output = await manifestCli([...base, "--probability-output", "a:b:c"]);
    expect(output.code).toBe(2);
    expect(output.err).toContain("--probability-output");
    const missing = await manifestCli(["--onnx", onnx, "--features", features]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("--out");
  });

  it("exits 1 naming the problem when an input is missing, not JSON, of the wrong shape or not a model", async () => {
    const out = join(dir, "refused");
    const unreadable = await manifestCli([
      "--onnx",
      join(dir, "absent.onnx"),
      "--features",
      features,
      "--out",
      out,
    ]);
    expect(unreadable.code).toBe(1);
    expect(unreadable.err).toContain("Cannot read ONNX model");

    const notJson = join(dir, "not-json.json");
    await writeFile(notJson, "{ name: tenure");
    const broken = await manifestCli(["--onnx", onnx, "--features", notJson, "--out", out]);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain("is not valid JSON");

    const wrongShape = join(dir, "wrong-shape.json");
    await writeFile(wrongShape, JSON.stringify([{ name: "tenure", type: "date" }]));
    const shape = await manifestCli(["--onnx", onnx, "--features", wrongShape, "--out", out]);
    expect(shape.code).toBe(1);
    expect(shape.err).toContain("0.type");

    const garbage = join(dir, "garbage.onnx");
    await writeFile(garbage, "this is not a protobuf");
    const notModel = await manifestCli(["--onnx", garbage, "--features", features, "--out", out]);
    expect(notModel.code).toBe(1);
    expect(notModel.err).toContain("does not load in onnxruntime");
  });
});

describe("reading an ONNX model's header", () => {
  it("reads the IR version and the default-domain opset, skipping the graph", () => {
    expect(readModelHeader(tenureClassifier())).toEqual({ irVersion: 8, opset: 17 });
  });

  it("refuses truncated bytes and a model without a default-domain opset", () => {
    const bytes = tenureClassifier();
    expect(() => readModelHeader(bytes.subarray(0, bytes.length - 5))).toThrow(ChurnError);
    // Field 1 (ir_version) only: a varint tag 0x08 then 8.
    expect(() => readModelHeader(Uint8Array.of(0x08, 0x08))).toThrow(/no IR version or default-domain opset/);
    // Wire type 3 (a deprecated group) is not something an ONNX model carries.
    expect(() => readModelHeader(Uint8Array.of(0x0b))).toThrow(/Unsupported protobuf wire type 3/);
  });
});
