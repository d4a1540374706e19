import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "#shared/manifest.ts";
import type { PredictResponse } from "#shared/predict.ts";
import type { Deployment } from "#shared/registry.ts";
import { createApiClient } from "../../control-plane/src/modules/identity/api-clients.ts";
import { createTenant } from "../../control-plane/src/modules/identity/tenants.ts";
import { main } from "../../trainer/src/cli/main.ts";
import { DataType, encodeModel } from "../../trainer/src/ml/onnx/model.ts";
import { clientCredentialsToken } from "../../trainer/src/remote/control-plane-client.ts";
import { demoPlatform } from "../helpers/demo-platform.ts";

const CONTRACTS = ["Month-to-month", "One year", "Two year"];

/**
 * A model shaped like skl2onnx's export of a scikit-learn pipeline (OneHotEncoder + LogisticRegression,
 * ZipMap off): one input per raw column, `label` int64 [N] and `probabilities` float [N,2].
 */
function sklearnShapedModel(): Uint8Array {
  const { FLOAT, INT64, STRING } = DataType;
  return encodeModel({
    irVersion: 8,
    opsetImports: [
      { domain: "", version: 17 },
      { domain: "ai.onnx.ml", version: 3 },
    ],
    producerName: "skl2onnx",
    producerVersion: "1.17.0",
    graph: {
      name: "pipeline_logistic",
      nodes: [
        {
          opType: "OneHotEncoder",
          domain: "ai.onnx.ml",
          inputs: ["Contract"],
          outputs: ["contract_onehot"],
          attributes: [
            { name: "cats_strings", type: "strings", value: CONTRACTS },
            { name: "zeros", type: "int", value: 1 },
          ],
        },
        {
          opType: "Flatten",
          inputs: ["contract_onehot"],
          outputs: ["contract_flat"],
          attributes: [{ name: "axis", type: "int", value: 1 }],
        },
        {
          opType: "Concat",
          inputs: ["tenure", "MonthlyCharges", "contract_flat"],
          outputs: ["features"],
          attributes: [{ name: "axis", type: "int", value: 1 }],
        },
        {
          opType: "LinearClassifier",
          domain: "ai.onnx.ml",
          inputs: ["features"],
          outputs: ["label", "probabilities"],
          attributes: [
            {
              name: "coefficients",
              type: "floats",
              value: [0.031, -0.012, -0.4, 0.35, 0.9, -0.031, 0.012, 0.4, -0.35, -0.9],
            },
            { name: "intercepts", type: "floats", value: [0.25, -0.25] },
            { name: "classlabels_ints", type: "ints", value: [0, 1] },
            { name: "multi_class", type: "int", value: 0 },
            { name: "post_transform", type: "string", value: "LOGISTIC" },
          ],
        },
      ],
      initializers: [],
      inputs: [
        { name: "tenure", elemType: FLOAT, shape: ["N", 1] },
        { name: "MonthlyCharges", elemType: FLOAT, shape: ["N", 1] },
        { name: "Contract", elemType: STRING, shape: ["N", 1] },
      ],
      outputs: [
        { name: "label", elemType: INT64, shape: ["N"] },
        { name: "probabilities", elemType: FLOAT, shape: ["N", 2] },
      ],
      valueInfo: [
        { name: "contract_onehot", elemType: FLOAT, shape: ["N", 1, 3] },
        { name: "contract_flat", elemType: FLOAT, shape: ["N", 3] },
        { name: "features", elemType: FLOAT, shape: ["N", 5] },
      ],
    },
  });
}

const FEATURES = [
  { name: "tenure", type: "numeric" },
  { name: "MonthlyCharges", type: "numeric" },
  { name: "Contract", type: "categorical", categories: CONTRACTS },
];

const RECORD = { tenure: 7, MonthlyCharges: 70.35, Contract: "One year" };

async function localProbability(bytes: Uint8Array): Promise<number> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({
      tenure: new ort.Tensor("float32", Float32Array.of(RECORD.tenure), [1, 1]),
      MonthlyCharges: new ort.Tensor("float32", Float32Array.of(RECORD.MonthlyCharges), [1, 1]),
      Contract: new ort.Tensor("string", [RECORD.Contract], [1, 1]),
    });
    return (out["probabilities"]!.data as Float32Array)[1]!;
  } finally {
    await session.release();
  }
}

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

/** Bring your own model: an externally trained ONNX file → churn manifest → churn publish --deploy → edge. */
describe("bring your own model, end to end", () => {
  const platform = demoPlatform("churn-byom-platform-");
  let dir: string;
  let bytes: Uint8Array;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "churn-byom-"));
    bytes = sklearnShapedModel();
    await writeFile(join(dir, "sklearn.onnx"), bytes);
    await writeFile(join(dir, "features.json"), JSON.stringify(FEATURES));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a features file naming a column the graph does not have", async () => {
    await writeFile(
      join(dir, "bad-features.json"),
      JSON.stringify([...FEATURES, { name: "TotalCharges", type: "numeric" }]),
    );
    const { io, err } = captureIo();
    const code = await main(
      ["manifest", "--onnx", join(dir, "sklearn.onnx"), "--features", join(dir, "bad-features.json")].concat([
        "--out",
        join(dir, "bad"),
      ]),
      io,
    );
    expect(code).toBe(1);
    expect(err.join("")).toContain("TotalCharges");
  });

  it("publishes, deploys and serves the same probability onnxruntime gives locally; the edge confirms", async () => {
    const { state, deps } = platform();
    const modelDir = join(dir, "byom");
    const manifestRun = captureIo();
    const manifestArgs = ["manifest", "--onnx", join(dir, "sklearn.onnx"), "--features"];
    expect(
      await main(
        [...manifestArgs, join(dir, "features.json"), "--out", modelDir, "--name", "sklearn-logistic"],
        manifestRun.io,
      ),
      manifestRun.err.join(""),
    ).toBe(0);
    const manifest = JSON.parse(await readFile(join(modelDir, "manifest.json"), "utf8")) as Manifest;
    expect(manifest).toMatchObject({
      family: "external",
      outputs: { probability: { name: "probabilities", column: 1 } },
      onnx: { irVersion: 8, opset: 17, bytes: bytes.byteLength },
      lineage: { dataFingerprint: "external", seed: 0 },
    });

    // A tenant of its own, so the demo tenant's trained model stays in place.
    const tenant = await createTenant(deps.db, {
      name: "BYOM Co",
      ownerEmail: "owner@byom.test",
      ownerName: "BYOM Owner",
    });
    const client = await createApiClient(
      deps.db,
      { actor: { type: "user", id: tenant.ownerId }, requestId: null, ip: null, userAgent: null },
      { tenantId: tenant.tenantId, name: "byom-predict", scopes: ["predict"] },
    );

    const publishRun = captureIo();
    const publishArgs = ["publish", modelDir, "--deploy", "--url", state.controlPlaneUrl];
    expect(
      await main([...publishArgs, "--token", tenant.ownerToken, "--json"], publishRun.io),
      publishRun.err.join(""),
    ).toBe(0);
    const published = JSON.parse(publishRun.out.join("")) as {
      version: { id: string; version: number };
      deployment: Deployment;
    };

    const token = await clientCredentialsToken(state.controlPlaneUrl, client.client.id, client.clientSecret);
    const res = await fetch(`${state.edgeUrl}/v1/predict`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ records: [RECORD] }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as PredictResponse;
    expect(body.model.versionId).toBe(published.version.id);
    expect(body.model.version).toBe(published.version.version);
    expect(Math.abs(body.predictions[0]!.probability - (await localProbability(bytes)))).toBeLessThanOrEqual(
      1e-6,
    );

    // Deployed and confirmed: the edge reports the revision it served through KV.
    let deployment: Deployment | undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      const current = await fetch(`${state.controlPlaneUrl}/v1/deployment`, {
        headers: { authorization: `Bearer ${tenant.ownerToken}` },
      });
      expect(current.status).toBe(200);
      deployment = (await current.json()) as Deployment;
      if (deployment.edge?.confirmed) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(deployment?.edge).toMatchObject({ confirmed: true, revision: published.deployment.revision });
    expect(Date.parse(deployment!.edge!.servedAt!)).not.toBeNaN();
  });
});
