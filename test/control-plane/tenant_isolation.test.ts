import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgeDeploymentSchema, kvKeys } from "#shared/kv.ts";
import { deploymentSchema, modelVersionSchema } from "#shared/registry.ts";
import {
  type ControlPlaneHarness,
  expectError,
  type Fixture,
  signWithActiveKey,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
let m1: Fixture;
let m2: Fixture;
beforeAll(async () => {
  h = await startControlPlane();
  [m1, m2] = await Promise.all([h.fixture(7), h.fixture(8)]);
});
afterAll(() => h?.close());

/** Tenant A with two versions of "churn" deployed (v1 production, v2 canary). */
async function populatedTenant() {
  const a = await h.newTenant("A");
  const v1 = await a.publish(m1);
  const v2 = await a.publish(m2);
  await a.deploy(v1.id, { canary: { versionId: v2.id, weight: 10 } });
  return { a, v1, v2, secrets: [a.tenantId, a.ownerId, v1.id, v2.id, v1.modelId, v1.sha256, v2.sha256] };
}

/** Every token tenant B could hold, with every permission. */
async function tokensOf(b: TestTenant): Promise<[string, string][]> {
  return [
    ["B owner", b.ownerToken],
    ["B admin", await b.tokenFor("admin")],
    ["B client", await b.clientToken(["models:read", "models:publish", "deployments:write"])],
  ];
}

const expectNoLeak = (text: string, secrets: string[]) => {
  for (const s of secrets) expect(text, `response leaks ${s}`).not.toContain(s);
};

describe("tenant isolation", () => {
  it("tenant B cannot list tenant A's model versions: 404 like a model that does not exist", async () => {
    const { secrets } = await populatedTenant();
    const b = await h.newTenant("B");
    for (const [who, token] of await tokensOf(b)) {
      const res = await h.request("/v1/models/churn/versions", { token });
      const text = await res.clone().text();
      await expectError(res, 404, "NOT_FOUND");
      expectNoLeak(text, secrets);
      expect(JSON.parse(text).error.message, who).toBe("Model 'churn' not found");
    }
  });

  it("tenant B cannot deploy tenant A's version ids: 404, never 403, and A's edge pointer is untouched", async () => {
    const { a, v1, v2 } = await populatedTenant();
    const b = await h.newTenant("B");
    const aPointer = await h.kv.get(kvKeys.deployment(a.tenantId), "text");
    for (const [who, token] of await tokensOf(b)) {
      for (const body of [
        { production: v1.id },
        { production: v2.id, canary: { versionId: v1.id, weight: 5 } },
      ]) {
        const res = await h.request("/v1/deployment", {
          method: "PUT",
          token,
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        const text = await res.clone().text();
        expect(res.status, who).toBe(404);
        const err = await expectError(res, 404, "NOT_FOUND");
        // The message echoes only the id the caller sent, exactly as for an id that never existed.
        expect(err.error.message).toBe(`Model version '${body.production}' not found`);
        expectNoLeak(text, [a.tenantId, a.ownerId, v1.modelId, v1.sha256, v2.sha256]);
      }
    }
    expect(await h.kv.get(kvKeys.deployment(a.tenantId), "text")).toBe(aPointer);
    expect(await h.kv.get(kvKeys.deployment(b.tenantId), "text")).toBeNull();
    await expectError(await h.request("/v1/deployment", { token: b.ownerToken }), 404, "NOT_FOUND");
  });

  it("the same model name in two tenants gives two unrelated models; each sees only its own", async () => {
    const { a, v1: aV1, secrets } = await populatedTenant();
    const b = await h.newTenant("B");
    const bV1 = await b.publish(m1); // same bytes, same name as A's version 1
    expect(bV1.version).toBe(1);
    expect(bV1.id).not.toBe(aV1.id);
    await b.deploy(bV1.id);

    const listB = await h.request("/v1/models/churn/versions", { token: b.ownerToken });
    const listText = await listB.text();
    const versions = (JSON.parse(listText) as { versions: unknown[] }).versions.map((v) =>
      modelVersionSchema.parse(v),
    );
    expect(versions.map((v) => v.id)).toEqual([bV1.id]);
    expectNoLeak(
      listText,
      secrets.filter((s) => s !== aV1.sha256),
    ); // the digest of identical bytes is shared

    const depB = await h.request("/v1/deployment", { token: b.ownerToken });
    const depText = await depB.text();
    expect(deploymentSchema.parse(JSON.parse(depText))).toMatchObject({
      tenantId: b.tenantId,
      revision: 1,
      production: { versionId: bV1.id },
      canary: null,
    });
    expectNoLeak(
      depText,
      secrets.filter((s) => s !== aV1.sha256),
    );

    // A still sees its own, unchanged.
    const depA = deploymentSchema.parse(
      await (await h.request("/v1/deployment", { token: a.ownerToken })).json(),
    );
    expect(depA).toMatchObject({ tenantId: a.tenantId, production: { versionId: aV1.id } });
    const pointerB = edgeDeploymentSchema.parse(
      JSON.parse((await h.kv.get(kvKeys.deployment(b.tenantId), "text"))!),
    );
    expect(pointerB.tenantId).toBe(b.tenantId);
    expect(pointerB.production.versionId).toBe(bV1.id);
  });

  it("a token naming tenant B but issued to tenant A's client is refused (401)", async () => {
    const { a } = await populatedTenant();
    const b = await h.newTenant("B");
    const client = await a.addApiClient(["models:read", "deployments:write"]);
    // Even a correctly signed token cannot carry a tenant its client does not belong to.
    const forged = await signWithActiveKey(h, {
      tid: b.tenantId,
      sub: client.clientId,
      scope: "models:read",
    });
    await expectError(await h.request("/v1/deployment", { token: forged }), 401, "UNAUTHORIZED");
    // The same client's genuine token stays in tenant A.
    const genuine = await a.exchange(client);
    const res = await h.request("/v1/deployment", { token: genuine });
    expect(deploymentSchema.parse(await res.json()).tenantId).toBe(a.tenantId);
  });
});
