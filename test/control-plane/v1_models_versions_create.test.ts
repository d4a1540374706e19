import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "#shared/hash.ts";
import { idPattern } from "#shared/ids.ts";
import { kvKeys } from "#shared/kv.ts";
import type { Manifest } from "#shared/manifest.ts";
import { publishResponseSchema } from "#shared/registry.ts";
import {
  auditLog,
  models,
  modelVersionArtifacts,
  modelVersions,
} from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  type Fixture,
  publishForm,
  startControlPlane,
  type TestTenant,
  withManifest,
} from "../helpers/control-plane-harness.ts";

const MAX_MODEL_BYTES = 64 * 1024;

let h: ControlPlaneHarness;
let m1: Fixture;
let m2: Fixture;
beforeAll(async () => {
  h = await startControlPlane({ MAX_MODEL_BYTES: String(MAX_MODEL_BYTES) });
  [m1, m2] = await Promise.all([h.fixture(7), h.fixture(8)]);
});
afterAll(() => h?.close());

function publish(token: string, fixture: Fixture, name = "churn") {
  return h.request(`/v1/models/${name}/versions`, {
    method: "POST",
    token,
    body: publishForm(
      withManifest(fixture.manifestText, (m) => ({ ...m, name })),
      fixture.bytes,
      fixture.explainer,
    ),
  });
}

describe("POST /v1/models/{name}/versions: happy", () => {
  it("publishes version 1 with 201 and returns the stored version", async () => {
    const t = await h.newTenant();
    const res = await publish(t.ownerToken, m1);
    expect(res.status).toBe(201);
    const body = publishResponseSchema.parse(await res.json());
    expect(body.created).toBe(true);
    const v = body.version;
    expect(v.id).toMatch(idPattern("modelVersion"));
    expect(v.modelId).toMatch(idPattern("model"));
    expect(v.name).toBe("churn");
    expect(v.version).toBe(1);
    expect(v.sha256).toBe(await sha256Hex(m1.bytes));
    expect(v.bytes).toBe(m1.bytes.byteLength);
    expect(v.manifest).toEqual(JSON.parse(m1.manifestText));
    expect(v.publishedBy).toBe(`user:${t.ownerId}`);
    expect(Date.parse(v.createdAt)).toBeGreaterThan(Date.now() - 60_000);

    const [row] = await h.deps.db.select().from(modelVersions).where(eq(modelVersions.id, v.id));
    expect(row!.tenantId).toBe(t.tenantId);
    const [artifact] = await h.deps.db
      .select()
      .from(modelVersionArtifacts)
      .where(eq(modelVersionArtifacts.modelVersionId, v.id));
    expect(new Uint8Array(artifact!.onnx)).toEqual(m1.bytes);
  });

  it("is idempotent on the bytes: the same upload answers 200, created=false, with the same version", async () => {
    const t = await h.newTenant();
    const first = publishResponseSchema.parse(await (await publish(t.ownerToken, m1)).json());
    const again = await publish(t.ownerToken, m1);
    expect(again.status).toBe(200);
    const body = publishResponseSchema.parse(await again.json());
    expect(body.created).toBe(false);
    expect(body.version).toEqual(first.version);
    const rows = await h.deps.db.select().from(modelVersions).where(eq(modelVersions.tenantId, t.tenantId));
    expect(rows).toHaveLength(1);
  });

  it("numbers a different model under the same name as version 2 of the same model", async () => {
    const t = await h.newTenant();
    expect(m2.bytes).not.toEqual(m1.bytes);
    const v1 = await t.publish(m1);
    const res = await publish(t.ownerToken, m2);
    expect(res.status).toBe(201);
    const v2 = publishResponseSchema.parse(await res.json()).version;
    expect(v2.version).toBe(2);
    expect(v2.modelId).toBe(v1.modelId);
    expect(v2.id).not.toBe(v1.id);
    expect(v2.sha256).toBe(await sha256Hex(m2.bytes));
    // Re-publishing version 1's bytes still answers version 1.
    const back = publishResponseSchema.parse(await (await publish(t.ownerToken, m1)).json());
    expect(back).toMatchObject({ created: false, version: { id: v1.id, version: 1 } });
  });

  it("keeps models apart by name: the same bytes under another name are that model's version 1", async () => {
    const t = await h.newTenant();
    const churn = await t.publish(m1, "churn");
    const res = await publish(t.ownerToken, m1, "retention-v2");
    expect(res.status).toBe(201);
    const other = publishResponseSchema.parse(await res.json()).version;
    expect(other).toMatchObject({ name: "retention-v2", version: 1 });
    expect(other.modelId).not.toBe(churn.modelId);
  });

  it("lets admin, ml-engineer and an API client with models:publish publish", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["models:publish"]);
    const clientToken = await t.exchange(client);
    const cases: [string, string, string][] = [
      ["admin", await t.tokenFor("admin"), "by-admin"],
      ["ml-engineer", await t.tokenFor("ml-engineer"), "by-ml-engineer"],
      ["client", clientToken, "by-client"],
    ];
    for (const [who, token, name] of cases) {
      const res = await publish(token, m1, name);
      expect(res.status, who).toBe(201);
      const v = publishResponseSchema.parse(await res.json()).version;
      if (who === "client") expect(v.publishedBy).toBe(`client:${client.clientId}`);
      else expect(v.publishedBy).toMatch(/^user:usr_/);
    }
  });

  it("writes model.create once and model_version.publish per version, tied to the request", async () => {
    const t = await h.newTenant();
    const res1 = await publish(t.ownerToken, m1);
    const v1 = publishResponseSchema.parse(await res1.json()).version;
    await publish(t.ownerToken, m1); // idempotent replay: no new entries
    const res2 = await publish(t.ownerToken, m2);
    const v2 = publishResponseSchema.parse(await res2.json()).version;

    const rows = await h.deps.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, t.tenantId)))
      .orderBy(auditLog.seq);
    const creates = rows.filter((r) => r.action === "model.create");
    const publishes = rows.filter((r) => r.action === "model_version.publish");
    expect(creates).toHaveLength(1);
    expect(JSON.parse(creates[0]!.targets)).toEqual([{ type: "model", id: v1.modelId }]);
    expect(JSON.parse(creates[0]!.details)).toEqual({ name: "churn" });
    expect(publishes).toHaveLength(2);
    for (const [entry, v, res] of [
      [publishes[0]!, v1, res1],
      [publishes[1]!, v2, res2],
    ] as const) {
      expect(entry.actorType).toBe("user");
      expect(entry.actorId).toBe(t.ownerId);
      expect(entry.requestId).toBe(res.headers.get("x-request-id"));
      expect(JSON.parse(entry.targets)).toEqual([
        { type: "model", id: v.modelId },
        { type: "model_version", id: v.id },
      ]);
      expect(JSON.parse(entry.details)).toEqual({
        name: "churn",
        version: v.version,
        sha256: v.sha256,
        family: v.manifest.family,
      });
    }
    // The model is created in the same transaction, just before its first version.
    expect(creates[0]!.seq).toBe(publishes[0]!.seq - 1);
  });

  it("does not push anything to the edge until the version is deployed", async () => {
    const t = await h.newTenant();
    const v = await t.publish(m1);
    expect(await h.kv.get(kvKeys.modelBytes(v.id), "text")).toBeNull();
    expect(await h.kv.get(kvKeys.modelManifest(v.id), "text")).toBeNull();
    expect(await h.kv.get(kvKeys.deployment(t.tenantId), "text")).toBeNull();
  });
});

const post = (t: TestTenant, body: BodyInit, init: RequestInit = {}, name = "churn") =>
  h.request(`/v1/models/${name}/versions`, { method: "POST", token: t.ownerToken, body, ...init });

const edited = (edit: (m: Manifest) => unknown) =>
  publishForm(withManifest(m1.manifestText, edit), m1.bytes, m1.explainer);

/** A rejected publish leaves no model, no version and no audit entry behind. */
async function expectNothingStored(t: TestTenant) {
  expect(await h.deps.db.select().from(models).where(eq(models.tenantId, t.tenantId))).toEqual([]);
  expect(await h.deps.db.select().from(modelVersions).where(eq(modelVersions.tenantId, t.tenantId))).toEqual(
    [],
  );
  const actions = (await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId))).map(
    (r) => r.action,
  );
  expect(actions).not.toContain("model.create");
  expect(actions).not.toContain("model_version.publish");
}

describe("POST /v1/models/{name}/versions: error: manifest and graph must agree (422 INVALID_MODEL)", () => {
  it("refuses a manifest feature the graph has no input for, naming it", async () => {
    const t = await h.newTenant();
    const body = await expectError(
      await post(
        t,
        edited((m) => ({
          ...m,
          features: m.features.map((f) => (f.name === "tenure" ? { ...f, name: "tenure_months" } : f)),
        })),
      ),
      422,
      "INVALID_MODEL",
    );
    expect(body.error.message).toContain("tenure_months");
    await expectNothingStored(t);
  });

  it("refuses a graph input the manifest does not describe, naming it", async () => {
    const t = await h.newTenant();
    const body = await expectError(
      await post(
        t,
        edited((m) => ({ ...m, features: m.features.filter((f) => f.name !== "Contract") })),
      ),
      422,
      "INVALID_MODEL",
    );
    expect(body.error.message).toContain("Contract");
    await expectNothingStored(t);
  });

  it("refuses a feature whose type disagrees with the graph input, naming both", async () => {
    const t = await h.newTenant();
    const body = await expectError(
      await post(
        t,
        edited((m) => ({
          ...m,
          features: m.features.map((f) =>
            f.name === "tenure" ? { name: "tenure", type: "categorical", required: true, categories: [] } : f,
          ),
        })),
      ),
      422,
      "INVALID_MODEL",
    );
    expect(body.error.message).toContain("tenure");
    expect(body.error.message).toContain("float32");
  });

  it("refuses an output name the graph does not produce, naming it", async () => {
    const t = await h.newTenant();
    const body = await expectError(
      await post(
        t,
        edited((m) => ({ ...m, outputs: { ...m.outputs, probability: { name: "p_churn" } } })),
      ),
      422,
      "INVALID_MODEL",
    );
    expect(body.error.message).toContain("p_churn");
  });

  it("refuses a wrong onnx.sha256, naming the field and the actual digest", async () => {
    const t = await h.newTenant();
    const body = await expectError(
      await post(
        t,
        edited((m) => ({ ...m, onnx: { ...m.onnx, sha256: "0".repeat(64) } })),
      ),
      422,
      "INVALID_MODEL",
    );
    expect(body.error.message).toContain("onnx.sha256");
    expect(body.error.message).toContain(await sha256Hex(m1.bytes));
    await expectNothingStored(t);
  });

  it("refuses a wrong onnx.bytes, naming the field", async () => {
    const t = await h.newTenant();
    const body = await expectError(
      await post(
        t,
        edited((m) => ({ ...m, onnx: { ...m.onnx, bytes: m.onnx.bytes + 1 } })),
      ),
      422,
      "INVALID_MODEL",
    );
    expect(body.error.message).toContain("onnx.bytes");
  });

  it("refuses a manifest whose name is not the model in the path", async () => {
    const t = await h.newTenant();
    const body = await expectError(
      await post(t, publishForm(m1.manifestText, m1.bytes, m1.explainer), {}, "other-model"),
      422,
      "INVALID_MODEL",
    );
    expect(body.error.message).toContain("other-model");
  });

  it("refuses bytes that are not an ONNX model even when the manifest's digest matches them", async () => {
    const t = await h.newTenant();
    const junk = new TextEncoder().encode("this is not a protobuf model, just text ".repeat(20));
    const sha256 = await sha256Hex(junk);
    const body = await expectError(
      await post(
        t,
        publishForm(
          withManifest(m1.manifestText, (m) => ({
            ...m,
            onnx: { ...m.onnx, sha256, bytes: junk.byteLength },
          })),
          junk,
        ),
      ),
      422,
      "INVALID_MODEL",
    );
    expect(body.error.message).toMatch(/does not load/);
    await expectNothingStored(t);
  });
});

describe("POST /v1/models/{name}/versions: error: malformed requests", () => {
  it("refuses a manifest that is not JSON with 400 naming the field", async () => {
    const t = await h.newTenant();
    const body = await expectError(await post(t, publishForm("{not json", m1.bytes)), 400, "INVALID_REQUEST");
    expect(body.error.message).toContain("manifest");
    await expectNothingStored(t);
  });

  it("refuses a manifest missing a required field with 400 naming that field", async () => {
    const t = await h.newTenant();
    const body = await expectError(
      await post(
        t,
        edited(({ threshold: _, ...rest }) => rest),
      ),
      400,
      "INVALID_REQUEST",
    );
    expect(body.error.message).toContain("manifest.threshold");
    expect(body.error.issues?.map((i) => i.path)).toContain("manifest.threshold");
  });

  it("refuses a manifest with wrongly typed nested fields, naming the path", async () => {
    const t = await h.newTenant();
    const body = await expectError(
      await post(
        t,
        edited((m) => ({ ...m, features: [{ ...m.features[0], type: "text" }, ...m.features.slice(1)] })),
      ),
      400,
      "INVALID_REQUEST",
    );
    expect(body.error.issues?.map((i) => i.path).join(" ")).toContain("manifest.features.0");
  });

  it("refuses a request without the manifest field with 400 naming it", async () => {
    const t = await h.newTenant();
    const body = await expectError(await post(t, publishForm(null, m1.bytes)), 400, "INVALID_REQUEST");
    expect(body.error.message).toContain("manifest");
  });

  it("refuses a request without the model file with 400 naming it", async () => {
    const t = await h.newTenant();
    const body = await expectError(await post(t, publishForm(m1.manifestText, null)), 400, "INVALID_REQUEST");
    expect(body.error.message).toContain("model");
    // The schema validator prefixes form fields ("form.model"); the handler's own checks do not ("model").
    expect(body.error.issues?.map((i) => i.path)).toContainEqual(expect.stringMatching(/^(form\.)?model$/));
  });

  it("refuses the model sent as a text field instead of a file", async () => {
    const t = await h.newTenant();
    const form = publishForm(m1.manifestText, null);
    form.set("model", Buffer.from(m1.bytes).toString("base64"));
    const body = await expectError(await post(t, form), 400, "INVALID_REQUEST");
    expect(body.error.issues?.map((i) => i.path)).toContainEqual(expect.stringMatching(/^(form\.)?model$/));
  });

  it("refuses a JSON body with 415", async () => {
    const t = await h.newTenant();
    const body = await expectError(
      await post(t, JSON.stringify({ manifest: m1.manifestText }), {
        headers: { "content-type": "application/json" },
      }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expect(body.error.message).toContain("multipart/form-data");
  });

  it("refuses an invalid model name in the path with 400", async () => {
    const t = await h.newTenant();
    for (const name of ["Churn", "-churn", "a".repeat(65), "churn_model"]) {
      await expectError(
        await post(t, publishForm(m1.manifestText, m1.bytes, m1.explainer), {}, name),
        400,
        "INVALID_REQUEST",
      );
    }
  });

  it("refuses a model file over MAX_MODEL_BYTES with 413, even when the whole body fits the limit", async () => {
    const t = await h.newTenant();
    const big = new Uint8Array(MAX_MODEL_BYTES + 1);
    const sha256 = await sha256Hex(big);
    const form = publishForm(
      withManifest(m1.manifestText, (m) => ({ ...m, onnx: { ...m.onnx, sha256, bytes: big.byteLength } })),
      big,
    );
    const body = await expectError(await post(t, form), 413, "PAYLOAD_TOO_LARGE");
    expect(body.error.message).toContain(String(MAX_MODEL_BYTES));
    await expectNothingStored(t);
  });

  it("refuses a body over the upload limit with 413", async () => {
    const t = await h.newTenant();
    const huge = new Uint8Array(MAX_MODEL_BYTES + 1024 * 1024 + 1);
    await expectError(await post(t, publishForm(m1.manifestText, huge)), 413, "PAYLOAD_TOO_LARGE");
    await expectNothingStored(t);
  });
});

const publishAs = (token: string) =>
  h.request("/v1/models/churn/versions", {
    method: "POST",
    token,
    body: publishForm(m1.manifestText, m1.bytes, m1.explainer),
  });

describe("POST /v1/models/{name}/versions: security", () => {
  it("requires a valid token (missing, garbage, expired, wrong audience, foreign key → 401)", async () => {
    await expectAuthRequired(h, "POST", "/v1/models/churn/versions", () => ({
      body: publishForm(m1.manifestText, m1.bytes, m1.explainer),
    }));
  });

  it("checks authentication before the content type (no 415 to anonymous callers)", async () => {
    const res = await h.request("/v1/models/churn/versions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    await expectError(res, 401, "UNAUTHORIZED");
  });

  it("forbids analyst and auditor users with 403 FORBIDDEN and stores nothing", async () => {
    const t = await h.newTenant();
    for (const role of ["analyst", "auditor"] as const) {
      const body = await expectError(await publishAs(await t.tokenFor(role)), 403, "FORBIDDEN");
      expect(body.error.message).toContain("models:publish");
    }
    expect(await h.deps.db.select().from(models).where(eq(models.tenantId, t.tenantId))).toEqual([]);
    const actions = (await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId))).map(
      (r) => r.action,
    );
    expect(actions).not.toContain("model_version.publish");
  });

  it("refuses clients without models:publish with 403 INSUFFICIENT_SCOPE", async () => {
    const t = await h.newTenant();
    for (const scopes of [
      ["predict"],
      ["models:read"],
      ["deployments:write"],
      ["predict", "feedback:write"],
    ] as const) {
      const token = await t.clientToken([...scopes]);
      await expectError(await publishAs(token), 403, "INSUFFICIENT_SCOPE");
    }
    expect(await h.deps.db.select().from(models).where(eq(models.tenantId, t.tenantId))).toEqual([]);
  });

  it("lets a client with models:publish publish", async () => {
    const t = await h.newTenant();
    const res = await publishAs(await t.clientToken(["models:publish"]));
    expect(res.status).toBe(201);
  });

  it("publishes into the caller's tenant only: the same bytes in two tenants are two separate versions", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const va = await a.publish(m1);
    const res = await publishAs(b.ownerToken);
    expect(res.status).toBe(201); // not 200: tenant A's identical upload is invisible to B
    const vb = ((await res.json()) as { version: { id: string; modelId: string; version: number } }).version;
    expect(vb.version).toBe(1);
    expect(vb.id).not.toBe(va.id);
    expect(vb.modelId).not.toBe(va.modelId);
  });
});
