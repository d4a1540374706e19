import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EdgeEvent } from "#shared/events.ts";
import { newId } from "#shared/ids.ts";
import type { DriftReference, FeatureSpec } from "#shared/manifest.ts";
import type { Sketch } from "#shared/monitoring.ts";
import { DAY_MS, HOUR_MS } from "#shared/time.ts";
import { hourOf, LABEL_WINDOW_DAYS } from "../../control-plane/src/modules/monitoring/ingest.ts";
import { sketchRecords } from "../../control-plane/src/modules/monitoring/sketch-records.ts";
import {
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
} from "../helpers/control-plane-harness.ts";

const SECRET = "ingest-secret-for-tests-0123456789";

const reference: DriftReference = {
  rows: 100,
  features: {
    tenure: { type: "numeric", edges: [10, 20], counts: [30, 30, 40], missing: 0, min: 0, max: 72 },
    plan: { type: "categorical", counts: { basic: 60, pro: 40 }, missing: 0 },
  },
  score: { edges: Array.from({ length: 19 }, (_, k) => (k + 1) / 20), counts: new Array(20).fill(5) },
};
const features: FeatureSpec[] = [
  { name: "tenure", type: "numeric", required: false },
  { name: "plan", type: "categorical", required: false, categories: ["basic", "pro"] },
];

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane({ INGEST_SECRET: SECRET });
});
afterAll(() => h?.close());

const send = (events: EdgeEvent[]): Promise<Response> => h.ingest(events);

async function sendOk(events: EdgeEvent[]): Promise<{ accepted: number; duplicates: number }> {
  const res = await send(events);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as { accepted: number; duplicates: number };
}

interface Scored {
  predictionId?: string;
  customerId?: string;
  probability: number;
  record?: Record<string, unknown>;
}

function predictionEvent(
  tenantId: string,
  at: number,
  scored: Scored[],
  options: { versionId?: string; variant?: "production" | "canary"; withRecords?: boolean } = {},
): EdgeEvent & { type: "prediction" } {
  const recs = scored.map((s) => s.record ?? { tenure: 15, plan: "basic" });
  const probabilities = scored.map((s) => s.probability);
  const contacts = probabilities.map((p) => p >= 0.5);
  return {
    type: "prediction",
    eventId: newId("request"),
    tenantId,
    at: new Date(at).toISOString(),
    versionId: options.versionId ?? "mv_ingest_test",
    version: 1,
    variant: options.variant ?? "production",
    predictions: scored.map((s, i) => ({
      predictionId: s.predictionId ?? newId("request"),
      ...(s.customerId ? { customerId: s.customerId } : {}),
      probability: s.probability,
      contact: contacts[i]!,
    })),
    sketch: sketchRecords({ features, reference }, recs, probabilities, contacts),
    ...(options.withRecords ? { records: recs } : {}),
  };
}

function feedbackEvent(
  tenantId: string,
  items: { predictionId?: string; customerId?: string; churned: boolean; observedAt: number }[],
): EdgeEvent {
  return {
    type: "feedback",
    eventId: newId("request"),
    tenantId,
    at: new Date().toISOString(),
    feedback: items.map(({ observedAt, ...rest }) => ({
      ...rest,
      observedAt: new Date(observedAt).toISOString(),
    })),
  };
}

async function hours(tenantId: string) {
  return h.deps.db
    .select()
    .from(monitoringHourly)
    .where(eq(monitoringHourly.tenantId, tenantId))
    .orderBy(monitoringHourly.hour);
}

async function prediction(tenantId: string, predictionId: string) {
  const [row] = await h.deps.db
    .select()
    .from(predictions)
    .where(and(eq(predictions.tenantId, tenantId), eq(predictions.predictionId, predictionId)));
  return row;
}

describe("POST /v1/ingest/events", () => {
  it("merges the sketches of one hour into one row, and another hour into its own", async () => {
    const { tenantId } = await h.newTenant();
    const base = hourOf(Date.now()) - 5 * HOUR_MS;
    const a = predictionEvent(tenantId, base + 60_000, [
      { probability: 0.7, record: { tenure: 5, plan: "basic" } },
      { probability: 0.2, record: { tenure: 25, plan: "gold" } },
    ]);
    const b = predictionEvent(tenantId, base + 30 * 60_000, [
      { probability: 0.9, record: { tenure: 15, plan: "pro" } },
    ]);
    const c = predictionEvent(tenantId, base + HOUR_MS + 1, [{ probability: 0.1 }]);
    await sendOk([a]);
    await sendOk([b, c]);
    const rows = await hours(tenantId);
    expect(rows.map((r) => r.hour)).toEqual([base, base + HOUR_MS]);
    const first = rows[0]!;
    expect(first.records).toBe(3);
    expect(first.contacts).toBe(2);
    const sketch = JSON.parse(first.sketch!) as Sketch;
    expect(sketch.records).toBe(3);
    expect(sketch.features.tenure).toEqual({ type: "numeric", counts: [1, 1, 1], missing: 0, outOfRange: 0 });
    expect(sketch.features.plan).toEqual({
      type: "categorical",
      counts: { basic: 1, pro: 1 },
      unseen: 1,
      missing: 0,
    });
    const variants = JSON.parse(first.variants) as Record<
      string,
      { records: number; probabilitySum: number }
    >;
    expect(variants.production!.records).toBe(3);
    expect(variants.production!.probabilitySum).toBeCloseTo(1.8, 10);
    expect(rows[1]!.records).toBe(1);
    const stored = await h.deps.db.select().from(predictions).where(eq(predictions.tenantId, tenantId));
    expect(stored).toHaveLength(4);
  });

  it("concurrent batches into the same hour lose no update", async () => {
    const { tenantId } = await h.newTenant();
    const at = Date.now();
    const batches = Array.from({ length: 12 }, (_, b) =>
      Array.from({ length: 5 }, (_, e) =>
        predictionEvent(tenantId, at, [
          { probability: 0.6, record: { tenure: 5 + b + e, plan: "pro" } },
          { probability: 0.1, record: { tenure: 25, plan: "basic" } },
        ]),
      ),
    );
    // Each batch is delivered twice, concurrently with all others.
    await Promise.all([...batches, ...batches].map((events) => sendOk(events)));
    const rows = await hours(tenantId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.records).toBe(12 * 5 * 2);
    expect(rows[0]!.contacts).toBe(12 * 5);
    const sketch = JSON.parse(rows[0]!.sketch!) as Sketch;
    expect(sketch.records).toBe(120);
    expect(sketch.score.counts.reduce((a, b) => a + b, 0)).toBe(120);
    expect(sketch.features.plan).toEqual({
      type: "categorical",
      counts: { basic: 60, pro: 60 },
      unseen: 0,
      missing: 0,
    });
  });

  it("a redelivered batch changes nothing: no double-counted hour, prediction or label", async () => {
    const { tenantId } = await h.newTenant();
    const now = Date.now();
    const p = predictionEvent(tenantId, now, [
      { predictionId: "pred-redeliver-1", probability: 0.8 },
      { predictionId: "pred-redeliver-2", probability: 0.3 },
    ]);
    const rejected: EdgeEvent = {
      type: "rejected",
      eventId: newId("request"),
      tenantId,
      at: new Date(now).toISOString(),
      versionId: "mv_ingest_test",
      records: 3,
      fields: { tenure: 2, plan: 1 },
    };
    const f = feedbackEvent(tenantId, [
      { predictionId: "pred-redeliver-1", churned: true, observedAt: now + 1000 },
    ]);
    expect(await sendOk([p, rejected, f])).toEqual({ accepted: 3, duplicates: 0 });
    const before = await hours(tenantId);
    expect(await sendOk([p, rejected, f])).toEqual({ accepted: 0, duplicates: 3 });
    // A batch repeating an id within itself stores it once.
    const again = predictionEvent(tenantId, now, [{ probability: 0.4 }]);
    expect(await sendOk([again, again])).toEqual({ accepted: 1, duplicates: 1 });
    const after = await hours(tenantId);
    expect(after).toHaveLength(1);
    expect(after[0]!.records).toBe(before[0]!.records + 1);
    expect(after[0]!.rejectedRecords).toBe(3);
    expect(JSON.parse(after[0]!.rejectedFields)).toEqual({ tenure: 2, plan: 1 });
    expect((JSON.parse(after[0]!.sketch!) as Sketch).records).toBe(3);
    expect(await h.deps.db.select().from(predictions).where(eq(predictions.tenantId, tenantId))).toHaveLength(
      3,
    );
    // The stored payload of a prediction event keeps its prediction ids but not its sketch.
    const [event] = await h.deps.db
      .select()
      .from(ingestedEvents)
      .where(eq(ingestedEvents.eventId, p.eventId));
    expect(event!.payload).toContain("pred-redeliver-1");
    expect(event!.payload).not.toContain("score");
    expect((await prediction(tenantId, "pred-redeliver-1"))!.label).toBe(true);
  });

  it("joins feedback by prediction id, and by customer to the latest prediction before the outcome", async () => {
    const { tenantId } = await h.newTenant();
    const now = Date.now();
    await sendOk([
      predictionEvent(tenantId, now - 40 * DAY_MS, [
        { predictionId: "old", customerId: "c1", probability: 0.4 },
      ]),
      predictionEvent(tenantId, now - 30 * DAY_MS, [
        { predictionId: "mid", customerId: "c1", probability: 0.6 },
      ]),
      predictionEvent(tenantId, now - 1 * DAY_MS, [
        { predictionId: "after", customerId: "c1", probability: 0.9 },
      ]),
      predictionEvent(tenantId, now - 2 * DAY_MS, [
        { predictionId: "direct", customerId: "c2", probability: 0.2 },
      ]),
    ]);
    await sendOk([
      // Observed 10 days ago: the label delay is 20 days after "mid", and "after" was made later.
      feedbackEvent(tenantId, [
        { customerId: "c1", churned: true, observedAt: now - 10 * DAY_MS },
        { predictionId: "direct", churned: false, observedAt: now },
      ]),
    ]);
    expect((await prediction(tenantId, "mid"))!.label).toBe(true);
    expect((await prediction(tenantId, "mid"))!.labeledAt).toBe(now - 10 * DAY_MS);
    expect((await prediction(tenantId, "old"))!.label).toBeNull();
    expect((await prediction(tenantId, "after"))!.label).toBeNull();
    expect((await prediction(tenantId, "direct"))!.label).toBe(false);
    // A later observation replaces the label; an earlier one arriving late does not.
    await sendOk([
      feedbackEvent(tenantId, [{ predictionId: "direct", churned: true, observedAt: now + 1000 }]),
    ]);
    await sendOk([
      feedbackEvent(tenantId, [{ predictionId: "direct", churned: false, observedAt: now - 5000 }]),
    ]);
    expect((await prediction(tenantId, "direct"))!.label).toBe(true);
    // Within one batch too, whatever the order the items come in.
    await sendOk([
      feedbackEvent(tenantId, [
        { customerId: "c2", churned: false, observedAt: now + 5000 },
        { predictionId: "direct", churned: true, observedAt: now + 2000 },
      ]),
    ]);
    expect((await prediction(tenantId, "direct"))!.label).toBe(false);
    expect((await prediction(tenantId, "direct"))!.labeledAt).toBe(now + 5000);
  });

  it("does not join a customer's prediction older than the label window; that feedback waits", async () => {
    const { tenantId } = await h.newTenant();
    const now = Date.now();
    await sendOk([
      predictionEvent(tenantId, now - (LABEL_WINDOW_DAYS + 5) * DAY_MS, [
        { predictionId: "too-old", customerId: "c9", probability: 0.5 },
      ]),
    ]);
    await sendOk([feedbackEvent(tenantId, [{ customerId: "c9", churned: true, observedAt: now }])]);
    expect((await prediction(tenantId, "too-old"))!.label).toBeNull();
    const pending = await h.deps.db
      .select()
      .from(pendingFeedback)
      .where(eq(pendingFeedback.tenantId, tenantId));
    expect(pending).toHaveLength(1);
  });

  it("keeps feedback that arrives before its prediction and joins it when the prediction arrives", async () => {
    const { tenantId } = await h.newTenant();
    const other = await h.newTenant();
    const now = Date.now();
    await sendOk([
      feedbackEvent(tenantId, [
        { predictionId: "early-pred", churned: true, observedAt: now },
        { customerId: "early-cust", churned: false, observedAt: now },
      ]),
    ]);
    const waiting = await h.deps.db
      .select()
      .from(pendingFeedback)
      .where(eq(pendingFeedback.tenantId, tenantId));
    expect(waiting).toHaveLength(2);
    // The same ids in another tenant never pick up this tenant's feedback.
    await sendOk([
      predictionEvent(other.tenantId, now - 1000, [
        { predictionId: "early-pred", probability: 0.5 },
        { predictionId: "x", customerId: "early-cust", probability: 0.5 },
      ]),
    ]);
    expect((await prediction(other.tenantId, "early-pred"))!.label).toBeNull();
    await sendOk([
      predictionEvent(tenantId, now - 60_000, [
        { predictionId: "early-pred", probability: 0.7 },
        { predictionId: "cust-pred", customerId: "early-cust", probability: 0.2 },
      ]),
    ]);
    expect((await prediction(tenantId, "early-pred"))!.label).toBe(true);
    expect((await prediction(tenantId, "cust-pred"))!.label).toBe(false);
    expect(
      await h.deps.db.select().from(pendingFeedback).where(eq(pendingFeedback.tenantId, tenantId)),
    ).toHaveLength(0);
  });

  it("stores raw records only for tenants that enabled them", async () => {
    const off = await h.newTenant();
    const on = await h.newTenant();
    const put = await h.request("/v1/settings/monitoring", {
      method: "PUT",
      token: on.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rawRecords: { enabled: true, retentionDays: 7 } }),
    });
    expect(put.status).toBe(200);
    const now = Date.now();
    const record = { tenure: 33, plan: "pro" };
    await sendOk([
      predictionEvent(off.tenantId, now, [{ predictionId: "r-off", probability: 0.5, record }], {
        withRecords: true,
      }),
      predictionEvent(on.tenantId, now, [{ predictionId: "r-on", probability: 0.5, record }], {
        withRecords: true,
      }),
    ]);
    expect(
      await h.deps.db.select().from(rawRecords).where(eq(rawRecords.tenantId, off.tenantId)),
    ).toHaveLength(0);
    const stored = await h.deps.db.select().from(rawRecords).where(eq(rawRecords.tenantId, on.tenantId));
    expect(stored.map((r) => [r.predictionId, JSON.parse(r.record)])).toEqual([["r-on", record]]);
  });

  it("counts events, records and duplicates on /metrics", async () => {
    const { tenantId } = await h.newTenant();
    const read = async () => {
      const text = await (await h.request("/metrics")).text();
      const value = (line: string) =>
        Number(
          text
            .split("\n")
            .find((l) => l.startsWith(`${line} `))
            ?.split(" ")[1] ?? 0,
        );
      return {
        events: value('churn_ingest_events_total{type="prediction"}'),
        records: value('churn_ingest_records_total{type="prediction"}'),
        duplicates: value("churn_ingest_duplicates_total"),
        batches: value("churn_ingest_batch_duration_seconds_count"),
      };
    };
    const before = await read();
    const e = predictionEvent(tenantId, Date.now(), [
      { probability: 0.1 },
      { probability: 0.2 },
      { probability: 0.3 },
    ]);
    await sendOk([e]);
    await sendOk([e]);
    const after = await read();
    expect(after.events - before.events).toBe(1);
    expect(after.records - before.records).toBe(3);
    expect(after.duplicates - before.duplicates).toBe(1);
    expect(after.batches - before.batches).toBe(2);
  });

  it("refuses unsigned and malformed batches with the error envelope", async () => {
    const { tenantId } = await h.newTenant();
    const body = JSON.stringify({ events: [predictionEvent(tenantId, Date.now(), [{ probability: 0.5 }])] });
    await expectError(
      await h.request("/v1/ingest/events", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      }),
      401,
      "UNAUTHORIZED",
    );
    await expectError(await send([{ type: "prediction" } as unknown as EdgeEvent]), 400, "INVALID_REQUEST");
  });
});
