import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sha256Hex } from "#shared/hash.ts";
import { MODEL_BOUNDS } from "#shared/onnx/model-bounds.ts";
import { checkModelSafety } from "#shared/onnx/model-safety.ts";
import { publishResponseSchema } from "#shared/registry.ts";
import { auditLog, models, modelVersions } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectError,
  type Fixture,
  publishForm,
  startControlPlane,
  type TestTenant,
  withManifest,
} from "../helpers/control-plane-harness.ts";
import {
  customOperatorModel,
  externalDataModel,
  functionModel,
  hugeDimensionModel,
  loopModel,
  manyNodesModel,
  quadraticModel,
} from "../helpers/hostile-onnx.ts";

/**
 * POST /v1/models/{name}/versions runs the ONNX safety check (shared/src/onnx/model-safety.ts) before
 * onnxruntime loads the upload: hostile graphs are refused with 422 INVALID_MODEL naming the culprit, and
 * nothing is stored. Each hostile upload carries a manifest whose digest and size match its bytes, so the
 * safety check, not the manifest checks, is what refuses it.
 */

let h: ControlPlaneHarness;
let fixture: Fixture;
beforeAll(async () => {
  h = await startControlPlane();
  fixture = await h.fixture(7);
});
afterAll(() => h?.close());

/** Publishes `bytes` under the fixture's manifest, its onnx digest and size rewritten to match them. */
async function publishBytes(t: TestTenant, bytes: Uint8Array): Promise<Response> {
  const sha256 = await sha256Hex(bytes);
  const manifest = withManifest(fixture.manifestText, (m) => ({
    ...m,
    onnx: { ...m.onnx, sha256, bytes: bytes.byteLength },
  }));
  return h.request("/v1/models/churn/versions", {
    method: "POST",
    token: t.ownerToken,
    body: publishForm(manifest, bytes),
  });
}

async function expectNothingStored(t: TestTenant) {
  expect(await h.deps.db.select().from(models).where(eq(models.tenantId, t.tenantId))).toEqual([]);
  expect(await h.deps.db.select().from(modelVersions).where(eq(modelVersions.tenantId, t.tenantId))).toEqual(
    [],
  );
  const actions = (await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId))).map(
    (r) => r.action,
  );
  expect(actions).not.toContain("model_version.publish");
}

describe("POST /v1/models/{name}/versions: model safety: happy", () => {
  it("accepts the model the trainer made (201), its graph inside every bound", async () => {
    const t = await h.newTenant();
    const footprint = checkModelSafety(fixture.bytes);
    expect(footprint.nodes).toBeLessThan(MODEL_BOUNDS.maxNodes);
    const validate = vi.spyOn(h.deps.validator, "validate");
    const res = await publishBytes(t, fixture.bytes);
    expect(res.status).toBe(201);
    // Then onnxruntime loads it and checks the manifest against it, as before.
    expect(validate).toHaveBeenCalledOnce();
    validate.mockRestore();
    expect(publishResponseSchema.parse(await res.json()).version.sha256).toBe(await sha256Hex(fixture.bytes));
  });
});

describe("POST /v1/models/{name}/versions: model safety: error (422 INVALID_MODEL, before onnxruntime)", () => {
  const cases: { name: string; bytes: () => Uint8Array; culprit: RegExp }[] = [
    {
      name: "an operator in a custom domain",
      bytes: customOperatorModel,
      culprit: /node 'evil' \(com\.evil:Backdoor\) uses an operator that is not allowed/,
    },
    {
      name: "a Loop whose body is a subgraph",
      bytes: loopModel,
      culprit: /attribute 'body' of node 'spin' \(Loop\) is a subgraph/,
    },
    {
      name: "an initializer with a huge dimension",
      bytes: hugeDimensionModel,
      culprit: new RegExp(`initializer 'huge' has a dimension of ${2 ** 40}`),
    },
    {
      name: "too many nodes",
      bytes: () => manyNodesModel(MODEL_BOUNDS.maxNodes + 1),
      culprit: new RegExp(`it has more than ${MODEL_BOUNDS.maxNodes} nodes`),
    },
    {
      name: "external data",
      bytes: externalDataModel,
      culprit: /initializer 'weights' keeps its data in an external file/,
    },
    {
      name: "a tensor quadratic in the number of records",
      bytes: quadraticModel,
      culprit: /output 'y' of node 'outer' \(Gemm\) is \[N, N\]/,
    },
    { name: "a model-local function", bytes: functionModel, culprit: /model-local function/ },
  ];

  it.each(cases)("refuses $name, naming the culprit, and stores nothing", async ({ bytes, culprit }) => {
    const t = await h.newTenant();
    const validate = vi.spyOn(h.deps.validator, "validate");
    try {
      const body = await expectError(await publishBytes(t, bytes()), 422, "INVALID_MODEL");
      expect(body.error.message).toMatch(/^Model refused: /);
      expect(body.error.message).toMatch(culprit);
      // Refused on its bytes alone: onnxruntime never loaded it.
      expect(validate).not.toHaveBeenCalled();
    } finally {
      validate.mockRestore();
    }
    await expectNothingStored(t);
  });
});
