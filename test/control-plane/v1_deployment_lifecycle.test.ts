import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentHistoryPageSchema } from "#shared/deployment-history.ts";
import { edgeDeploymentSchema, kvKeys } from "#shared/kv.ts";
import { deploymentSchema } from "#shared/registry.ts";
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

const history = async (t: TestTenant, query = "", token = t.ownerToken) => {
  const res = await h.request(`/v1/deployment/history${query}`, { token });
  expect(res.status, await res.clone().text()).toBe(200);
  return deploymentHistoryPageSchema.parse(await res.json());
};

const rollback = (
  t: TestTenant,
  body?: unknown,
  headers: Record<string, string> = {},
  token = t.ownerToken,
) =>
  h.request("/v1/deployment/rollback", {
    method: "POST",
    token,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });

/** Sets the valid_from of a tenant's revision, so "at time T" questions have well-separated answers. */
async function backdate(t: TestTenant, revision: number, at: number) {
  const rows = await h.deps.db
    .select()
    .from(deploymentHistory)
    .where(eq(deploymentHistory.tenantId, t.tenantId));
  const row = rows.find((r) => r.revision === revision)!;
  await h.deps.db.update(deploymentHistory).set({ validFrom: at }).where(eq(deploymentHistory.id, row.id));
}

describe("the lifecycle: publish → deploy → canary → promote → rollback → history", () => {
  it("walks every step and answers which version served at any time", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const v2 = await t.publish(m2);
    await t.deploy(v1.id, { reason: "launch" });
    await t.deploy(v1.id, { canary: { versionId: v2.id, weight: 10 }, reason: "canary" });
    await t.deploy(v1.id, { canary: { versionId: v2.id, weight: 50 }, reason: "widen" });
    await t.deploy(v2.id, { canary: null, reason: "promote" });
    const res = await rollback(t, { reason: "v2 misbehaves" });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe('"5"');
    const rolled = deploymentSchema.parse(await res.json());
    expect(rolled).toMatchObject({ revision: 5, production: { versionId: v1.id, version: 1 }, canary: null });
    const pointer = edgeDeploymentSchema.parse(
      JSON.parse((await h.kv.get(kvKeys.deployment(t.tenantId), "text"))!),
    );
    expect(pointer).toMatchObject({ revision: 5, production: { versionId: v1.id } });
    expect(pointer.canary).toBeUndefined();

    const base = Date.parse("2030-01-01T00:00:00Z");
    for (let rev = 1; rev <= 5; rev++) await backdate(t, rev, base + rev * 3600_000);
    const page = await history(t);
    expect(page.nextCursor).toBeNull();
    expect(
      page.entries.map((e) => [e.revision, e.production.version, e.canary?.weight ?? null, e.reason]),
    ).toEqual([
      [5, 1, null, "v2 misbehaves"],
      [4, 2, null, "promote"],
      [3, 1, 50, "widen"],
      [2, 1, 10, "canary"],
      [1, 1, null, "launch"],
    ]);
    expect(page.entries[0]!.validUntil).toBeNull();
    expect(page.entries[1]!.validUntil).toBe(page.entries[0]!.validFrom);
    expect(page.entries[3]!.canary).toEqual({ versionId: v2.id, name: "churn", version: 2, weight: 10 });

    const at = async (ms: number) => (await history(t, `?at=${new Date(ms).toISOString()}`)).entries;
    expect((await at(base + 4.5 * 3600_000))[0]).toMatchObject({
      revision: 4,
      production: { versionId: v2.id },
    });
    expect((await at(base + 3 * 3600_000))[0]).toMatchObject({ revision: 3 }); // valid_from is inclusive
    expect((await at(base + 99 * 3600_000))[0]).toMatchObject({ revision: 5, validUntil: null });

    const actions = (await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId))).map(
      (r) => r.action,
    );
    expect(actions.filter((a) => a === "deployment.update")).toHaveLength(4);
    expect(actions.at(-1)).toBe("deployment.rollback");
  });
});

describe("GET /v1/deployment/history", () => {
  it("happy: pages newest first with a cursor", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    for (let i = 0; i < 5; i++) await t.deploy(v1.id, { reason: `r${i}` });
    const first = await history(t, "?limit=2");
    expect(first.entries.map((e) => e.revision)).toEqual([5, 4]);
    expect(first.nextCursor).toBe(4);
    const second = await history(t, `?limit=2&cursor=${first.nextCursor}`);
    expect(second.entries.map((e) => e.revision)).toEqual([3, 2]);
    expect(second.entries[0]!.validUntil).toBe(first.entries[1]!.validFrom);
    const last = await history(t, `?limit=2&cursor=${second.nextCursor}`);
    expect(last.entries.map((e) => e.revision)).toEqual([1]);
    expect(last.nextCursor).toBeNull();
    expect((await history(await h.newTenant())).entries).toEqual([]);
  });

  it("error: a time before the first deployment is 404; a malformed time or limit is 400 naming it", async () => {
    const t = await h.newTenant();
    await t.deploy((await t.publish(m1)).id);
    await expectError(
      await h.request("/v1/deployment/history?at=2001-01-01T00:00:00Z", { token: t.ownerToken }),
      404,
      "NOT_FOUND",
    );
    for (const [query, field] of [
      ["?at=yesterday", "at"],
      ["?limit=0", "limit"],
      ["?limit=201", "limit"],
      ["?cursor=-1", "cursor"],
    ] as const) {
      const err = await expectError(
        await h.request(`/v1/deployment/history${query}`, { token: t.ownerToken }),
        400,
        "INVALID_REQUEST",
      );
      expect(err.error.issues?.map((i) => i.path).join(" "), query).toContain(field);
    }
  });

  it("security: requires a valid token; auditors and predict-only clients are refused; tenants see their own", async () => {
    await expectAuthRequired(h, "GET", "/v1/deployment/history");
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const va = await a.publish(m1);
    await a.deploy(va.id);
    await expectError(
      await h.request("/v1/deployment/history", { token: await a.tokenFor("auditor") }),
      403,
      "FORBIDDEN",
    );
    await expectError(
      await h.request("/v1/deployment/history", { token: await a.clientToken(["predict"]) }),
      403,
      "INSUFFICIENT_SCOPE",
    );
    const res = await h.request(`/v1/deployment/history?at=${new Date().toISOString()}`, {
      token: b.ownerToken,
    });
    const text = await res.clone().text();
    await expectError(res, 404, "NOT_FOUND");
    expect(text).not.toContain(va.id);
    expect((await history(b)).entries).toEqual([]);
  });
});

describe("POST /v1/deployment/rollback", () => {
  it("happy: keeps shadows, defaults the reason, and skips revisions that served the same production", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const v2 = await t.publish(m2);
    await t.deploy(v1.id);
    await t.deploy(v2.id, { shadows: [v1.id] });
    await t.deploy(v2.id, { shadows: [v1.id], canary: { versionId: v1.id, weight: 5 } });
    const res = await rollback(
      await h.newTenant().then(() => t),
      undefined,
      {},
      await t.tokenFor("ml-engineer"),
    );
    expect(res.status).toBe(200);
    const d = deploymentSchema.parse(await res.json());
    expect(d).toMatchObject({ revision: 4, production: { versionId: v1.id }, canary: null });
    expect(d.shadows.map((s) => s.versionId)).toEqual([v1.id]);
    const [latest] = (await history(t)).entries;
    expect(latest!.reason).toBe("Rollback to the production of revision 1");
  });

  it("error: 404 without a deployment or without an earlier production; 409 on a stale If-Match", async () => {
    const t = await h.newTenant();
    await expectError(await rollback(t), 404, "NOT_FOUND");
    const v1 = await t.publish(m1);
    const v2 = await t.publish(m2);
    await t.deploy(v1.id);
    await t.deploy(v1.id, { canary: { versionId: v2.id, weight: 20 } });
    const none = await expectError(await rollback(t), 404, "NOT_FOUND");
    expect(none.error.message).toContain("roll back");
    await t.deploy(v2.id);
    const stale = await expectError(await rollback(t, undefined, { "if-match": '"2"' }), 409, "CONFLICT");
    expect(stale.error.message).toContain("now 3");
    expect((await rollback(t, undefined, { "if-match": '"3"' })).status).toBe(200);
    await expectError(await rollback(t, { reason: "x".repeat(501) }), 400, "INVALID_REQUEST");
    await expectError(await rollback(t, "{"), 400, "INVALID_REQUEST");
    const wrongType = await h.request("/v1/deployment/rollback", {
      method: "POST",
      token: t.ownerToken,
      headers: { "content-type": "text/plain" },
      body: "now",
    });
    await expectError(wrongType, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("security: requires a valid token; readers cannot roll back; another tenant's deployment is untouched", async () => {
    await expectAuthRequired(h, "POST", "/v1/deployment/rollback");
    const a = await h.newTenant("A");
    const v1 = await a.publish(m1);
    const v2 = await a.publish(m2);
    await a.deploy(v1.id);
    await a.deploy(v2.id);
    const pointer = await h.kv.get(kvKeys.deployment(a.tenantId), "text");
    await expectError(await rollback(a, undefined, {}, await a.tokenFor("analyst")), 403, "FORBIDDEN");
    await expectError(
      await rollback(a, undefined, {}, await a.clientToken(["models:read"])),
      403,
      "INSUFFICIENT_SCOPE",
    );
    const b = await h.newTenant("B");
    await expectError(await rollback(b), 404, "NOT_FOUND");
    expect(await h.kv.get(kvKeys.deployment(a.tenantId), "text")).toBe(pointer);
  });
});

// ---------------------------------------------------------------------------------------------------------
// GET /v1/deployment: what serves now

describe("GET /v1/deployment: happy", () => {
  it("returns the current deployment with its revision as the ETag, to every reader", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const deployed = await t.deploy(v1.id);
    const tokens: [string, string][] = [
      ["owner", t.ownerToken],
      ["admin", await t.tokenFor("admin")],
      ["ml-engineer", await t.tokenFor("ml-engineer")],
      ["analyst", await t.tokenFor("analyst")],
      ["models:read client", await t.clientToken(["models:read"])],
      ["deployments:write client", await t.clientToken(["deployments:write"])],
    ];
    for (const [who, token] of tokens) {
      const res = await h.request("/v1/deployment", { token });
      expect(res.status, who).toBe(200);
      expect(res.headers.get("etag"), who).toBe('"1"');
      expect(deploymentSchema.parse(await res.json()), who).toEqual({
        ...deployed,
        edge: { confirmed: false, revision: null, servedAt: null },
      });
    }
  });

  it("reports edge.confirmed once the edge's served report reaches the deployment's revision", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    await t.deploy(v1.id);
    const deployed = await t.deploy(v1.id, { reason: "second revision" });
    const edgeOf = async () =>
      deploymentSchema.parse(await (await h.request("/v1/deployment", { token: t.ownerToken })).json()).edge;
    const servedAt = new Date().toISOString();
    const report = (revision: number) =>
      h.kv.put(kvKeys.served(t.tenantId), JSON.stringify({ revision, productionVersionId: v1.id, servedAt }));

    // A malformed report reads as "not yet", never as an error.
    await h.kv.put(kvKeys.served(t.tenantId), "{not json");
    expect(await edgeOf()).toEqual({ confirmed: false, revision: null, servedAt: null });
    // A "not yet" is reused for a second, so later reports show within a poll or two, as a client sees them.
    await report(deployed.revision - 1);
    await expect
      .poll(edgeOf, { timeout: 5_000, interval: 200 })
      .toEqual({ confirmed: false, revision: deployed.revision - 1, servedAt });
    await report(deployed.revision);
    await expect
      .poll(edgeOf, { timeout: 5_000, interval: 200 })
      .toEqual({ confirmed: true, revision: deployed.revision, servedAt });
  });

  it("reads a confirmed revision's report from KV once in a few seconds, and a new revision's apart", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const first = await t.deploy(v1.id);
    const edgeOf = async () =>
      deploymentSchema.parse(await (await h.request("/v1/deployment", { token: t.ownerToken })).json()).edge;
    const servedAt = new Date().toISOString();
    const report = (revision: number) =>
      h.kv.put(kvKeys.served(t.tenantId), JSON.stringify({ revision, productionVersionId: v1.id, servedAt }));
    await report(first.revision);
    expect(await edgeOf()).toMatchObject({ confirmed: true, revision: first.revision });
    // The report vanishing within the confirmation's few seconds does not unconfirm a served revision.
    await h.kv.delete(kvKeys.served(t.tenantId));
    expect(await edgeOf()).toMatchObject({ confirmed: true, revision: first.revision });
    // A new revision is a new key: not confirmed until its own report arrives.
    const second = await t.deploy(v1.id, { reason: "second revision" });
    expect(await edgeOf()).toEqual({ confirmed: false, revision: null, servedAt: null });
    await report(second.revision);
    await expect
      .poll(edgeOf, { timeout: 5_000, interval: 200 })
      .toMatchObject({ confirmed: true, revision: second.revision });
  });
});

describe("GET /v1/deployment: error", () => {
  it("answers 404 NOT_FOUND when the tenant has no deployment yet", async () => {
    const t = await h.newTenant();
    await t.publish(m1);
    const res = await h.request("/v1/deployment", { token: t.ownerToken });
    await expectError(res, 404, "NOT_FOUND");
    expect(res.headers.get("etag")).toBeNull();
  });
});

describe("GET /v1/deployment: security", () => {
  it("requires a valid token (missing, garbage, expired, wrong audience, foreign key → 401)", async () => {
    await expectAuthRequired(h, "GET", "/v1/deployment");
  });

  it("forbids auditors (403 FORBIDDEN) and clients without a read scope (403 INSUFFICIENT_SCOPE)", async () => {
    const t = await h.newTenant();
    await t.deploy((await t.publish(m1)).id);
    await expectError(
      await h.request("/v1/deployment", { token: await t.tokenFor("auditor") }),
      403,
      "FORBIDDEN",
    );
    for (const scopes of [["predict"], ["models:publish"], ["feedback:write"]] as const) {
      const res = await h.request("/v1/deployment", { token: await t.clientToken([...scopes]) });
      await expectError(res, 403, "INSUFFICIENT_SCOPE");
    }
  });

  it("shows each tenant only its own deployment", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const va = await a.publish(m1);
    await a.deploy(va.id);
    const res = await h.request("/v1/deployment", { token: b.ownerToken });
    const text = await res.clone().text();
    await expectError(res, 404, "NOT_FOUND");
    for (const leak of [a.tenantId, va.id]) expect(text).not.toContain(leak);
  });
});
