import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CustomerExport } from "#shared/customer-export.ts";
import type { ErasureResult } from "#shared/erasure.ts";
import type { EdgeEvent } from "#shared/events.ts";
import { newId } from "#shared/ids.ts";
import { DAY_MS } from "#shared/time.ts";
import {
  ERASURE_TOMBSTONE_RETENTION_DAYS,
  runMonitoringRetention,
} from "../../control-plane/src/modules/monitoring/retention.ts";
import {
  erasureTombstones,
  ingestedEvents,
  monitoringHourly,
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

const SECRET = "queued-erasure-secret-0123456789abcdef";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane({ INGEST_SECRET: SECRET });
});
afterAll(() => h?.close());

interface IngestAnswer {
  accepted: number;
  duplicates: number;
  erased?: { predictions: number; feedback: number };
}

async function deliver(events: EdgeEvent[]): Promise<IngestAnswer> {
  const res = await h.ingest(events);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as IngestAnswer;
}

/** A prediction event the edge made at `at` (raw records attached), naming the given customers. */
function scored(
  tenantId: string,
  at: number,
  items: { customerId?: string; predictionId?: string }[],
): EdgeEvent & { type: "prediction" } {
  return {
    type: "prediction",
    eventId: newId("request"),
    tenantId,
    at: new Date(at).toISOString(),
    versionId: "mv_queued_test",
    version: 1,
    variant: "production",
    predictions: items.map((item) => ({
      predictionId: item.predictionId ?? newId("prediction"),
      ...(item.customerId ? { customerId: item.customerId } : {}),
      probability: 0.7,
      contact: true,
    })),
    records: items.map((item) => ({
      ...(item.customerId ? { customerId: item.customerId } : {}),
      tenure: 9,
    })),
  };
}

function outcomes(
  tenantId: string,
  at: number,
  items: { customerId?: string; predictionId?: string }[],
): EdgeEvent {
  return {
    type: "feedback",
    eventId: newId("request"),
    tenantId,
    at: new Date(at).toISOString(),
    feedback: items.map((item) => ({ ...item, churned: false, observedAt: new Date(at).toISOString() })),
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

async function erase(t: TestTenant, body: unknown): Promise<ErasureResult> {
  const res = await h.request("/v1/erasures", {
    method: "POST",
    token: t.ownerToken,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as ErasureResult;
}

const exportOf = (t: TestTenant, customerId: string) =>
  h.request(`/v1/customers/${customerId}/export`, { token: t.ownerToken });

const minutesAgo = (n: number) => Date.now() - n * 60_000;

describe("erasure reaches events still in the edge's queue", () => {
  it("drops a queued scored record made before the erasure; the export is then empty, the rest of the event stays", async () => {
    const t = await tenantWithCapture();
    await deliver([scored(t.tenantId, minutesAgo(30), [{ customerId: "cus_gone" }])]);
    // Made by the edge before the erasure, delivered after it.
    const queued = scored(t.tenantId, minutesAgo(10), [
      { customerId: "cus_gone" },
      { customerId: "cus_stays" },
    ]);
    const [goneId, staysId] = queued.predictions.map((p) => p.predictionId);

    const erasure = await erase(t, { customerId: "cus_gone" });
    expect(erasure.deleted.predictions).toBe(1);
    expect(await deliver([queued])).toEqual({
      accepted: 1,
      duplicates: 0,
      erased: { predictions: 1, feedback: 0 },
    });

    await expectError(await exportOf(t, "cus_gone"), 404, "NOT_FOUND");
    const kept = (await (await exportOf(t, "cus_stays")).json()) as CustomerExport;
    expect(kept.predictions.map((p) => p.predictionId)).toEqual([staysId]);
    expect(kept.predictions[0]!.rawRecord?.record).toEqual({ customerId: "cus_stays", tenure: 9 });

    const db = h.deps.db;
    const stored = await db.select().from(predictions).where(eq(predictions.tenantId, t.tenantId));
    expect(stored.map((p) => p.customerId)).toEqual(["cus_stays"]);
    const raws = await db.select().from(rawRecords).where(eq(rawRecords.tenantId, t.tenantId));
    expect(raws.map((r) => r.predictionId)).toEqual([staysId]);
    const [bookkeeping] = await db
      .select({ payload: ingestedEvents.payload })
      .from(ingestedEvents)
      .where(eq(ingestedEvents.eventId, queued.eventId));
    expect(bookkeeping!.payload).toContain(staysId);
    expect(bookkeeping!.payload).not.toContain(goneId);
    // The anonymous hourly aggregates count every scored record, as they keep what an erasure deleted.
    const hours = await db.select().from(monitoringHourly).where(eq(monitoringHourly.tenantId, t.tenantId));
    expect(hours.reduce((n, row) => n + row.records, 0)).toBe(3);

    // A redelivery is a duplicate: nothing dropped twice, nothing stored.
    expect(await deliver([queued])).toEqual({ accepted: 0, duplicates: 1 });
  });

  it("drops queued outcomes of the erased customer made before the erasure", async () => {
    const t = await tenantWithCapture();
    const queued = outcomes(t.tenantId, minutesAgo(3), [
      { customerId: "cus_gone" },
      { customerId: "cus_other" },
    ]);
    await erase(t, { customerId: "cus_gone" });
    expect((await deliver([queued])).erased).toEqual({ predictions: 0, feedback: 1 });
    const waiting = await h.deps.db
      .select()
      .from(pendingFeedback)
      .where(eq(pendingFeedback.tenantId, t.tenantId));
    expect(waiting.map((p) => p.customerId)).toEqual(["cus_other"]);
    await expectError(await exportOf(t, "cus_gone"), 404, "NOT_FOUND");
  });

  it("drops a queued outcome naming only a prediction of the customer erased by customerId", async () => {
    const t = await tenantWithCapture();
    const stored = scored(t.tenantId, minutesAgo(20), [{ customerId: "cus_by_prediction" }]);
    await deliver([stored]);
    const queued = outcomes(t.tenantId, minutesAgo(1), [
      { predictionId: stored.predictions[0]!.predictionId },
    ]);
    await erase(t, { customerId: "cus_by_prediction" });
    expect((await deliver([queued])).erased).toEqual({ predictions: 0, feedback: 1 });
    expect(
      await h.deps.db.select().from(pendingFeedback).where(eq(pendingFeedback.tenantId, t.tenantId)),
    ).toEqual([]);
  });

  it("keeps events made after the erasure (new data the tenant sent since), and drops one made at its instant", async () => {
    const t = await tenantWithCapture();
    const erasure = await erase(t, { customerId: "cus_returns" });
    const erasedAt = Date.parse(erasure.erasedAt);
    const atTheInstant = scored(t.tenantId, erasedAt, [{ customerId: "cus_returns" }]);
    const after = scored(t.tenantId, erasedAt + 1_000, [{ customerId: "cus_returns" }]);
    const laterOutcome = outcomes(t.tenantId, erasedAt + 2_000, [{ customerId: "cus_returns" }]);
    expect(await deliver([atTheInstant, after])).toEqual({
      accepted: 2,
      duplicates: 0,
      erased: { predictions: 1, feedback: 0 },
    });
    expect((await deliver([laterOutcome])).erased).toBeUndefined();
    const res = await exportOf(t, "cus_returns");
    expect(res.status).toBe(200);
    const page = (await res.json()) as CustomerExport;
    expect(page.predictions.map((p) => p.predictionId)).toEqual([after.predictions[0]!.predictionId]);
    expect(page.predictions[0]!.outcome).toMatchObject({ churned: false });
  });

  it("reaches records sent without a customer id through the erased prediction ids", async () => {
    const t = await tenantWithCapture();
    const queued = scored(t.tenantId, minutesAgo(2), [{}, {}]);
    const [erasedId, keptId] = queued.predictions.map((p) => p.predictionId);
    const queuedOutcome = outcomes(t.tenantId, minutesAgo(1), [{ predictionId: erasedId! }]);
    await erase(t, { predictionIds: [erasedId] });
    expect((await deliver([queued, queuedOutcome])).erased).toEqual({ predictions: 1, feedback: 1 });
    const db = h.deps.db;
    const stored = await db.select().from(predictions).where(eq(predictions.tenantId, t.tenantId));
    expect(stored.map((p) => p.predictionId)).toEqual([keptId]);
    const raws = await db.select().from(rawRecords).where(eq(rawRecords.tenantId, t.tenantId));
    expect(raws.map((r) => r.predictionId)).toEqual([keptId]);
    expect(await db.select().from(pendingFeedback).where(eq(pendingFeedback.tenantId, t.tenantId))).toEqual(
      [],
    );
  });

  it("keeps only a hash of the tenant and customer in the tombstone, and drops nothing of another tenant", async () => {
    const t = await tenantWithCapture();
    const other = await tenantWithCapture();
    const first = await erase(t, { customerId: "cus_hashed_4711" });
    const rowsOf = () =>
      h.deps.db.select().from(erasureTombstones).where(eq(erasureTombstones.tenantId, t.tenantId));
    const expectedHash = createHash("sha256")
      .update(`${t.tenantId}\u0000customer\u0000cus_hashed_4711`)
      .digest("hex");
    expect(await rowsOf()).toEqual([
      {
        tenantId: t.tenantId,
        subjectHash: expectedHash,
        erasureId: first.erasureId,
        erasedAt: Date.parse(first.erasedAt),
      },
    ]);
    expect(JSON.stringify(await h.deps.db.select().from(erasureTombstones))).not.toContain("cus_hashed_4711");

    // Erased again: the tombstone moves to the later erasure.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await erase(t, { customerId: "cus_hashed_4711" });
    expect(await rowsOf()).toEqual([
      expect.objectContaining({ erasureId: second.erasureId, erasedAt: Date.parse(second.erasedAt) }),
    ]);

    // The same customer id in another tenant is another customer.
    const theirs = scored(other.tenantId, minutesAgo(5), [{ customerId: "cus_hashed_4711" }]);
    expect((await deliver([theirs])).erased).toBeUndefined();
    const res = await h.request("/v1/customers/cus_hashed_4711/export", { token: other.ownerToken });
    expect(((await res.json()) as CustomerExport).predictions).toHaveLength(1);
  });

  it("counts dropped items in /metrics", async () => {
    const t = await tenantWithCapture();
    const value = async (series: string) => {
      const text = await (await h.request("/metrics")).text();
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    };
    const series = 'churn_ingest_erased_items_total{type="prediction"}';
    const before = await value(series);
    const queued = scored(t.tenantId, minutesAgo(1), [
      { customerId: "cus_metric" },
      { customerId: "cus_metric" },
    ]);
    await erase(t, { customerId: "cus_metric" });
    await deliver([queued]);
    expect(await value(series)).toBe(before + 2);
    expect(await (await h.request("/metrics")).text()).toContain(
      "# TYPE churn_ingest_erased_items_total counter",
    );
  });

  it("forgets tombstones once no queued event can still arrive", async () => {
    const t = await h.newTenant();
    const now = Date.now();
    const row = (subjectHash: string, daysAgo: number) => ({
      tenantId: t.tenantId,
      subjectHash,
      erasureId: newId("erasure"),
      erasedAt: now - daysAgo * DAY_MS,
    });
    await h.deps.db
      .insert(erasureTombstones)
      .values([
        row("a".repeat(64), ERASURE_TOMBSTONE_RETENTION_DAYS + 1),
        row("b".repeat(64), ERASURE_TOMBSTONE_RETENTION_DAYS - 1),
      ]);
    const deleted = await runMonitoringRetention(h.deps.db, now);
    expect(deleted.erasureTombstones).toBeGreaterThanOrEqual(1);
    const kept = await h.deps.db
      .select({ subjectHash: erasureTombstones.subjectHash })
      .from(erasureTombstones)
      .where(eq(erasureTombstones.tenantId, t.tenantId));
    expect(kept).toEqual([{ subjectHash: "b".repeat(64) }]);
  });
});
