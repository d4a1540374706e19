import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeDeployment, edgeDeploymentSchema, kvKeys } from "#shared/kv.ts";
import { deploymentSchema } from "#shared/registry.ts";
import type { Scope } from "#shared/scopes.ts";
import { auditLog, deploymentHistory } from "../../control-plane/src/platform/db/schema/index.ts";
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
let m2: Fixture;
beforeAll(async () => {
  h = await startControlPlane();
  [m1, m2] = await Promise.all([h.fixture(7), h.fixture(8)]);
});
afterAll(() => h?.close());

function put(t: TestTenant, body: unknown, ifMatch?: string, token = t.ownerToken) {
  return h.request("/v1/deployment", {
    method: "PUT",
    token,
    headers: {
      "content-type": "application/json",
      ...(ifMatch !== undefined ? { "if-match": ifMatch } : {}),
    },
    body: JSON.stringify(body),
  });
}

async function edgePointer(tenantId: string): Promise<EdgeDeployment> {
  const raw = await h.kv.get(kvKeys.deployment(tenantId), "text");
  expect(raw, "deployment pointer in KV").not.toBeNull();
  return edgeDeploymentSchema.parse(JSON.parse(raw!));
}

describe("PUT /v1/deployment: happy", () => {
  it("deploys to production: revision 1 with ETag, readable with GET", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const res = await put(t, { production: v1.id, reason: "first model" });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe('"1"');
    const put1 = deploymentSchema.parse(await res.json());
    expect(put1).toMatchObject({
      tenantId: t.tenantId,
      revision: 1,
      production: { versionId: v1.id, name: "churn", version: 1 },
      canary: null,
      shadows: [],
      updatedBy: `user:${t.ownerId}`,
    });
    expect(Date.parse(put1.updatedAt)).toBeGreaterThan(Date.now() - 60_000);

    const get = await h.request("/v1/deployment", { token: t.ownerToken });
    expect(get.status).toBe(200);
    expect(get.headers.get("etag")).toBe('"1"');
    // Nothing has been served yet: the edge has not confirmed the revision.
    expect(deploymentSchema.parse(await get.json())).toEqual({
      ...put1,
      edge: { confirmed: false, revision: null, servedAt: null },
    });
  });

  it("publishes the model bytes, the manifest and then the pointer to the edge KV", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    await t.deploy(v1.id);

    const bytes = await h.kv.get(kvKeys.modelBytes(v1.id), "arrayBuffer");
    expect(new Uint8Array(bytes!)).toEqual(m1.bytes);
    const manifest = JSON.parse((await h.kv.get(kvKeys.modelManifest(v1.id), "text"))!);
    expect(manifest).toEqual(JSON.parse(m1.manifestText));

    const pointer = await edgePointer(t.tenantId);
    expect(pointer).toMatchObject({
      tenantId: t.tenantId,
      revision: 1,
      production: { versionId: v1.id, version: 1, sha256: v1.sha256 },
      shadows: [],
      allowUnknownFields: false,
    });
    expect(pointer.canary).toBeUndefined();
  });

  it("adds a 20% canary with If-Match, visible in GET and in the KV pointer", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const v2 = await t.publish(m2);
    await t.deploy(v1.id);

    const res = await put(t, { production: v1.id, canary: { versionId: v2.id, weight: 20 } }, '"1"');
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe('"2"');

    const get = deploymentSchema.parse(
      await (await h.request("/v1/deployment", { token: t.ownerToken })).json(),
    );
    expect(get.revision).toBe(2);
    expect(get.canary).toEqual({ versionId: v2.id, name: "churn", version: 2, weight: 20 });

    const pointer = await edgePointer(t.tenantId);
    expect(pointer.revision).toBe(2);
    expect(pointer.production.versionId).toBe(v1.id);
    expect(pointer.canary).toEqual({ versionId: v2.id, version: 2, sha256: v2.sha256, weight: 20 });
    expect(new Uint8Array((await h.kv.get(kvKeys.modelBytes(v2.id), "arrayBuffer"))!)).toEqual(m2.bytes);
  });

  it("sets shadows, then promotes and rolls back, each a new revision", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const v2 = await t.publish(m2);
    const d1 = await t.deploy(v1.id, { shadows: [v2.id] });
    expect(d1.shadows).toEqual([{ versionId: v2.id, name: "churn", version: 2 }]);
    expect((await edgePointer(t.tenantId)).shadows).toEqual([
      { versionId: v2.id, version: 2, sha256: v2.sha256 },
    ]);

    const d2 = await t.deploy(v2.id, { canary: null });
    expect(d2).toMatchObject({ revision: 2, production: { versionId: v2.id }, canary: null, shadows: [] });
    const p2 = await edgePointer(t.tenantId);
    expect(p2).toMatchObject({ revision: 2, production: { versionId: v2.id }, shadows: [] });
    expect(p2.canary).toBeUndefined();

    const d3 = await t.deploy(v1.id, { reason: "rollback" });
    expect(d3).toMatchObject({ revision: 3, production: { versionId: v1.id } });
    expect((await edgePointer(t.tenantId)).production.versionId).toBe(v1.id);
  });

  it('accepts the revision in If-Match as "n", W/"n" or n, and 0 before the first deployment', async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    for (const [ifMatch, expected] of [
      ['"0"', 1],
      ['W/"1"', 2],
      ["2", 3],
    ] as const) {
      const res = await put(t, { production: v1.id }, ifMatch);
      expect(res.status, ifMatch).toBe(200);
      expect(res.headers.get("etag")).toBe(`"${expected}"`);
    }
  });

  it("records each change in the deployment history and the audit log", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const v2 = await t.publish(m2);
    const first = await put(t, { production: v1.id, reason: "launch" });
    await put(t, { production: v1.id, canary: { versionId: v2.id, weight: 20 }, reason: "try v2" }, '"1"');

    const history = await h.deps.db
      .select()
      .from(deploymentHistory)
      .where(eq(deploymentHistory.tenantId, t.tenantId))
      .orderBy(deploymentHistory.revision);
    expect(history.map((r) => [r.revision, r.reason, r.actor])).toEqual([
      [1, "launch", `user:${t.ownerId}`],
      [2, "try v2", `user:${t.ownerId}`],
    ]);
    expect(JSON.parse(history[1]!.config)).toEqual({
      production: v1.id,
      canary: { versionId: v2.id, weight: 20 },
      shadows: [],
    });

    const audits = (await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId))).filter(
      (r) => r.action === "deployment.update",
    );
    expect(audits).toHaveLength(2);
    expect(audits[0]!.requestId).toBe(first.headers.get("x-request-id"));
    expect(JSON.parse(audits[0]!.details)).toMatchObject({ revision: 1, from: null, reason: "launch" });
    expect(JSON.parse(audits[1]!.details)).toMatchObject({
      revision: 2,
      from: { production: v1.id, canary: null, weight: null },
      to: { production: v1.id, canary: v2.id, weight: 20 },
    });
    expect(JSON.parse(audits[1]!.targets)).toEqual([
      { type: "model_version", id: v1.id },
      { type: "model_version", id: v2.id },
    ]);
  });

  it("lets admin, ml-engineer and a client with deployments:write deploy", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const client = await t.addApiClient(["deployments:write"]);
    const tokens: [string, string][] = [
      ["admin", await t.tokenFor("admin")],
      ["ml-engineer", await t.tokenFor("ml-engineer")],
      ["client", await t.exchange(client)],
    ];
    for (const [who, token] of tokens) {
      const res = await put(t, { production: v1.id }, undefined, token);
      expect(res.status, who).toBe(200);
    }
    const get = deploymentSchema.parse(
      await (await h.request("/v1/deployment", { token: t.ownerToken })).json(),
    );
    expect(get.revision).toBe(3);
    expect(get.updatedBy).toBe(`client:${client.clientId}`);
  });
});

function putRaw(t: TestTenant, body: string, headers: Record<string, string> = {}) {
  return h.request("/v1/deployment", {
    method: "PUT",
    token: t.ownerToken,
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}

const pointer = (t: TestTenant) => h.kv.get(kvKeys.deployment(t.tenantId), "text");

describe("PUT /v1/deployment: error", () => {
  it("refuses a stale If-Match with 409 CONFLICT and changes nothing", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    await t.deploy(v1.id);
    await t.deploy(v1.id, { reason: "second" }); // now revision 2
    const before = await pointer(t);

    const body = await expectError(
      await putRaw(t, JSON.stringify({ production: v1.id, reason: "stale" }), { "if-match": '"1"' }),
      409,
      "CONFLICT",
    );
    expect(body.error.message).toContain("revision 1");
    expect(body.error.message).toContain("now 2");
    const get = await h.request("/v1/deployment", { token: t.ownerToken });
    expect(get.headers.get("etag")).toBe('"2"');
    expect(await pointer(t)).toBe(before);
  });

  it("refuses If-Match for a revision that does not exist yet with 409", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    await expectError(
      await putRaw(t, JSON.stringify({ production: v1.id }), { "if-match": '"3"' }),
      409,
      "CONFLICT",
    );
    expect(await pointer(t)).toBeNull();
  });

  it("refuses an If-Match that is not a revision with 400", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    for (const ifMatch of ["abc", '"1", "2"', '"-1"']) {
      const body = await expectError(
        await putRaw(t, JSON.stringify({ production: v1.id }), { "if-match": ifMatch }),
        400,
        "INVALID_REQUEST",
      );
      expect(body.error.message).toContain("If-Match");
    }
  });

  it("answers 404 for an unknown version id and publishes nothing to the edge", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    for (const body of [
      { production: "mv_doesnotexist" },
      { production: v1.id, canary: { versionId: "mv_doesnotexist", weight: 10 } },
      { production: v1.id, shadows: ["mv_doesnotexist"] },
    ]) {
      const err = await expectError(await putRaw(t, JSON.stringify(body)), 404, "NOT_FOUND");
      expect(err.error.message).toContain("mv_doesnotexist");
    }
    expect(await pointer(t)).toBeNull();
    expect(await h.kv.get(kvKeys.modelBytes(v1.id), "text")).toBeNull();
    await expectError(await h.request("/v1/deployment", { token: t.ownerToken }), 404, "NOT_FOUND");
  });

  it("refuses bodies that break the schema with 400 naming the field", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const cases: [unknown, string][] = [
      [{}, "production"],
      [{ production: 42 }, "production"],
      [{ production: v1.id, canary: { versionId: v1.id, weight: 101 } }, "canary.weight"],
      [{ production: v1.id, canary: { versionId: v1.id, weight: -1 } }, "canary.weight"],
      [{ production: v1.id, canary: { versionId: v1.id, weight: 20.5 } }, "canary.weight"],
      [{ production: v1.id, canary: { weight: 20 } }, "canary.versionId"],
      [{ production: v1.id, shadows: [v1.id, v1.id, v1.id, v1.id] }, "shadows"],
      [{ production: v1.id, reason: "x".repeat(501) }, "reason"],
    ];
    for (const [body, field] of cases) {
      const err = await expectError(await putRaw(t, JSON.stringify(body)), 400, "INVALID_REQUEST");
      expect(
        err.error.issues?.map((i) => i.path),
        JSON.stringify(body),
      ).toContain(field);
      expect(err.error.message).toContain(field);
    }
    expect(await pointer(t)).toBeNull();
  });

  it("refuses malformed JSON and non-object bodies with 400", async () => {
    const t = await h.newTenant();
    for (const body of ["{not json", "[]", '"production"', "null"]) {
      await expectError(await putRaw(t, body), 400, "INVALID_REQUEST");
    }
  });

  it("refuses bodies that are not JSON with 415", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const body = await expectError(
      await putRaw(t, `production=${v1.id}`, { "content-type": "application/x-www-form-urlencoded" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expect(body.error.message).toContain("application/json");
    await expectError(
      await putRaw(t, JSON.stringify({ production: v1.id }), { "content-type": "text/plain" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expect(await pointer(t)).toBeNull();
  });
});

const putAs = (token: string, body: unknown) =>
  h.request("/v1/deployment", {
    method: "PUT",
    token,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("PUT /v1/deployment: security", () => {
  it("requires a valid token (missing, garbage, expired, wrong audience, foreign key → 401)", async () => {
    await expectAuthRequired(h, "PUT", "/v1/deployment", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ production: "mv_doesnotexist" }),
    });
  });

  it("checks authentication before the body (no 400/415 to anonymous callers)", async () => {
    for (const init of [
      { headers: { "content-type": "text/plain" }, body: "x" },
      { headers: { "content-type": "application/json" }, body: "{not json" },
    ]) {
      await expectError(await h.request("/v1/deployment", { method: "PUT", ...init }), 401, "UNAUTHORIZED");
    }
  });

  it("forbids analyst and auditor users with 403 FORBIDDEN and leaves the deployment alone", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    await t.deploy(v1.id);
    const before = await pointer(t);
    for (const role of ["analyst", "auditor"] as const) {
      const body = await expectError(
        await putAs(await t.tokenFor(role), { production: v1.id }),
        403,
        "FORBIDDEN",
      );
      expect(body.error.message).toContain("deployments:write");
    }
    expect(await pointer(t)).toBe(before);
  });

  it("refuses clients without deployments:write with 403 INSUFFICIENT_SCOPE", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const scopes: Scope[][] = [["predict"], ["models:read"], ["models:publish"], ["feedback:write"]];
    for (const s of scopes) {
      await expectError(
        await putAs(await t.clientToken(s), { production: v1.id }),
        403,
        "INSUFFICIENT_SCOPE",
      );
    }
    expect(await pointer(t)).toBeNull();
  });

  it("cannot deploy another tenant's version: 404 (never 403), and neither tenant's edge pointer moves", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const va = await a.publish(m1, "churn");
    const vb = await b.publish(await h.fixture(8), "churn");
    await a.deploy(va.id);
    const aBefore = await pointer(a);
    const bToken = await b.clientToken(["deployments:write"]);
    for (const [token, body] of [
      [b.ownerToken, { production: va.id }],
      [bToken, { production: va.id }],
      [b.ownerToken, { production: vb.id, canary: { versionId: va.id, weight: 50 } }],
      [b.ownerToken, { production: vb.id, shadows: [va.id] }],
    ] as const) {
      const res = await putAs(token, body);
      const text = await res.clone().text();
      const err = await expectError(res, 404, "NOT_FOUND");
      // Indistinguishable from an id that never existed.
      expect(err.error.message).toBe(`Model version '${va.id}' not found`);
      expect(text).not.toContain(a.tenantId);
    }
    expect(await pointer(a)).toBe(aBefore);
    expect(await pointer(b)).toBeNull();
  });
});
