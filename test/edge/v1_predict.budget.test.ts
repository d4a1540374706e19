import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "#shared/hash.ts";
import { newId } from "#shared/ids.ts";
import { kvKeys } from "#shared/kv.ts";
import { graphInputOf } from "#shared/manifest.ts";
import { maxRecordsPerRequest } from "#shared/onnx/inference-budget.ts";
import { checkModelSafety } from "#shared/onnx/model-safety.ts";
import { MAX_RECORDS } from "#shared/predict.ts";
import { DataType, encodeModel, type Node } from "../../trainer/src/ml/onnx/model.ts";
import { customer, errorOf, fixtureManifest, newTenant, writePointer } from "./harness.ts";

/**
 * The per-request inference budget: a model may score only as many records per request as its graph's
 * cost allows (shared/src/onnx/inference-budget.ts). A model over the budget for a batch answers 413
 * naming the most it takes; a model that fails the publish safety check is never given to onnxruntime.
 */

const WIDTH = 10_000;

/**
 * A legal but wide model over the fixture's inputs: one numeric input widened to 10,000 columns, then
 * summed. About 20,000 values a record, so the memory budget allows a few hundred records a request.
 */
function wideModel(nodes?: Node[]): Uint8Array {
  const manifest = fixtureManifest();
  const numeric = graphInputOf(manifest.features.find((f) => f.type === "numeric")!);
  return encodeModel({
    irVersion: 8,
    opsetImports: [{ domain: "", version: 17 }],
    producerName: "budget-test",
    producerVersion: "1",
    graph: {
      name: "wide",
      nodes: nodes ?? [
        { opType: "MatMul", name: "widen", inputs: [numeric, "w"], outputs: ["wide"] },
        { opType: "Relu", name: "relu", inputs: ["wide"], outputs: ["active"] },
        { opType: "ReduceSum", name: "sum", inputs: ["active", "axes"], outputs: ["margin"] },
        { opType: "Sigmoid", name: "sigmoid", inputs: ["margin"], outputs: ["probability"] },
      ],
      initializers: [
        { name: "w", dataType: DataType.FLOAT, dims: [1, WIDTH], values: new Float32Array(WIDTH).fill(1e-4) },
        { name: "axes", dataType: DataType.INT64, dims: [1], values: [1] },
      ],
      inputs: manifest.features.map((f) => ({
        name: graphInputOf(f),
        elemType: f.type === "numeric" ? DataType.FLOAT : DataType.STRING,
        shape: ["N", 1],
      })),
      outputs: [{ name: "probability", elemType: DataType.FLOAT, shape: ["N", 1] }],
      valueInfo: [],
    },
  });
}

/** Deploys `bytes` to a new tenant's production, with the fixture's features and a `probability` output. */
async function deployed(bytes: Uint8Array) {
  const tenant = await newTenant({ deploy: false });
  const versionId = newId("modelVersion");
  const sha256 = await sha256Hex(bytes);
  const manifest = {
    ...fixtureManifest(),
    outputs: { probability: { name: "probability" } },
    onnx: { ...fixtureManifest().onnx, sha256, bytes: bytes.byteLength },
  };
  await env.EDGE_KV.put(kvKeys.modelBytes(versionId), bytes);
  await env.EDGE_KV.put(kvKeys.modelManifest(versionId), JSON.stringify(manifest));
  await writePointer(tenant.tenantId, {
    revision: 1,
    production: { versionId, version: 1, sha256 },
    shadows: [],
    allowUnknownFields: false,
  });
  return tenant;
}

const records = (n: number) => Array.from({ length: n }, () => customer());

describe("POST /v1/predict: per-request inference budget", () => {
  it("refuses a batch over the model's budget with 413 naming the most it takes, and scores one within it", async () => {
    const bytes = wideModel();
    const most = maxRecordsPerRequest(checkModelSafety(bytes));
    expect(most).toBeGreaterThan(100);
    expect(most).toBeLessThan(MAX_RECORDS);
    const tenant = await deployed(bytes);

    const over = await tenant.predict({ records: records(most + 1) });
    expect(over.status).toBe(413);
    const error = await errorOf(over);
    expect(error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(error.message).toContain(`at most ${most} records per request`);
    expect(error.issues).toEqual([
      { path: "records", message: `at most ${most} records for the live model` },
    ]);

    const within = await tenant.predict({ records: records(50) });
    expect(within.status).toBe(200);
  });

  it("keeps the full 1,000 records for the trained fixture model", async () => {
    const tenant = await newTenant();
    expect((await tenant.predict({ records: records(MAX_RECORDS) })).status).toBe(200);
  });

  it("never gives onnxruntime a model that fails the safety check, even one put in KV directly (503)", async () => {
    const numeric = graphInputOf(fixtureManifest().features.find((f) => f.type === "numeric")!);
    // [N,1] × [1,N]: quadratic in the batch, refused at publish; here it bypassed the control plane.
    const tenant = await deployed(
      wideModel([
        {
          opType: "Gemm",
          name: "outer",
          inputs: [numeric, numeric],
          outputs: ["probability"],
          attributes: [{ name: "transB", type: "int", value: 1 }],
        },
      ]),
    );
    const res = await tenant.predict({ records: records(2) });
    expect(res.status).toBe(503);
    const error = await errorOf(res);
    expect(error.code).toBe("MODEL_UNAVAILABLE");
    expect(error.message).toContain("node 'outer' (Gemm)");
  });
});
