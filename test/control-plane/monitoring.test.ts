import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EdgeEvent } from "#shared/events.ts";
import { newId } from "#shared/ids.ts";
import { kvKeys } from "#shared/kv.ts";
import type { DriftReference, Manifest } from "#shared/manifest.ts";
import {
  type MonitoringSnapshot,
  monitoringSettingsSchema,
  monitoringSnapshotSchema,
  monitoringTimeseriesSchema,
} from "#shared/monitoring.ts";
import { DAY_MS, HOUR_MS } from "#shared/time.ts";
import { hourOf } from "../../control-plane/src/modules/monitoring/ingest.ts";
import {
  INGESTED_EVENT_RETENTION_DAYS,
  PREDICTION_RETENTION_DAYS,
  runMonitoringRetention,
} from "../../control-plane/src/modules/monitoring/retention.ts";
import { sketchRecords } from "../../control-plane/src/modules/monitoring/sketch-records.ts";
import { computeSnapshot, computeTimeseries } from "../../control-plane/src/modules/monitoring/snapshot.ts";
import {
  ingestedEvents,
  pendingFeedback,
  predictions,
  rawRecords,
} from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  expectValidAuditChain,
  type Fixture,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

const SECRET = "ingest-secret-for-tests-0123456789";

/** Prometheus's scrape token: /metrics includes the per-tenant series only for it. */
const METRICS_TOKEN = "metrics-token-for-the-monitoring-tests-0123456789";
let h: ControlPlaneHarness;
let fixture: Fixture;
let manifest: Manifest & { reference: DriftReference };

beforeAll(async () => {
  h = await startControlPlane({ INGEST_SECRET: SECRET, METRICS_TOKEN });
  fixture = await h.fixture(7);
  manifest = JSON.parse(fixture.manifestText) as Manifest & { reference: DriftReference };
  expect(manifest.reference).toBeDefined();
});
afterAll(() => h?.close());

/** A deterministic generator (mulberry32), so statistical checks never flake. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: () => number, items: readonly T[], weights: readonly number[]): T {
  const total = weights.reduce((a, b) => a + b, 0);
  let u = r() * total;
  for (const [i, w] of weights.entries()) {
    u -= w;
    if (u < 0) return items[i]!;
  }
  return items[items.length - 1]!;
}

/** Records drawn from the training reference's histograms, or (shifted) every numeric value at its maximum. */
function sampleRecords(n: number, seed: number, shifted = false): Record<string, unknown>[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const record: Record<string, unknown> = {};
    for (const [name, ref] of Object.entries(manifest.reference.features)) {
      if (ref.type === "numeric") {
        const top = ref.max ?? (ref.edges.at(-1) ?? 0) + 1;
        if (shifted) {
          record[name] = top;
          continue;
        }
        const bins = [...ref.counts.keys(), -1];
        const bin = pick(r, bins, [...ref.counts, ref.missing]);
        record[name] = bin === -1 ? null : bin < ref.edges.length ? ref.edges[bin] : top;
      } else {
        const categories = [...Object.keys(ref.counts), ""];
        record[name] = pick(r, categories, [...Object.values(ref.counts), ref.missing]) || null;
      }
    }
    return record;
  });
}

async function send(events: EdgeEvent[]): Promise<void> {
  const res = await h.ingest(events);
  expect(res.status, await res.clone().text()).toBe(200);
}

interface Traffic {
  predictionIds: string[];
  probabilities: number[];
}

/** Sends `records` as prediction events of 500 records, scored with `probabilities` (default: 0.3). */
async function sendTraffic(
  tenantId: string,
  versionId: string,
  records: Record<string, unknown>[],
  options: { at?: number; probabilities?: number[] } = {},
): Promise<Traffic> {
  const probabilities = options.probabilities ?? records.map(() => 0.3);
  const predictionIds = records.map(() => newId("request"));
  for (let start = 0; start < records.length; start += 500) {
    const recs = records.slice(start, start + 500);
    const p = probabilities.slice(start, start + 500);
    const contacts = p.map((x) => x >= manifest.threshold);
    await send([
      {
        type: "prediction",
        eventId: newId("request"),
        tenantId,
        at: new Date(options.at ?? Date.now()).toISOString(),
        versionId,
        version: 1,
        variant: "production",
        predictions: p.map((probability, i) => ({
          predictionId: predictionIds[start + i]!,
          probability,
          contact: contacts[i]!,
        })),
        sketch: sketchRecords(manifest, recs, p, contacts),
      },
    ]);
  }
  return { predictionIds, probabilities };
}

async function deployed(label: string): Promise<{ t: TestTenant; versionId: string }> {
  const t = await h.newTenant(label);
  const v = await t.publish(fixture);
  await t.deploy(v.id);
  return { t, versionId: v.id };
}

async function snapshotOf(t: TestTenant): Promise<MonitoringSnapshot> {
  const res = await h.request("/v1/monitoring/snapshot", { token: t.ownerToken });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return monitoringSnapshotSchema.parse(JSON.parse(text));
}

const putSettings = (t: TestTenant, body: unknown, token = t.ownerToken) =>
  h.request("/v1/settings/monitoring", {
    method: "PUT",
    token,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("monitoring snapshot", () => {
  it("is empty and quiet before the first deployment", async () => {
    const t = await h.newTenant();
    const s = await snapshotOf(t);
    expect(s.versionId).toBeNull();
    expect(s.records).toBe(0);
    expect(s.drift.status).toBe("quiet");
    expect(s.performance.realized.labeled).toBe(0);
  });

  it("stays quiet below minSamples, then reports ok drift on traffic like the training data", async () => {
    const { t, versionId } = await deployed("Drift ok");
    await sendTraffic(t.tenantId, versionId, sampleRecords(200, 1));
    const quiet = await snapshotOf(t);
    expect(quiet.records).toBe(200);
    expect(quiet.drift.status).toBe("quiet");
    expect(quiet.drift.score).toBeNull();
    expect(quiet.drift.features.every((f) => f.psi === null)).toBe(true);

    await sendTraffic(t.tenantId, versionId, sampleRecords(3000, 2));
    const ok = await snapshotOf(t);
    expect(ok.versionId).toBe(versionId);
    expect(ok.records).toBe(3200);
    expect(ok.drift.status).toBe("ok");
    expect(ok.drift.score!).toBeLessThan(0.05);
    expect(ok.drift.features.reduce((sum, f) => sum + f.weight, 0)).toBeCloseTo(1, 10);
    expect(ok.quality.outOfRangeRate).toBe(0);
    expect(ok.quality.unseenCategoryRate).toBe(0);
  });

  it("alerts on shifted traffic, per feature and for the tenant", async () => {
    const { t, versionId } = await deployed("Drift shifted");
    await sendTraffic(t.tenantId, versionId, sampleRecords(2000, 3, true));
    const s = await snapshotOf(t);
    expect(s.drift.status).toBe("alert");
    expect(s.drift.score!).toBeGreaterThan(0.25);
    const numeric = s.drift.features.filter((f) => f.type === "numeric");
    expect(numeric.some((f) => f.status === "alert" && f.ks! > 0.5)).toBe(true);
    expect(s.drift.score).toBeCloseTo(
      s.drift.features.reduce((sum, f) => sum + f.weight * (f.psi ?? 0), 0),
      10,
    );
    // A tighter window over the same hour sees the same traffic; thresholds come from the settings.
    expect((await putSettings(t, { drift: { psiWarn: 50, psiAlert: 100 } })).status).toBe(400);
    expect((await putSettings(t, { drift: { psiWarn: 9, psiAlert: 10 } })).status).toBe(200);
    expect((await snapshotOf(t)).drift.status).toBe("ok");
  });

  it("estimates AUC without labels close to the AUC realized once labels arrive", async () => {
    const { t, versionId } = await deployed("CBPE");
    const r = rng(11);
    const n = 4000;
    const probabilities = Array.from({ length: n }, () => r() ** 1.5);
    const traffic = await sendTraffic(t.tenantId, versionId, sampleRecords(n, 4), { probabilities });
    const labels = probabilities.map((p) => r() < p);
    const before = await snapshotOf(t);
    expect(before.performance.realized.labeled).toBe(0);
    expect(before.performance.realized.auc).toBeNull();
    for (let start = 0; start < n; start += 1000) {
      await send([
        {
          type: "feedback",
          eventId: newId("request"),
          tenantId: t.tenantId,
          at: new Date().toISOString(),
          feedback: traffic.predictionIds.slice(start, start + 1000).map((predictionId, i) => ({
            predictionId,
            churned: labels[start + i]!,
            observedAt: new Date().toISOString(),
          })),
        },
      ]);
    }
    const s = await snapshotOf(t);
    expect(s.performance.realized.labeled).toBe(n);
    const estimated = s.performance.estimated.auc!;
    const realized = s.performance.realized.auc!;
    expect(Math.abs(estimated - realized)).toBeLessThan(0.03);
    expect(
      Math.abs(s.performance.estimated.precisionAtThreshold! - s.performance.realized.precisionAtThreshold!),
    ).toBeLessThan(0.05);
    expect(s.performance.realized.calibrationError!).toBeLessThan(0.05);
    expect(s.performance.trainingAuc).toBe(manifest.metrics.holdout.roc_auc);
  });

  it("computes business figures with the tenant's values", async () => {
    const { t, versionId } = await deployed("Business");
    const business = { valuePerCustomer: 1000, offerCost: 50, offerAcceptance: 0.25 };
    expect((await putSettings(t, { business })).status).toBe(200);
    const probabilities = [0.1, 0.2, 0.6, 0.9, 0.95];
    await sendTraffic(t.tenantId, versionId, sampleRecords(5, 5), { probabilities });
    const s = await snapshotOf(t);
    const contacted = probabilities.filter((p) => p >= manifest.threshold);
    expect(s.business.flagged).toBe(contacted.length);
    expect(s.business.revenueAtRisk).toBeCloseTo(probabilities.reduce((a, b) => a + b, 0) * 1000, 6);
    expect(s.business.expectedSavedRevenue).toBeCloseTo(
      contacted.reduce((sum, p) => sum + p * 0.25 * 1000 - 50, 0),
      6,
    );
  });

  it("reports the schema-violation rate from rejected records", async () => {
    const { t, versionId } = await deployed("Schema");
    await sendTraffic(t.tenantId, versionId, sampleRecords(900, 6));
    await send([
      {
        type: "rejected",
        eventId: newId("request"),
        tenantId: t.tenantId,
        at: new Date().toISOString(),
        versionId,
        records: 100,
        fields: { tenure: 100 },
      },
    ]);
    const s = await snapshotOf(t);
    expect(s.quality.schemaViolationRate).toBeCloseTo(0.1, 10);
    expect(s.records).toBe(900);
  });

  it("covers only the window: traffic older than windowHours is left out", async () => {
    const { t, versionId } = await deployed("Window");
    await sendTraffic(t.tenantId, versionId, sampleRecords(100, 7), { at: Date.now() - 3 * DAY_MS });
    await sendTraffic(t.tenantId, versionId, sampleRecords(50, 8));
    expect((await snapshotOf(t)).records).toBe(50);
    const wide = await computeSnapshot(h.deps.db, t.tenantId, { now: Date.now(), windowHours: 24 * 4 });
    expect(wide.records).toBe(150);
  });
});

describe("monitoring time series", () => {
  it("gives hourly and daily points with traffic, flagged, drift and AUC", async () => {
    const { t, versionId } = await deployed("Series");
    const now = Date.now();
    await sendTraffic(t.tenantId, versionId, sampleRecords(600, 9), {
      at: now - 2 * HOUR_MS,
      probabilities: Array.from({ length: 600 }, (_, i) => (i % 100) / 100),
    });
    await sendTraffic(t.tenantId, versionId, sampleRecords(600, 10, true), { at: now - 3 * DAY_MS });

    const res = await h.request("/v1/monitoring/timeseries?days=2", { token: t.ownerToken });
    expect(res.status).toBe(200);
    const hourly = monitoringTimeseriesSchema.parse(await res.json());
    expect(hourly.bucket).toBe("hour");
    expect(hourly.points).toHaveLength(48);
    const busy = hourly.points.find((p) => p.at === new Date(hourOf(now - 2 * HOUR_MS)).toISOString())!;
    expect(busy.records).toBe(600);
    expect(busy.flagged).toBe(600 - Math.ceil(manifest.threshold * 100) * 6);
    expect(busy.driftStatus).toBe("ok");
    expect(busy.estimatedAuc).not.toBeNull();
    expect(Object.keys(busy.featurePsi).sort()).toEqual(Object.keys(manifest.reference.features).sort());
    expect(hourly.points.filter((p) => p.records > 0)).toHaveLength(1);

    const daily = await computeTimeseries(h.deps.db, t.tenantId, { now, days: 7, bucket: "day" });
    expect(daily.points).toHaveLength(7);
    const shiftedDay = daily.points.find((p) => p.records === 600 && p.driftStatus === "alert");
    expect(shiftedDay).toBeDefined();
    expect(daily.points.reduce((sum, p) => sum + p.records, 0)).toBe(1200);

    const monthly = monitoringTimeseriesSchema.parse(
      await (await h.request("/v1/monitoring/timeseries?days=30", { token: t.ownerToken })).json(),
    );
    expect(monthly.bucket).toBe("day");
    expect(monthly.points).toHaveLength(30);
    await expectError(
      await h.request("/v1/monitoring/timeseries?days=0", { token: t.ownerToken }),
      400,
      "INVALID_REQUEST",
    );
  });
});

describe("monitoring settings", () => {
  it("serves defaults, validates with the error envelope, saves with an audit entry and publishes to the edge", async () => {
    const t = await h.newTenant();
    const defaults = await (await h.request("/v1/monitoring/settings", { token: t.ownerToken })).json();
    expect(defaults).toEqual(monitoringSettingsSchema.parse({}));

    const bad = await expectError(
      await putSettings(t, { drift: { psiAlert: -1 }, rawRecords: { retentionDays: 0 } }),
      400,
      "INVALID_REQUEST",
    );
    expect(bad.error.issues!.map((i) => i.path).sort()).toEqual([
      "drift.psiAlert",
      "rawRecords.retentionDays",
    ]);
    const inverted = await expectError(
      await putSettings(t, { drift: { psiWarn: 0.5, psiAlert: 0.2 } }),
      400,
      "INVALID_REQUEST",
    );
    expect(inverted.error.issues![0]!.path).toBe("drift.psiWarn");
    await expectError(
      await h.request("/v1/settings/monitoring", {
        method: "PUT",
        token: t.ownerToken,
        headers: { "content-type": "text/plain" },
        body: "{}",
      }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );

    const wanted = { drift: { minSamples: 50, psiWarn: 0.2, psiAlert: 0.4 }, rawRecords: { enabled: true } };
    const res = await putSettings(t, wanted);
    expect(res.status).toBe(200);
    const saved = monitoringSettingsSchema.parse(await res.json());
    expect(saved.drift).toEqual({ minSamples: 50, psiWarn: 0.2, psiAlert: 0.4, windowHours: 24 });
    expect(saved.rawRecords).toEqual({ enabled: true, retentionDays: 30 });
    expect(await (await h.request("/v1/monitoring/settings", { token: t.ownerToken })).json()).toEqual(saved);
    expect(JSON.parse((await h.kv.get(kvKeys.edgeSettings(t.tenantId), "text"))!)).toEqual({
      captureRecords: true,
    });

    const chain = await expectValidAuditChain(h, t.tenantId);
    const entry = chain.find((e) => e.action === "monitoring.update")!;
    expect(entry.actorId).toBe(t.ownerId);
    expect(JSON.parse(entry.details)).toMatchObject({
      from: { rawRecords: { enabled: false } },
      to: { rawRecords: { enabled: true } },
    });
    // Refused changes leave no audit entry.
    expect(chain.filter((e) => e.action === "monitoring.update")).toHaveLength(1);
  });

  it("requires authentication on every monitoring route", async () => {
    await expectAuthRequired(h, "GET", "/v1/monitoring/snapshot");
    await expectAuthRequired(h, "GET", "/v1/monitoring/timeseries");
    await expectAuthRequired(h, "GET", "/v1/monitoring/settings");
    await expectAuthRequired(
      h,
      "PUT",
      "/v1/settings/monitoring",
      () => ({
        headers: { "content-type": "application/json" },
        body: JSON.stringify({}),
      }),
      { control: "owner" },
    );
  });
});

describe("monitoring retention", () => {
  it("deletes raw records past the tenant's retention, and predictions and pending feedback past the platform's", async () => {
    const t = await h.newTenant();
    expect((await putSettings(t, { rawRecords: { enabled: true, retentionDays: 7 } })).status).toBe(200);
    const now = Date.now();
    const db = h.deps.db;
    await db.insert(rawRecords).values([
      { tenantId: t.tenantId, predictionId: "raw-old", record: "{}", storedAt: now - 8 * DAY_MS },
      { tenantId: t.tenantId, predictionId: "raw-new", record: "{}", storedAt: now - 6 * DAY_MS },
    ]);
    const base = {
      tenantId: t.tenantId,
      versionId: "mv_x",
      variant: "production" as const,
      probability: 0.5,
      contact: false,
    };
    await db.insert(predictions).values([
      { ...base, predictionId: "pred-old", predictedAt: now - (PREDICTION_RETENTION_DAYS + 1) * DAY_MS },
      { ...base, predictionId: "pred-new", predictedAt: now - 30 * DAY_MS },
    ]);
    await db.insert(pendingFeedback).values({
      tenantId: t.tenantId,
      eventId: newId("request"),
      position: 0,
      customerId: "c",
      churned: true,
      observedAt: now - 200 * DAY_MS,
      receivedAt: now - 200 * DAY_MS,
    });
    const deleted = await runMonitoringRetention(db, now);
    expect(deleted.rawRecords).toBeGreaterThanOrEqual(1);
    const raw = await db.select().from(rawRecords).where(eq(rawRecords.tenantId, t.tenantId));
    expect(raw.map((r) => r.predictionId)).toEqual(["raw-new"]);
    const kept = await db.select().from(predictions).where(eq(predictions.tenantId, t.tenantId));
    expect(kept.map((r) => r.predictionId)).toEqual(["pred-new"]);
    expect(
      await db
        .select()
        .from(pendingFeedback)
        .where(and(eq(pendingFeedback.tenantId, t.tenantId), eq(pendingFeedback.customerId, "c"))),
    ).toHaveLength(0);
  });
});

describe("delivered-event retention", () => {
  it("forgets delivered event ids once no redelivery can arrive, and keeps recent ones", async () => {
    const t = await h.newTenant();
    const now = Date.now();
    const row = (eventId: string, daysAgo: number) => ({
      eventId,
      tenantId: t.tenantId,
      type: "feedback" as const,
      occurredAt: now - daysAgo * DAY_MS,
      receivedAt: now - daysAgo * DAY_MS,
      payload: "{}",
    });
    const [oldId, recentId] = [newId("event"), newId("event")];
    await h.deps.db
      .insert(ingestedEvents)
      .values([
        row(oldId, INGESTED_EVENT_RETENTION_DAYS + 1),
        row(recentId, INGESTED_EVENT_RETENTION_DAYS - 1),
      ]);
    const deleted = await runMonitoringRetention(h.deps.db, now);
    expect(deleted.ingestedEvents).toBeGreaterThanOrEqual(1);
    const kept = await h.deps.db
      .select({ eventId: ingestedEvents.eventId })
      .from(ingestedEvents)
      .where(eq(ingestedEvents.tenantId, t.tenantId));
    expect(kept.map((r) => r.eventId)).toEqual([recentId]);
  });
});

describe("monitoring metrics", () => {
  it("serves /metrics, with tenant ids, only to the metrics token", async () => {
    await deployed("Scrape auth");
    for (const token of [undefined, "wrong", `${METRICS_TOKEN}x`]) {
      const res = await h.request("/metrics", token === undefined ? {} : { token });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("UNAUTHORIZED");
    }
    // The token itself is accepted in the next test (a scrape here would fill the 60 s gauge cache early).
  });

  it("without a metrics token, /metrics is open and names no tenant", async () => {
    const open = await startControlPlane({ INGEST_SECRET: SECRET });
    try {
      const t = await open.newTenant("Open metrics");
      const version = await t.publish(await open.fixture());
      await t.deploy(version.id);
      const res = await open.request("/metrics");
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain("churn_deployments 1");
      expect(text).not.toContain(t.tenantId);
      expect(text).not.toMatch(/tenant="/);
    } finally {
      await open.close();
    }
  });

  it("exports drift, performance, quality and traffic gauges per tenant, at most 10 features each", async () => {
    const { t, versionId } = await deployed("Metrics");
    await sendTraffic(t.tenantId, versionId, sampleRecords(700, 12), {
      at: hourOf(Date.now()) - 30 * 60_000,
    });
    await sendTraffic(t.tenantId, versionId, sampleRecords(600, 13));
    const scraped = await h.request("/metrics", { token: METRICS_TOKEN });
    expect(scraped.status).toBe(200);
    const text = await scraped.text();
    const lines = text.split("\n").filter((l) => l.includes(`tenant="${t.tenantId}"`));
    const value = (prefix: string) =>
      Number(
        lines
          .find((l) => l.startsWith(prefix))
          ?.split(" ")
          .at(-1),
      );
    expect(value("churn_drift_score{")).toBeLessThan(0.1);
    expect(value("churn_training_auc{")).toBe(manifest.metrics.holdout.roc_auc);
    expect(value("churn_estimated_auc{")).toBeGreaterThan(0);
    expect(value('churn_data_quality_rate{tenant="' + t.tenantId + '",check="schema_violation"}')).toBe(0);
    expect(value(`churn_predictions_per_hour{tenant="${t.tenantId}",variant="production"}`)).toBe(700);
    const features = lines.filter((l) => l.startsWith("churn_feature_psi{"));
    expect(features.length).toBeGreaterThan(0);
    expect(features.length).toBeLessThanOrEqual(10);
    for (const name of [
      "churn_drift_score",
      "churn_feature_psi",
      "churn_estimated_auc",
      "churn_realized_auc",
      "churn_training_auc",
      "churn_data_quality_rate",
      "churn_predictions_per_hour",
      "churn_ingest_events_total",
      "churn_ingest_records_total",
      "churn_ingest_duplicates_total",
      "churn_ingest_batch_duration_seconds",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });
});
