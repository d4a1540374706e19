import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CustomerExport } from "#shared/customer-export.ts";
import type { EdgeEvent } from "#shared/events.ts";
import { newId } from "#shared/ids.ts";
import { auditLog } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  ALL_SCOPES,
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

const SECRET = "export-ingest-secret-0123456789abcdef";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane({ INGEST_SECRET: SECRET });
});
afterAll(() => h?.close());

async function ingest(events: EdgeEvent[]): Promise<void> {
  const res = await h.ingest(events);
  expect(res.status, await res.clone().text()).toBe(200);
}

interface Scored {
  customerId?: string;
  /** The raw record's own customerId, when it differs from the prediction's (or the prediction has none). */
  recordCustomerId?: string;
  probability?: number;
  predictionId?: string;
}

/** One prediction event (raw records attached) at `minutesAgo`, scored by `versionId`. */
function scored(tenantId: string, items: Scored[], minutesAgo = 10, versionId = "mv_export_test"): EdgeEvent {
  return {
    type: "prediction",
    eventId: newId("request"),
    tenantId,
    at: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    versionId,
    version: 1,
    variant: "production",
    predictions: items.map((item) => ({
      predictionId: item.predictionId ?? newId("prediction"),
      ...(item.customerId ? { customerId: item.customerId } : {}),
      probability: item.probability ?? 0.7,
      contact: (item.probability ?? 0.7) >= 0.5,
    })),
    records: items.map((item) => {
      const customerId = item.recordCustomerId ?? item.customerId;
      return { ...(customerId ? { customerId } : {}), tenure: 5, plan: "pro" };
    }),
  };
}

function outcome(tenantId: string, items: { customerId?: string; predictionId?: string }[]): EdgeEvent {
  return {
    type: "feedback",
    eventId: newId("request"),
    tenantId,
    at: new Date().toISOString(),
    feedback: items.map((item) => ({ ...item, churned: true, observedAt: new Date().toISOString() })),
  };
}

async function tenantWithCapture(): Promise<TestTenant> {
  const t = await h.newTenant();
  const res = await h.request("/v1/settings/monitoring", {
    method: "PUT",
    token: t.ownerToken,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ rawRecords: { enabled: true, retentionDays: 30 } }),
  });
  expect(res.status).toBe(200);
  return t;
}

function exportOf(customerId: string, token: string, query = ""): Promise<Response> {
  return h.request(`/v1/customers/${encodeURIComponent(customerId)}/export${query}`, { token });
}

async function exportOk(customerId: string, token: string, query = ""): Promise<CustomerExport> {
  const res = await exportOf(customerId, token, query);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return JSON.parse(text) as CustomerExport;
}

/** Follows nextCursor to the end; returns every page. */
async function allPages(customerId: string, token: string, limit: number): Promise<CustomerExport[]> {
  const pages = [await exportOk(customerId, token, `?limit=${limit}`)];
  while (pages.at(-1)!.nextCursor !== null) {
    const cursor = encodeURIComponent(pages.at(-1)!.nextCursor!);
    pages.push(await exportOk(customerId, token, `?limit=${limit}&cursor=${cursor}`));
    expect(pages.length).toBeLessThan(50);
  }
  return pages;
}

function exportAudits(tenantId: string) {
  return h.deps.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.action, "customer.export")))
    .orderBy(auditLog.seq);
}

describe("GET /v1/customers/{customerId}/export: happy", () => {
  it("answers the customer's predictions with outcomes and raw records, waiting outcomes and orphan records, and nobody else's", async () => {
    const t = await tenantWithCapture();
    const other = await tenantWithCapture();
    const older = scored(t.tenantId, [{ customerId: "cus_subject", probability: 0.2 }], 60);
    const newer = scored(
      t.tenantId,
      [
        { customerId: "cus_subject", probability: 0.9 },
        { customerId: "cus_neighbour", probability: 0.8 },
        // Scored without a customerId, but the record names the customer: reached through the record.
        { recordCustomerId: "cus_subject", probability: 0.4 },
      ],
      5,
    );
    await ingest([older, newer, scored(other.tenantId, [{ customerId: "cus_subject" }])]);
    // Labels the subject's latest prediction; an outcome naming a prediction not yet arrived waits.
    await ingest([outcome(t.tenantId, [{ customerId: "cus_subject" }])]);
    await ingest([outcome(t.tenantId, [{ customerId: "cus_subject", predictionId: "prd_not_arrived" }])]);
    await ingest([outcome(t.tenantId, [{ customerId: "cus_neighbour", predictionId: "prd_neighbours" }])]);

    const page = await exportOk("cus_subject", t.ownerToken);
    expect(page.exportId).toMatch(/^cxp_/);
    expect(page.customerId).toBe("cus_subject");
    expect(page.nextCursor).toBeNull();
    const ids = (e: EdgeEvent) => (e.type === "prediction" ? e.predictions.map((p) => p.predictionId) : []);
    expect(page.predictions.map((p) => p.predictionId)).toEqual([ids(older)[0], ids(newer)[0]]);
    const [first, second] = page.predictions;
    expect(first).toMatchObject({
      versionId: "mv_export_test",
      model: null,
      version: null,
      variant: "production",
      probability: 0.2,
      contact: false,
      outcome: null,
      rawRecord: { record: { customerId: "cus_subject", tenure: 5, plan: "pro" } },
    });
    expect(Date.parse(first!.predictedAt)).toBe(Date.parse(older.at));
    expect(second).toMatchObject({ probability: 0.9, contact: true, outcome: { churned: true } });
    expect(page.pendingOutcomes).toEqual([
      expect.objectContaining({ predictionId: "prd_not_arrived", churned: true }),
    ]);
    expect(page.rawRecords).toEqual([
      expect.objectContaining({
        predictionId: ids(newer)[2],
        record: { customerId: "cus_subject", tenure: 5, plan: "pro" },
      }),
    ]);
    const text = JSON.stringify(page);
    expect(text).not.toContain("cus_neighbour");
    expect(text).not.toContain("prd_neighbours");
    expect(text).not.toContain(ids(newer)[1]!);
  });

  it("names the model and version number of predictions scored by a published version", async () => {
    const t = await h.newTenant();
    const version = await t.publish(await h.fixture());
    await ingest([scored(t.tenantId, [{ customerId: "cus_versioned" }], 1, version.id)]);
    const page = await exportOk("cus_versioned", t.ownerToken);
    expect(page.predictions).toEqual([
      expect.objectContaining({ versionId: version.id, model: "churn", version: version.version }),
    ]);
    // Raw-record storage is off for this tenant: nothing was kept.
    expect(page.predictions[0]!.rawRecord).toBeNull();
  });

  it("pages through the whole export by cursor, with one export id and one audit entry per page", async () => {
    const t = await tenantWithCapture();
    const events = [50, 40, 30, 20, 10].map((minutesAgo) =>
      scored(t.tenantId, [{ customerId: "cus_paged" }], minutesAgo),
    );
    await ingest(events);
    await ingest([outcome(t.tenantId, [{ customerId: "cus_paged", predictionId: "prd_a" }])]);
    await ingest([outcome(t.tenantId, [{ customerId: "cus_paged", predictionId: "prd_b" }])]);
    await ingest([scored(t.tenantId, [{ recordCustomerId: "cus_paged" }], 5)]);

    const whole = await exportOk("cus_paged", t.ownerToken, "?limit=1000");
    expect(whole.predictions).toHaveLength(5);
    expect(whole.pendingOutcomes).toHaveLength(2);
    expect(whole.rawRecords).toHaveLength(1);

    const pages = await allPages("cus_paged", t.ownerToken, 3);
    expect(pages.map((p) => p.predictions.length + p.pendingOutcomes.length + p.rawRecords.length)).toEqual([
      3, 3, 2,
    ]);
    expect(new Set(pages.map((p) => p.exportId)).size).toBe(1);
    expect(pages.flatMap((p) => p.predictions)).toEqual(whole.predictions);
    expect(pages.flatMap((p) => p.pendingOutcomes)).toEqual(whole.pendingOutcomes);
    expect(pages.flatMap((p) => p.rawRecords)).toEqual(whole.rawRecords);

    const audits = await exportAudits(t.tenantId);
    expect(audits).toHaveLength(1 + pages.length);
    const paged = audits.slice(1);
    for (const entry of paged) {
      expect(JSON.parse(entry.targets)).toEqual([{ type: "customer_export", id: pages[0]!.exportId }]);
    }
    expect(paged.map((e) => JSON.parse(e.details))).toEqual([
      { page: "first", predictions: 3, pendingOutcomes: 0, rawRecords: 0, more: true },
      { page: "next", predictions: 2, pendingOutcomes: 1, rawRecords: 0, more: true },
      { page: "next", predictions: 0, pendingOutcomes: 1, rawRecords: 1, more: false },
    ]);
  });
});

describe("GET /v1/customers/{customerId}/export: error", () => {
  it("answers 404 for a customer with nothing stored, and audits nothing then", async () => {
    const t = await h.newTenant();
    const res = await exportOf("cus_never_seen", t.ownerToken);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await expectError(res, 404, "NOT_FOUND");
    expect(body.error.message).not.toContain("cus_never_seen");
    expect(await exportAudits(t.tenantId)).toEqual([]);
  });

  it("refuses bad cursors and limits with 400", async () => {
    const t = await tenantWithCapture();
    await ingest([scored(t.tenantId, [{ customerId: "cus_bad_input" }])]);
    for (const query of [
      "?cursor=not-a-cursor",
      `?cursor=${Buffer.from(JSON.stringify({ e: "cxp_x", s: "p", t: 1, k: "k" })).toString("base64url")}`,
      `?cursor=${"a".repeat(600)}`,
      "?limit=0",
      "?limit=1001",
      "?limit=ten",
    ]) {
      await expectError(await exportOf("cus_bad_input", t.ownerToken, query), 400, "INVALID_REQUEST");
    }
    await expectError(await exportOf("x".repeat(129), t.ownerToken), 400, "INVALID_REQUEST");
  });
});

describe("GET /v1/customers/{customerId}/export: security", () => {
  it("requires a valid token", async () => {
    await expectAuthRequired(h, "GET", "/v1/customers/cus_any/export", {}, { control: "owner" });
  });

  it("is for owners and admins only: other roles and every API client are refused", async () => {
    const t = await tenantWithCapture();
    await ingest([scored(t.tenantId, [{ customerId: "cus_guarded" }])]);
    for (const role of ["analyst", "ml-engineer", "auditor"] as const) {
      const res = await exportOf("cus_guarded", await t.tokenFor(role));
      expect(res.headers.get("cache-control")).toBe("no-store");
      await expectError(res, 403, "FORBIDDEN");
    }
    await expectError(
      await exportOf("cus_guarded", await t.clientToken(ALL_SCOPES)),
      403,
      "INSUFFICIENT_SCOPE",
    );
    expect((await exportOk("cus_guarded", await t.tokenFor("admin"))).predictions).toHaveLength(1);
  });

  it("answers another tenant's customer with 404, exactly like one never seen, with a cursor too", async () => {
    const t = await tenantWithCapture();
    const other = await h.newTenant();
    await ingest([
      scored(t.tenantId, [{ customerId: "cus_foreign" }], 20),
      scored(t.tenantId, [{ customerId: "cus_foreign" }], 10),
    ]);
    await expectError(await exportOf("cus_foreign", other.ownerToken), 404, "NOT_FOUND");
    const page = await exportOk("cus_foreign", t.ownerToken, "?limit=1");
    expect(page.nextCursor).not.toBeNull();
    const cursor = `?limit=1&cursor=${page.nextCursor}`;
    await expectError(await exportOf("cus_foreign", other.ownerToken, cursor), 404, "NOT_FOUND");
    expect(await exportAudits(other.tenantId)).toEqual([]);
    expect((await exportOk("cus_foreign", t.ownerToken, cursor)).predictions).toHaveLength(1);
  });

  it("audits each export with its counts, never the customer's id, and keeps the chain valid", async () => {
    const t = await tenantWithCapture();
    await ingest([scored(t.tenantId, [{ customerId: "cus_private_0815" }])]);
    const page = await exportOk("cus_private_0815", t.ownerToken);
    const [entry] = await exportAudits(t.tenantId);
    expect(entry).toBeDefined();
    expect(JSON.stringify(entry)).not.toContain("cus_private_0815");
    expect(entry!.actorId).toBe(t.ownerId);
    expect(JSON.parse(entry!.targets)).toEqual([{ type: "customer_export", id: page.exportId }]);
    expect(JSON.parse(entry!.details)).toEqual({
      page: "first",
      predictions: 1,
      pendingOutcomes: 0,
      rawRecords: 0,
      more: false,
    });
    const verify = await h.request("/v1/audit/verify", { token: t.ownerToken });
    expect(((await verify.json()) as { ok: boolean }).ok).toBe(true);
  });
});
