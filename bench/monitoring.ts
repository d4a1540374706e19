import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import type { EdgeEvent } from "#shared/events.ts";
import { newId } from "#shared/ids.ts";
import type { DriftReference, FeatureSpec, Manifest } from "#shared/manifest.ts";
import { SIGNATURE_HEADER, signBody } from "#shared/signature.ts";
import { HOUR_MS } from "#shared/time.ts";
import { createControlPlane, listen } from "../control-plane/src/control-plane.ts";
import { createTenant } from "../control-plane/src/modules/identity/tenants.ts";
import { hourOf } from "../control-plane/src/modules/monitoring/ingest.ts";
import { sketchRecords } from "../control-plane/src/modules/monitoring/sketch-records.ts";
import { computeSnapshot, computeTimeseries } from "../control-plane/src/modules/monitoring/snapshot.ts";
import { loadConfig } from "../control-plane/src/platform/config.ts";
import {
  deployments,
  models,
  modelVersions,
  monitoringHourly,
} from "../control-plane/src/platform/db/schema/index.ts";
import { type KvLike, kvEdgeStore } from "../control-plane/src/platform/edge-store/edge-store.ts";
import { median, percentile } from "./lib/wrk.ts";

/**
 * `npm run bench:monitoring`: a real control plane (libSQL file in a temp dir, workerd KV through Miniflare)
 * on loopback.
 *
 * 1. Ingest: signed batches of 99 prediction events and one feedback event (the most a batch may hold) are POSTed to
 *    /v1/ingest/events for BENCH_SECONDS (default 10) per shape, by 1 and by 4 concurrent senders (the edge's
 *    queue consumer delivers batches in parallel). Each prediction event carries a 20-feature sketch, as the
 *    edge sends them. Figures are scored records ("prediction events") per second, end to end over HTTP.
 *    Then feedback: batches of 5,000 outcomes (half by prediction id, half by customer) are timed.
 * 2. Drift: a tenant with 30 days of hourly aggregates (20 features) for its live version; the snapshot over
 *    all 720 hours and the 30-day time series (daily and hourly) are timed 20 times each.
 *
 * Prints JSON and writes bench/results/monitoring.json.
 */
const seconds = Number(process.env["BENCH_SECONDS"] ?? 10);
const TARGETS = { recordsPerSec: 5000, driftMs: 200 };
const SECRET = "bench-ingest-secret-0123456789abcdef";
const FEATURES = 20;

/** 15 numeric features on 19 edges (20 bins) and 5 categorical ones of 8 categories: a wide Telco-like model. */
function benchManifest(): Manifest & { reference: DriftReference } {
  const features: FeatureSpec[] = [];
  const reference: DriftReference = {
    rows: 10_000,
    features: {},
    score: { edges: Array.from({ length: 19 }, (_, k) => (k + 1) / 20), counts: new Array(20).fill(500) },
  };
  for (let f = 0; f < FEATURES; f++) {
    if (f < 15) {
      const name = `num_${f}`;
      features.push({ name, type: "numeric", required: false, min: 0, max: 100 });
      reference.features[name] = {
        type: "numeric",
        edges: Array.from({ length: 19 }, (_, k) => (k + 1) * 5),
        counts: new Array(20).fill(490),
        missing: 200,
        min: 0,
        max: 100,
      };
    } else {
      const name = `cat_${f}`;
      const categories = Array.from({ length: 8 }, (_, k) => `value_${k}`);
      features.push({ name, type: "categorical", required: false, categories });
      reference.features[name] = {
        type: "categorical",
        counts: Object.fromEntries(categories.map((c) => [c, 1250])),
        missing: 0,
      };
    }
  }
  return {
    schemaVersion: 1,
    name: "churn",
    family: "gbdt",
    createdAt: new Date().toISOString(),
    target: { column: "Churn", positive: "Yes" },
    features,
    outputs: { probability: { name: "probability" } },
    threshold: 0.4,
    riskBands: { medium: 0.3, high: 0.6 },
    onnx: { sha256: "0".repeat(64), bytes: 1, irVersion: 8, opset: 17 },
    metrics: { holdout: { roc_auc: 0.84 } },
    importance: features.map((f, i) => ({ feature: f.name, gain: FEATURES - i, splits: 1 })),
    reference,
    lineage: { dataFingerprint: "bench", trainerVersion: "bench", params: {}, seed: 1 },
  };
}

function records(n: number, seed: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const r: Record<string, unknown> = {};
    for (let f = 0; f < FEATURES; f++) {
      const x = (i * 7919 + f * 104729 + seed * 31) % 1000;
      r[f < 15 ? `num_${f}` : `cat_${f}`] = f < 15 ? x / 10 : `value_${x % 9}`;
    }
    return r;
  });
}

const manifest = benchManifest();

/**
 * A batch template: `events` prediction events of `perEvent` records each (sketched once), and one feedback
 * event for 20 of its predictions. `fresh` stamps new event and prediction ids on it, cheaply, so every
 * delivery is new work for the control plane rather than a duplicate.
 */
function batchTemplate(tenantId: string, versionId: string, events: number, perEvent: number, seed: number) {
  const recs = records(perEvent, seed);
  const template = Array.from({ length: events }, (_, e) => {
    const probabilities = recs.map((_, i) => ((i * 37 + e * 11 + seed) % 100) / 100);
    const contacts = probabilities.map((p) => p >= manifest.threshold);
    return {
      probabilities,
      contacts,
      sketch: sketchRecords(manifest, recs, probabilities, contacts),
    };
  });
  let delivery = 0;
  return {
    fresh(): EdgeEvent[] {
      delivery++;
      const at = new Date().toISOString();
      const ids: string[] = [];
      const out: EdgeEvent[] = template.map((t, e) => ({
        type: "prediction",
        eventId: newId("event"),
        tenantId,
        at,
        versionId,
        version: 1,
        variant: "production",
        predictions: t.probabilities.map((probability, i) => {
          const predictionId = `prd_${seed}_${delivery}_${e}_${i}`;
          ids.push(predictionId);
          return { predictionId, customerId: `cust_${seed}_${e}_${i}`, probability, contact: t.contacts[i]! };
        }),
        sketch: t.sketch,
      }));
      out.push({
        type: "feedback",
        eventId: newId("event"),
        tenantId,
        at,
        feedback: ids
          .slice(0, 20)
          .map((predictionId, i) => ({ predictionId, churned: i % 3 === 0, observedAt: at })),
      });
      return out;
    },
  };
}

const dir = await mkdtemp(join(tmpdir(), "churn-bench-monitoring-"));
const mf = new Miniflare(
  convertV4MiniflareOptions({
    modules: true,
    script: "export default { fetch() { return new Response('') } }",
    kvNamespaces: ["EDGE_KV"],
    compatibilityDate: "2026-07-01",
    cf: false,
  }),
);
try {
  const kv = (await mf.getKVNamespace("EDGE_KV")) as unknown as KvLike;
  const config = loadConfig({
    DATABASE_URL: `file:${join(dir, "cp.db")}`,
    LOG_LEVEL: "silent",
    INGEST_SECRET: SECRET,
  });
  const cp = await createControlPlane(config, kvEdgeStore(kv));
  const db = cp.database.db;
  const server = await listen(cp.app, "127.0.0.1", 0);

  /** A tenant whose live version is the bench manifest (rows written directly: no ONNX is needed here). */
  async function liveTenant(label: string): Promise<{ tenantId: string; versionId: string }> {
    const { tenantId, ownerId } = await createTenant(db, {
      name: label,
      ownerEmail: `${label.toLowerCase().replace(/\W/g, "")}@bench.test`,
      ownerName: "Owner",
    });
    const modelId = newId("model");
    const versionId = newId("modelVersion");
    const now = Date.now();
    await db.insert(models).values({ id: modelId, tenantId, name: "churn", createdAt: now });
    await db.insert(modelVersions).values({
      id: versionId,
      tenantId,
      modelId,
      version: 1,
      sha256: "0".repeat(64),
      bytes: 1,
      manifest: JSON.stringify(manifest),
      publishedBy: ownerId,
      createdAt: now,
    });
    await db.insert(deployments).values({
      tenantId,
      revision: 1,
      productionVersionId: versionId,
      shadowVersionIds: "[]",
      updatedAt: now,
      updatedBy: ownerId,
    });
    return { tenantId, versionId };
  }

  async function post(events: EdgeEvent[]): Promise<void> {
    const body = JSON.stringify({ events });
    const res = await fetch(`${server.url}/v1/ingest/events`, {
      method: "POST",
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await signBody(SECRET, body) },
      body,
    });
    if (res.status !== 200) throw new Error(`ingest: HTTP ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }

  // 1. Ingest throughput.
  const ingest: Record<string, unknown>[] = [];
  const tenantsForIngest: { tenantId: string; versionId: string }[] = [];
  for (let i = 0; i < 4; i++) tenantsForIngest.push(await liveTenant(`Ingest ${i}`));
  for (const shape of [
    { events: 99, perEvent: 50 },
    { events: 99, perEvent: 1 },
  ]) {
    for (const senders of [1, 4]) {
      // Templates are sketched ahead, so the figure is the control plane's, not the generator's.
      const templates = tenantsForIngest.map((t, i) =>
        batchTemplate(
          t.tenantId,
          t.versionId,
          shape.events,
          shape.perEvent,
          i + 10 * senders + 1000 * shape.perEvent,
        ),
      );
      let scored = 0;
      let batches = 0;
      const durations: number[] = [];
      const deadline = performance.now() + seconds * 1000;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: senders }, async (_, s) => {
          let k = s;
          while (performance.now() < deadline) {
            const events = templates[k++ % templates.length]!.fresh();
            const t0 = performance.now();
            await post(events);
            durations.push(performance.now() - t0);
            scored += shape.events * shape.perEvent;
            batches++;
          }
        }),
      );
      const elapsed = (performance.now() - started) / 1000;
      ingest.push({
        recordsPerEvent: shape.perEvent,
        eventsPerBatch: shape.events + 1,
        senders,
        batches,
        recordsPerSec: Math.round(scored / elapsed),
        eventsPerSec: Math.round((batches * (shape.events + 1)) / elapsed),
        batchMedianMs: Number(median(durations).toFixed(1)),
        batchP99Ms: Number(percentile(durations, 99).toFixed(1)),
      });
    }
  }

  // 1b. Feedback: batches of 5 events × 1,000 outcomes (half naming the prediction, half only the customer)
  // for predictions stored just before, so every outcome joins.
  const fb = tenantsForIngest[0]!;
  const labelMs: number[] = [];
  let labels = 0;
  for (let round = 0; round < 5; round++) {
    const at = new Date().toISOString();
    const ids = Array.from({ length: 5000 }, (_, i) => `prd_fb_${round}_${i}`);
    for (let e = 0; e < 5; e++) {
      await post([
        {
          type: "prediction",
          eventId: newId("event"),
          tenantId: fb.tenantId,
          at,
          versionId: fb.versionId,
          version: 1,
          variant: "production",
          predictions: ids.slice(e * 1000, e * 1000 + 1000).map((predictionId) => ({
            predictionId,
            customerId: `cust_fb_${predictionId}`,
            probability: 0.5,
            contact: true,
          })),
        },
      ]);
    }
    const feedback: EdgeEvent[] = Array.from({ length: 5 }, (_, e) => ({
      type: "feedback",
      eventId: newId("event"),
      tenantId: fb.tenantId,
      at,
      feedback: ids
        .slice(e * 1000, e * 1000 + 1000)
        .map((predictionId, i) =>
          i % 2 === 0
            ? { predictionId, churned: i % 3 === 0, observedAt: at }
            : { customerId: `cust_fb_${predictionId}`, churned: i % 3 === 0, observedAt: at },
        ),
    }));
    const t0 = performance.now();
    await post(feedback);
    labelMs.push(performance.now() - t0);
    labels += 5000;
  }
  const feedbackFigures = {
    outcomesPerBatch: 5000,
    labelsPerSec: Math.round(labels / (labelMs.reduce((a, b) => a + b, 0) / 1000)),
    batchMedianMs: Number(median(labelMs).toFixed(1)),
  };

  // 2. Drift over 30 days of hourly aggregates for 20 features.
  const drift = await liveTenant("Drift");
  const now = Date.now();
  const sketch = sketchRecords(
    manifest,
    records(1000, 1),
    Array.from({ length: 1000 }, (_, i) => (i % 100) / 100),
    Array.from({ length: 1000 }, (_, i) => i % 100 >= 40),
  );
  const hours = Array.from({ length: 720 }, (_, h) => hourOf(now) - h * HOUR_MS);
  for (let i = 0; i < hours.length; i += 100) {
    await db.insert(monitoringHourly).values(
      hours.slice(i, i + 100).map((hour) => ({
        tenantId: drift.tenantId,
        versionId: drift.versionId,
        hour,
        records: sketch.records,
        contacts: sketch.contacts,
        variants: JSON.stringify({
          production: { records: 1000, contacts: 600, probabilitySum: 495, contactedProbabilitySum: 417 },
        }),
        sketch: JSON.stringify(sketch),
      })),
    );
  }
  const time = async (fn: () => Promise<unknown>) => {
    await fn(); // warm-up: the manifest cache and the prepared paths
    const ms: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await fn();
      ms.push(performance.now() - t0);
    }
    return { medianMs: Number(median(ms).toFixed(1)), p99Ms: Number(percentile(ms, 99).toFixed(1)) };
  };
  const driftFigures = {
    features: FEATURES,
    hours: hours.length,
    snapshot720h: await time(() => computeSnapshot(db, drift.tenantId, { now, windowHours: 720 })),
    timeseries30dDaily: await time(() =>
      computeTimeseries(db, drift.tenantId, { now, days: 30, bucket: "day" }),
    ),
    timeseries30dHourly: await time(() =>
      computeTimeseries(db, drift.tenantId, { now, days: 30, bucket: "hour" }),
    ),
  };

  const bestIngest = Math.max(...ingest.map((r) => r.recordsPerSec as number));
  const result = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", loadavg: loadavg() },
    node: process.version,
    seconds,
    targets: TARGETS,
    ingest,
    feedback: feedbackFigures,
    drift: driftFigures,
    verdict: {
      ingest: bestIngest >= TARGETS.recordsPerSec ? "meets" : "misses",
      drift: driftFigures.timeseries30dHourly.medianMs < TARGETS.driftMs ? "meets" : "misses",
    },
  };
  console.log(JSON.stringify(result, null, 2));
  const out = resolve(import.meta.dirname, "results");
  await mkdir(out, { recursive: true });
  await writeFile(join(out, "monitoring.json"), `${JSON.stringify(result, null, 2)}\n`);
  await server.close();
  cp.close();
} finally {
  await mf.dispose();
  await rm(dir, { recursive: true, force: true });
}
