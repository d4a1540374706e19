import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeDeployment, edgeDeploymentSchema, kvKeys } from "#shared/kv.ts";
import { predictSettingsSchema } from "#shared/registry.ts";
import { syncDeploymentsToEdge } from "../../control-plane/src/modules/deployments/deployments.ts";
import { auditLog } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  type Fixture,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
let m1: Fixture;
beforeAll(async () => {
  h = await startControlPlane();
  m1 = await h.fixture(7);
});
afterAll(() => h?.close());

const put = (t: TestTenant, body: unknown, token = t.ownerToken) =>
  h.request("/v1/settings/predict", {
    method: "PUT",
    token,
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const get = async (t: TestTenant) => {
  const res = await h.request("/v1/settings/predict", { token: t.ownerToken });
  expect(res.status).toBe(200);
  return predictSettingsSchema.parse(await res.json());
};

async function edgePointer(tenantId: string): Promise<EdgeDeployment | null> {
  const raw = await h.kv.get(kvKeys.deployment(tenantId), "text");
  return raw === null ? null : edgeDeploymentSchema.parse(JSON.parse(raw));
}

const audited = async (t: TestTenant) =>
  (await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId))).filter(
    (r) => r.action === "predict_settings.update",
  );

describe("/v1/settings/predict: happy", () => {
  it("refuses unknown fields by default; allowing them persists, is audited and reaches the edge pointer", async () => {
    const t = await h.newTenant();
    expect(await get(t)).toEqual({ allowUnknownFields: false });
    const v1 = await t.publish(m1);
    await t.deploy(v1.id);
    expect((await edgePointer(t.tenantId))!.allowUnknownFields).toBe(false);

    const res = await put(t, { allowUnknownFields: true });
    expect(res.status).toBe(200);
    expect(predictSettingsSchema.parse(await res.json())).toEqual({ allowUnknownFields: true });
    expect(await get(t)).toEqual({ allowUnknownFields: true });
    // Same revision: the deployment did not change, only how its records are read.
    expect(await edgePointer(t.tenantId)).toMatchObject({
      revision: 1,
      production: { versionId: v1.id },
      allowUnknownFields: true,
    });

    const [entry] = await audited(t);
    expect(entry).toMatchObject({
      actorType: "user",
      actorId: t.ownerId,
      requestId: res.headers.get("x-request-id"),
    });
    expect(JSON.parse(entry!.details)).toEqual({
      from: { allowUnknownFields: false },
      to: { allowUnknownFields: true },
    });
    expect(JSON.parse(entry!.targets)).toEqual([{ type: "tenant", id: t.tenantId }]);

    expect((await put(t, { allowUnknownFields: false })).status).toBe(200);
    expect((await edgePointer(t.tenantId))!.allowUnknownFields).toBe(false);
    expect(await audited(t)).toHaveLength(2);
  });

  it("set before the first deployment, travels with it and with every later one, and is re-sent at start-up", async () => {
    const t = await h.newTenant();
    expect((await put(t, { allowUnknownFields: true })).status).toBe(200);
    expect(await edgePointer(t.tenantId)).toBeNull();

    const v1 = await t.publish(m1);
    await t.deploy(v1.id);
    expect(await edgePointer(t.tenantId)).toMatchObject({ revision: 1, allowUnknownFields: true });
    await t.deploy(v1.id, { reason: "redeploy" });
    expect(await edgePointer(t.tenantId)).toMatchObject({ revision: 2, allowUnknownFields: true });

    await h.kv.delete(kvKeys.deployment(t.tenantId));
    await syncDeploymentsToEdge(h.deps.db, h.edge);
    expect(await edgePointer(t.tenantId)).toMatchObject({ revision: 2, allowUnknownFields: true });
  });

  it("is the tenant's own: another tenant's pointer keeps refusing unknown fields", async () => {
    const [a, b] = await Promise.all([h.newTenant(), h.newTenant()]);
    for (const t of [a, b]) await t.deploy((await t.publish(m1)).id);
    expect((await put(a, { allowUnknownFields: true })).status).toBe(200);
    expect((await edgePointer(a.tenantId))!.allowUnknownFields).toBe(true);
    expect((await edgePointer(b.tenantId))!.allowUnknownFields).toBe(false);
    expect(await get(b)).toEqual({ allowUnknownFields: false });
  });
});

describe("/v1/settings/predict: error", () => {
  it("400 for a missing or non-boolean setting, 415 for a non-JSON body; nothing changes or is audited", async () => {
    const t = await h.newTenant();
    await expectError(await put(t, {}), 400, "INVALID_REQUEST");
    await expectError(await put(t, { allowUnknownFields: "yes" }), 400, "INVALID_REQUEST");
    await expectError(await put(t, "{"), 400, "INVALID_REQUEST");
    const text = await h.request("/v1/settings/predict", {
      method: "PUT",
      token: t.ownerToken,
      headers: { "content-type": "text/plain" },
      body: "allowUnknownFields=true",
    });
    await expectError(text, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await get(t)).toEqual({ allowUnknownFields: false });
    expect(await audited(t)).toEqual([]);
  });
});

describe("/v1/settings/predict: security", () => {
  it("requires a valid token for both methods", async () => {
    await expectAuthRequired(h, "GET", "/v1/settings/predict");
    await expectAuthRequired(
      h,
      "PUT",
      "/v1/settings/predict",
      {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ allowUnknownFields: true }),
      },
      { control: "owner" },
    );
  });

  it("only owners and admins change it; ml engineers and analysts read it; API clients cannot change it", async () => {
    const t = await h.newTenant();
    for (const role of ["ml-engineer", "analyst", "auditor"] as const)
      await expectError(await put(t, { allowUnknownFields: true }, await t.tokenFor(role)), 403, "FORBIDDEN");
    await expectError(
      await put(t, { allowUnknownFields: true }, await t.clientToken(["deployments:write"])),
      403,
      "INSUFFICIENT_SCOPE",
    );
    expect((await put(t, { allowUnknownFields: true }, await t.tokenFor("admin"))).status).toBe(200);
    for (const role of ["ml-engineer", "analyst"] as const) {
      const res = await h.request("/v1/settings/predict", { token: await t.tokenFor(role) });
      expect(predictSettingsSchema.parse(await res.json())).toEqual({ allowUnknownFields: true });
    }
  });
});
