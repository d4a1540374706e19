import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClientSchema, apiClientWithSecretSchema } from "#shared/identity.ts";
import { kvKeys, tenantLimitsSchema, type UsageRecord } from "#shared/kv.ts";
import { monthBounds, monthOf } from "#shared/time.ts";
import { usageResponseSchema } from "#shared/usage.ts";
import { auditLog } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

const METRICS_TOKEN = "metrics-token-for-the-quota-gauges-0123456789abcdef";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane({ METRICS_TOKEN });
});
afterAll(() => h?.close());

const json = (method: string, token: string, body: unknown): RequestInit & { token: string } => ({
  method,
  token,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

const putQuota = (token: string, body: unknown) => h.request("/v1/settings/quota", json("PUT", token, body));

const publishedLimits = async (tenantId: string) => {
  const text = await h.kv.get(kvKeys.limits(tenantId), "text");
  return text === null ? null : tenantLimitsSchema.parse(JSON.parse(text));
};

async function auditOf(tenantId: string, action: string) {
  const rows = await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, tenantId));
  return rows.filter((r) => r.action === action).map((r) => JSON.parse(r.details) as Record<string, unknown>);
}

async function createClient(t: TestTenant, body: Record<string, unknown>) {
  const res = await h.request("/v1/clients", json("POST", t.ownerToken, { scopes: ["predict"], ...body }));
  expect(res.status, await res.clone().text()).toBe(201);
  return apiClientWithSecretSchema.parse(await res.json()).client;
}

/** What the edge's quota meter writes to KV. */
async function writeUsage(tenantId: string, record: UsageRecord) {
  await h.kv.put(kvKeys.usage(tenantId, record.month), JSON.stringify(record));
}

const usage = async (token: string, query = "") => {
  const res = await h.request(`/v1/usage${query}`, { token });
  expect(res.status, await res.clone().text()).toBe(200);
  return usageResponseSchema.parse(await res.json());
};

describe("PUT /v1/settings/quota", () => {
  it("happy: sets the tenant's monthly quota, publishes it with the limits, audited; null removes it", async () => {
    const t = await h.newTenant();
    const res = await putQuota(await t.tokenFor("admin"), { monthlyPredictionQuota: 250_000 });
    expect(res.status).toBe(200);
    const expected = {
      tenant: { ratePerSecond: 1000, burst: 2000 },
      clients: {},
      quotas: { tenant: 250_000, clients: {} },
    };
    expect(await res.json()).toEqual(expected);
    expect(await publishedLimits(t.tenantId)).toEqual(expected);

    expect((await putQuota(t.ownerToken, { monthlyPredictionQuota: null })).status).toBe(200);
    // With no quota left the record is what it was before quotas: the edge only counts.
    expect(await publishedLimits(t.tenantId)).toEqual({
      tenant: { ratePerSecond: 1000, burst: 2000 },
      clients: {},
    });
    expect(await auditOf(t.tenantId, "quota.update")).toEqual([
      { from: null, to: 250_000 },
      { from: 250_000, to: null },
    ]);
  });

  it("error: refuses a negative, fractional, too large, missing or non-numeric quota with 400, and non-JSON with 415", async () => {
    const t = await h.newTenant();
    for (const body of [
      { monthlyPredictionQuota: -1 },
      { monthlyPredictionQuota: 1.5 },
      { monthlyPredictionQuota: 1e13 },
      { monthlyPredictionQuota: "1000" },
      {},
    ]) {
      const err = await expectError(await putQuota(t.ownerToken, body), 400, "INVALID_REQUEST");
      expect(
        err.error.issues?.map((i) => i.path),
        JSON.stringify(body),
      ).toContain("monthlyPredictionQuota");
    }
    const text = await h.request("/v1/settings/quota", { method: "PUT", token: t.ownerToken, body: "1" });
    await expectError(text, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await publishedLimits(t.tenantId)).toBeNull();
    expect(await auditOf(t.tenantId, "quota.update")).toEqual([]);
  });

  it("security: requires a valid token; only owners and admins; each tenant sets only its own", async () => {
    await expectAuthRequired(
      h,
      "PUT",
      "/v1/settings/quota",
      {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ monthlyPredictionQuota: 1 }),
      },
      { control: "owner" },
    );
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    for (const role of ["ml-engineer", "analyst", "auditor"] as const) {
      await expectError(
        await putQuota(await a.tokenFor(role), { monthlyPredictionQuota: 1 }),
        403,
        "FORBIDDEN",
      );
    }
    const machine = await a.clientToken(["predict", "models:publish", "deployments:write"]);
    await expectError(await putQuota(machine, { monthlyPredictionQuota: 1 }), 403, "INSUFFICIENT_SCOPE");
    expect((await putQuota(b.ownerToken, { monthlyPredictionQuota: 7 })).status).toBe(200);
    expect(await publishedLimits(a.tenantId)).toBeNull();
    expect((await publishedLimits(b.tenantId))?.quotas).toEqual({ tenant: 7, clients: {} });
  });
});

describe("a client's own monthly quota", () => {
  it("happy: set on create and update, published beside the tenant's, audited; revoking or null removes it", async () => {
    const t = await h.newTenant();
    const a = await createClient(t, { name: "a", monthlyPredictionQuota: 5000 });
    expect(a.monthlyPredictionQuota).toBe(5000);
    const b = await createClient(t, { name: "b" });
    expect(b.monthlyPredictionQuota).toBeNull();
    expect((await publishedLimits(t.tenantId))?.quotas).toEqual({ tenant: null, clients: { [a.id]: 5000 } });

    const patched = await h.request(
      `/v1/clients/${b.id}`,
      json("PATCH", t.ownerToken, { monthlyPredictionQuota: 0 }),
    );
    expect(patched.status).toBe(200);
    expect(apiClientSchema.parse(await patched.json()).monthlyPredictionQuota).toBe(0);
    expect((await publishedLimits(t.tenantId))?.quotas?.clients).toEqual({ [a.id]: 5000, [b.id]: 0 });
    const updates = await auditOf(t.tenantId, "client.update");
    expect(updates.at(-1)).toEqual({
      from: { monthlyPredictionQuota: null },
      to: { monthlyPredictionQuota: 0 },
    });
    expect((await auditOf(t.tenantId, "client.create"))[0]).toMatchObject({ monthlyPredictionQuota: 5000 });

    expect(
      (await h.request(`/v1/clients/${b.id}`, json("PATCH", t.ownerToken, { monthlyPredictionQuota: null })))
        .status,
    ).toBe(200);
    expect(
      (await h.request(`/v1/clients/${a.id}/revoke`, { method: "POST", token: t.ownerToken })).status,
    ).toBe(200);
    expect((await publishedLimits(t.tenantId))?.quotas).toBeUndefined();
  });

  it("error: refuses a bad quota on create and update with 400 naming the field, changing nothing", async () => {
    const t = await h.newTenant();
    for (const quota of [-5, 2.5, "lots"]) {
      const res = await h.request(
        "/v1/clients",
        json("POST", t.ownerToken, { name: "x", scopes: ["predict"], monthlyPredictionQuota: quota }),
      );
      const err = await expectError(res, 400, "INVALID_REQUEST");
      expect(err.error.issues?.map((i) => i.path)).toContain("monthlyPredictionQuota");
    }
    const c = await createClient(t, { name: "c" });
    const bad = await h.request(
      `/v1/clients/${c.id}`,
      json("PATCH", t.ownerToken, { monthlyPredictionQuota: -1 }),
    );
    await expectError(bad, 400, "INVALID_REQUEST");
    await expectError(
      await h.request(`/v1/clients/${c.id}`, json("PATCH", t.ownerToken, {})),
      400,
      "INVALID_REQUEST",
    );
    expect(await publishedLimits(t.tenantId)).toBeNull();
  });

  it("security: a client's quota is set by owners and admins of its own tenant only", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const c = await createClient(a, { name: "c" });
    await expectError(
      await h.request(
        `/v1/clients/${c.id}`,
        json("PATCH", await a.tokenFor("analyst"), { monthlyPredictionQuota: 1 }),
      ),
      403,
      "FORBIDDEN",
    );
    await expectError(
      await h.request(`/v1/clients/${c.id}`, json("PATCH", b.ownerToken, { monthlyPredictionQuota: 1 })),
      404,
      "NOT_FOUND",
    );
    expect(await publishedLimits(a.tenantId)).toBeNull();
    expect(await publishedLimits(b.tenantId)).toBeNull();
  });
});

describe("GET /v1/usage", () => {
  it("happy: this month's counts from the edge against the quotas, tenant-wide and per client", async () => {
    const t = await h.newTenant();
    const month = monthOf(Date.now());
    expect((await putQuota(t.ownerToken, { monthlyPredictionQuota: 1000 })).status).toBe(200);
    const busy = await createClient(t, { name: "busy", monthlyPredictionQuota: 600 });
    const capped = await createClient(t, { name: "capped", monthlyPredictionQuota: 50 });
    const quiet = await createClient(t, { name: "quiet" });
    await writeUsage(t.tenantId, {
      month,
      used: 720,
      clients: { [busy.id]: 600, [quiet.id]: 120, cl_gone: 0 },
      updatedAt: "2026-07-14T10:00:00.000Z",
    });
    const body = await usage(await t.tokenFor("analyst"));
    expect(body).toEqual({
      month,
      resetsAt: new Date(monthBounds(month).endsAt).toISOString(),
      tenant: { used: 720, limit: 1000 },
      clients: [
        { id: busy.id, name: "busy", revoked: false, used: 600, limit: 600 },
        { id: quiet.id, name: "quiet", revoked: false, used: 120, limit: null },
        { id: capped.id, name: "capped", revoked: false, used: 0, limit: 50 },
        { id: "cl_gone", name: null, revoked: false, used: 0, limit: null },
      ],
      updatedAt: "2026-07-14T10:00:00.000Z",
    });
  });

  it("happy: any month by ?month=YYYY-MM; a month without predictions is all zeros", async () => {
    const t = await h.newTenant();
    const c = await createClient(t, { name: "c" });
    await writeUsage(t.tenantId, {
      month: "2025-12",
      used: 9,
      clients: { [c.id]: 9 },
      updatedAt: "2026-01-01T00:00:03.000Z",
    });
    const december = await usage(t.ownerToken, "?month=2025-12");
    expect(december).toMatchObject({
      month: "2025-12",
      resetsAt: "2026-01-01T00:00:00.000Z",
      tenant: { used: 9, limit: null },
    });
    expect(december.clients).toEqual([{ id: c.id, name: "c", revoked: false, used: 9, limit: null }]);
    expect(await usage(t.ownerToken, "?month=2026-01")).toMatchObject({
      tenant: { used: 0, limit: null },
      clients: [],
      updatedAt: null,
    });
  });

  it("error: refuses a malformed month with 400; an unreadable edge record is a 503, not a 500", async () => {
    const t = await h.newTenant();
    for (const month of ["2026-13", "2026-7", "July", "2026-07-01"]) {
      const err = await expectError(
        await h.request(`/v1/usage?month=${month}`, { token: t.ownerToken }),
        400,
        "INVALID_REQUEST",
      );
      expect(err.error.issues?.map((i) => i.path)).toEqual(["query.month"]);
    }
    await h.kv.put(kvKeys.usage(t.tenantId, "2026-02"), "{not json");
    await expectError(
      await h.request("/v1/usage?month=2026-02", { token: t.ownerToken }),
      503,
      "UNAVAILABLE",
    );
  });

  it("security: requires a valid token; monitoring readers only; each tenant reads only its own usage", async () => {
    await expectAuthRequired(h, "GET", "/v1/usage");
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    await expectError(await h.request("/v1/usage", { token: await a.tokenFor("auditor") }), 403, "FORBIDDEN");
    await expectError(
      await h.request("/v1/usage", { token: await a.clientToken(["predict"]) }),
      403,
      "INSUFFICIENT_SCOPE",
    );
    expect((await usage(await a.clientToken(["models:read"]))).tenant.used).toBe(0);
    const month = monthOf(Date.now());
    await writeUsage(a.tenantId, { month, used: 42, clients: {}, updatedAt: new Date().toISOString() });
    expect((await usage(b.ownerToken)).tenant.used).toBe(0);
    expect((await usage(a.ownerToken)).tenant.used).toBe(42);
  });
});

describe("quota gauges on /metrics", () => {
  it("exposes this month's usage and the quotas by tenant and by client with its own quota, to the metrics token only", async () => {
    const t = await h.newTenant();
    expect((await putQuota(t.ownerToken, { monthlyPredictionQuota: 900 })).status).toBe(200);
    const own = await createClient(t, { name: "own", monthlyPredictionQuota: 300 });
    const other = await createClient(t, { name: "other" });
    await writeUsage(t.tenantId, {
      month: monthOf(Date.now()),
      used: 250,
      clients: { [own.id]: 200, [other.id]: 50 },
      updatedAt: new Date().toISOString(),
    });
    // The first scrape reads the edge store; later ones within a minute serve what it read.
    expect((await h.request("/metrics")).status).toBe(401);
    const res = await h.request("/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const text = await res.text();
    expect(text).toContain(`churn_prediction_quota_used{tenant="${t.tenantId}"} 250\n`);
    expect(text).toContain(`churn_prediction_quota_used{tenant="${t.tenantId}",client="${own.id}"} 200\n`);
    expect(text).toContain(`churn_prediction_quota_limit{tenant="${t.tenantId}"} 900\n`);
    expect(text).toContain(`churn_prediction_quota_limit{tenant="${t.tenantId}",client="${own.id}"} 300\n`);
    // Clients without a quota of their own add no series.
    expect(text).not.toContain(other.id);
  });
});
