import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErasureResult } from "#shared/erasure.ts";
import type { EdgeEvent } from "#shared/events.ts";
import { newId } from "#shared/ids.ts";
import {
  auditLog,
  ingestedEvents,
  pendingFeedback,
  predictions,
  rawRecords,
} from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectError,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

const SECRET = "erasure-ingest-secret-0123456789abc";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane({ INGEST_SECRET: SECRET });
});
afterAll(() => h?.close());

async function ingest(events: EdgeEvent[]): Promise<void> {
  const res = await h.ingest(events);
  expect(res.status, await res.clone().text()).toBe(200);
}

/** One prediction event scoring the given customers (raw records attached), at `minutesAgo`. */
function scored(tenantId: string, customers: (string | undefined)[], minutesAgo = 10): EdgeEvent {
  return {
    type: "prediction",
    eventId: newId("request"),
    tenantId,
    at: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    versionId: "mv_erasure_test",
    version: 1,
    variant: "production",
    predictions: customers.map((customerId) => ({
      predictionId: newId("prediction"),
      ...(customerId ? { customerId } : {}),
      probability: 0.6,
      contact: true,
    })),
    records: customers.map((customerId) => ({ ...(customerId ? { customerId } : {}), tenure: 3 })),
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

/** A tenant that stores raw records, so an erasure has every kind of row to reach. */
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

async function erase(t: TestTenant, body: unknown, token = t.ownerToken): Promise<Response> {
  return h.request("/v1/erasures", {
    method: "POST",
    token,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function rowsOf(tenantId: string) {
  const db = h.deps.db;
  const [preds, raws, pending] = await Promise.all([
    db.select().from(predictions).where(eq(predictions.tenantId, tenantId)),
    db.select().from(rawRecords).where(eq(rawRecords.tenantId, tenantId)),
    db.select().from(pendingFeedback).where(eq(pendingFeedback.tenantId, tenantId)),
  ]);
  return { preds, raws, pending };
}

describe("POST /v1/erasures", () => {
  it("erases one customer's predictions, outcomes, raw records and waiting outcomes, and nobody else's", async () => {
    const t = await tenantWithCapture();
    const other = await tenantWithCapture();
    const first = scored(t.tenantId, ["cus_gone", "cus_stays", undefined], 60);
    const second = scored(t.tenantId, ["cus_gone"], 5);
    await ingest([first, second, scored(other.tenantId, ["cus_gone"])]);
    // An outcome that labels a prediction, and one for a customer not scored yet (it waits).
    await ingest([outcome(t.tenantId, [{ customerId: "cus_gone" }, { customerId: "cus_later" }])]);
    await ingest([scored(t.tenantId, ["cus_later"], 1)]);
    await ingest([outcome(t.tenantId, [{ customerId: "cus_gone" }])]);

    const before = await rowsOf(t.tenantId);
    expect(before.preds.filter((p) => p.customerId === "cus_gone")).toHaveLength(2);
    expect(before.preds.some((p) => p.customerId === "cus_gone" && p.label === true)).toBe(true);

    const res = await erase(t, { customerId: "cus_gone" });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const result = JSON.parse(text) as ErasureResult;
    expect(result.erasureId).toMatch(/^era_/);
    expect(result.deleted).toEqual({ predictions: 2, rawRecords: 2, pendingFeedback: 0 });

    const after = await rowsOf(t.tenantId);
    expect(after.preds.map((p) => p.customerId ?? null).sort()).toEqual(
      [null, "cus_later", "cus_stays"].sort(),
    );
    expect(after.raws.map((r) => JSON.parse(r.record).customerId ?? null).sort()).toEqual(
      [null, "cus_later", "cus_stays"].sort(),
    );
    // The other tenant's customer of the same id is not this tenant's to erase.
    expect((await rowsOf(other.tenantId)).preds.map((p) => p.customerId)).toEqual(["cus_gone"]);
    // Delivered-event bookkeeping never held the customer's id.
    const delivered = await h.deps.db
      .select({ payload: ingestedEvents.payload })
      .from(ingestedEvents)
      .where(eq(ingestedEvents.tenantId, t.tenantId));
    expect(delivered.length).toBeGreaterThan(0);
    for (const { payload } of delivered) expect(payload).not.toContain("cus_gone");
  });

  it("erases outcomes still waiting for a prediction of that customer", async () => {
    const t = await tenantWithCapture();
    await ingest([outcome(t.tenantId, [{ customerId: "cus_waiting" }, { customerId: "cus_other" }])]);
    const res = await erase(t, { customerId: "cus_waiting" });
    expect(((await res.json()) as ErasureResult).deleted).toEqual({
      predictions: 0,
      rawRecords: 0,
      pendingFeedback: 1,
    });
    expect((await rowsOf(t.tenantId)).pending.map((p) => p.customerId)).toEqual(["cus_other"]);
  });

  it("erases records sent without a customer id by the prediction ids the tenant received", async () => {
    const t = await tenantWithCapture();
    const event = scored(t.tenantId, [undefined, undefined, undefined]);
    await ingest([event]);
    const ids = event.type === "prediction" ? event.predictions.map((p) => p.predictionId) : [];
    await ingest([outcome(t.tenantId, [{ predictionId: "prd_not_yet_scored" }])]);
    const res = await erase(t, { predictionIds: [ids[0], ids[2], "prd_not_yet_scored"] });
    expect(((await res.json()) as ErasureResult).deleted).toEqual({
      predictions: 2,
      rawRecords: 2,
      pendingFeedback: 1,
    });
    const after = await rowsOf(t.tenantId);
    expect(after.preds.map((p) => p.predictionId)).toEqual([ids[1]]);
    expect(after.raws.map((r) => r.predictionId)).toEqual([ids[1]]);
  });

  it("audits the erasure with its counts, and never the customer's id", async () => {
    const t = await tenantWithCapture();
    await ingest([scored(t.tenantId, ["cus_private_4711"])]);
    const res = await erase(t, { customerId: "cus_private_4711" });
    const { erasureId } = (await res.json()) as ErasureResult;
    const [entry] = await h.deps.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, t.tenantId), eq(auditLog.action, "customer.erase")));
    expect(entry).toBeDefined();
    expect(JSON.stringify(entry)).not.toContain("cus_private_4711");
    expect(JSON.parse(entry!.targets)).toEqual([{ type: "erasure", id: erasureId }]);
    expect(JSON.parse(entry!.details)).toMatchObject({ by: "customerId", deleted: { predictions: 1 } });
    const verify = await h.request("/v1/audit/verify", { token: t.ownerToken });
    expect(((await verify.json()) as { ok: boolean }).ok).toBe(true);
  });

  it("refuses roles without customers:erase, and bodies that name no customer", async () => {
    const t = await h.newTenant();
    await expectError(await erase(t, { customerId: "c" }, await t.tokenFor("analyst")), 403, "FORBIDDEN");
    await expectError(await erase(t, { customerId: "c" }, await t.tokenFor("ml-engineer")), 403, "FORBIDDEN");
    await expectError(await erase(t, {}), 400, "INVALID_REQUEST");
    await expectError(await erase(t, { customerId: "" }), 400, "INVALID_REQUEST");
    await expectError(await erase(t, { predictionIds: [] }), 400, "INVALID_REQUEST");
    await expectError(await erase(t, { customerId: "c", predictionIds: ["p"] }), 400, "INVALID_REQUEST");
    expect((await erase(t, { customerId: "c" }, await t.tokenFor("admin"))).status).toBe(200);
  });
});
