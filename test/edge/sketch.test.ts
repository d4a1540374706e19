import { describe, expect, it } from "vitest";
import type { Manifest } from "#shared/manifest.ts";
import { emptySketch, mergeSketch, SCORE_SKETCH_BINS, sketchSchema } from "#shared/monitoring.ts";
import type { Prediction } from "#shared/predict.ts";
import { rejectedEvent } from "../../edge/src/events/emit.ts";
import {
  MESSAGE_BUDGET_BYTES,
  predictionEvents,
  type ScoredGroup,
  type ScoredRequest,
} from "../../edge/src/events/prediction-events.ts";
import { compileEncoder } from "../../edge/src/models/features.ts";
import { compileSketcher, type ScoredRow } from "../../edge/src/monitoring/sketch.ts";
import type { Column, Dataset } from "../../trainer/src/data/dataset.ts";
import { driftReference } from "../../trainer/src/ml/reference.ts";
import { expectSameSketch, referenceSketch } from "./sketch-reference.ts";

/** mulberry32: reproducible random data per seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PLANS = ["basic", "plus", "pro", "__proto__"];
/**
 * Without "__proto__": the shared mergeSketch and zod's record parsing both drop such a key, so the merge
 * tests use categories they can carry.
 */
const MERGEABLE_PLANS = ["basic", "plus", "pro", "max"];

/** Money-like values (two decimals), some integers, some missing: what customers send. */
function numericValue(rnd: () => number, scale: number): number {
  const r = rnd();
  if (r < 0.08) return Number.NaN;
  if (r < 0.3) return Math.floor(rnd() * 72);
  return Math.round(rnd() * scale * 100) / 100;
}

/** A model's manifest with a drift reference computed by the trainer from random training rows. */
function trainedManifest(seed: number, numeric: number, categorical: number, plans = PLANS): Manifest {
  const rnd = random(seed);
  const rows = 2000;
  const columns: Column[] = [];
  for (let f = 0; f < numeric; f++) {
    const values = Float64Array.from({ length: rows }, () => numericValue(rnd, 50 + f * 40));
    columns.push({
      kind: "numeric",
      name: `n${f}`,
      input: `n${f}`,
      values,
      missing: values.filter(Number.isNaN).length,
    });
  }
  for (let f = 0; f < categorical; f++) {
    const values = Array.from({ length: rows }, () =>
      rnd() < 0.05 ? "" : plans[Math.floor(rnd() * (plans.length - 1 + (f % 2)))]!,
    );
    columns.push({
      kind: "categorical",
      name: `c${f}`,
      input: `c${f}`,
      values,
      missing: values.filter((v) => v === "").length,
    });
  }
  const dataset = { features: columns, rowCount: rows } as unknown as Dataset;
  const trainRows = Array.from({ length: rows }, (_, i) => i);
  const reference = driftReference(dataset, trainRows, Array.from({ length: rows }, rnd));
  return {
    features: columns.map((c) =>
      c.kind === "numeric"
        ? { name: c.name, type: "numeric", required: false }
        : { name: c.name, type: "categorical", required: false, categories: plans },
    ),
    reference,
  } as unknown as Manifest;
}

/** Traffic that drifts a little: wider numeric ranges (out of range) and a category training never saw. */
function traffic(manifest: Manifest, n: number, seed: number, plans = PLANS): Record<string, unknown>[] {
  const rnd = random(seed);
  return Array.from({ length: n }, (_, i) => {
    const record: Record<string, unknown> = { customerId: `c-${i}` };
    manifest.features.forEach((feature, f) => {
      if (feature.type === "numeric") {
        const edges = (manifest.reference!.features[feature.name] as { edges: number[] }).edges;
        const x = rnd() < 0.1 ? edges[Math.floor(rnd() * edges.length)] : numericValue(rnd, 100 + f * 60);
        if (!Number.isNaN(x)) record[feature.name] = x;
      } else {
        const r = rnd();
        if (r < 0.05) record[feature.name] = null;
        else record[feature.name] = r < 0.12 ? "enterprise" : plans[Math.floor(rnd() * plans.length)];
      }
    });
    return record;
  });
}

function scores(n: number, seed: number): ScoredRow[] {
  const rnd = random(seed);
  return Array.from({ length: n }, () => {
    const probability = Math.fround(rnd() ** 2);
    return { probability, contact: probability >= 0.3 };
  });
}

describe("sketch builder", () => {
  it.each([1, 2, 3, 4, 5])("matches the trainer's histogram on random traffic (seed %i)", (seed) => {
    const manifest = trainedManifest(seed, 6, 3);
    const records = traffic(manifest, 700, seed * 31);
    const { columns, issues } = compileEncoder(manifest).encode(records, false);
    expect(issues).toEqual([]);
    const scored = scores(records.length, seed);
    const sketch = compileSketcher(manifest)!.sketch(columns, 0, scored);
    expect(sketchSchema.safeParse(sketch).success).toBe(true);
    expectSameSketch(sketch, referenceSketch(manifest, records, scored));
    // The traffic was built to exercise every path: edges hit, out of range, unseen, missing.
    const n0 = sketch.features["n0"]!;
    const c0 = sketch.features["c0"]!;
    expect(n0.type === "numeric" && n0.outOfRange > 0 && n0.missing > 0).toBe(true);
    expect(c0.type === "categorical" && c0.unseen > 0 && c0.missing > 0).toBe(true);
    expect(sketch.records).toBe(700);
  });

  it("sketches of any partition of the rows merge into the sketch of all of them", () => {
    const manifest = trainedManifest(9, 4, 2, MERGEABLE_PLANS);
    const records = traffic(manifest, 1000, 77, MERGEABLE_PLANS);
    const { columns } = compileEncoder(manifest).encode(records, false);
    const scored = scores(records.length, 9);
    const sketcher = compileSketcher(manifest)!;
    const whole = sketcher.sketch(columns, 0, scored);
    const merged = emptySketch(manifest.reference!);
    for (const [start, end] of [
      [0, 1],
      [1, 400],
      [400, 401],
      [401, 1000],
    ] as const) {
      mergeSketch(merged, sketcher.sketch(columns, start, scored.slice(start, end)));
    }
    expectSameSketch(merged, whole);
  });

  it("counts nothing out of range when the reference has no training range", () => {
    const manifest = trainedManifest(4, 2, 0);
    for (const ref of Object.values(manifest.reference!.features)) {
      if (ref.type === "numeric") {
        delete ref.min;
        delete ref.max;
      }
    }
    const records = traffic(manifest, 300, 5);
    const { columns } = compileEncoder(manifest).encode(records, false);
    const sketch = compileSketcher(manifest)!.sketch(columns, 0, scores(300, 1));
    for (const f of Object.values(sketch.features)) expect(f.type === "numeric" && f.outOfRange).toBe(0);
  });

  it("is absent for a model without a drift reference", () => {
    const manifest = trainedManifest(4, 1, 1);
    delete manifest.reference;
    expect(compileSketcher(manifest)).toBeUndefined();
  });
});

const eventsOf = (
  predictions: Prediction[],
  groups: ScoredGroup[],
  records: Record<string, unknown>[] | undefined,
) => predictionEvents([{ tenantId: "tnt_a", at: new Date().toISOString(), predictions, groups, records }]);

const bytesOf = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

describe("prediction events", () => {
  /** 1,000 scored records of a 24-feature model, split like a canary does: every third to the canary. */
  function scoredRequest(extraFields = 0) {
    const manifest = trainedManifest(12, 16, 8, MERGEABLE_PLANS);
    const records = traffic(manifest, 1000, 5, MERGEABLE_PLANS).map((r, i) => {
      for (let k = 0; k < extraFields; k++) r[`note_${k}`] = `free text ${i} ${"é".repeat(k)}`;
      return r;
    });
    const encoder = compileEncoder(manifest);
    const sketcher = compileSketcher(manifest);
    const rowsOf = (canary: boolean) => records.map((_, i) => i).filter((i) => (i % 3 === 0) === canary);
    const rnd = random(3);
    const predictions: Prediction[] = records.map((r, i) => {
      const probability = Math.fround(rnd());
      return {
        predictionId: `prd_${String(i).padStart(20, "0")}`,
        customerId: r["customerId"] as string,
        probability,
        contact: probability >= 0.5,
        riskBand: "low",
        version: i % 3 === 0 ? 2 : 1,
        variant: i % 3 === 0 ? "canary" : "production",
      };
    });
    const groups: ScoredGroup[] = [false, true].map((canary) => {
      const rows = rowsOf(canary);
      return {
        variant: canary ? "canary" : "production",
        versionId: canary ? "mv_canary" : "mv_production",
        version: canary ? 2 : 1,
        rows,
        columns: encoder.encode(
          rows.map((i) => records[i]!),
          true,
        ).columns,
        sketcher,
      };
    });
    return { manifest, records, predictions, groups };
  }

  it("chunks at 400 predictions per variant, each chunk sketching exactly its own rows", () => {
    const { manifest, records, predictions, groups } = scoredRequest();
    const events = eventsOf(predictions, groups, undefined);
    expect(events.map((e) => [e.variant, e.predictions.length])).toEqual([
      ["production", 400],
      ["production", 266],
      ["canary", 334],
    ]);
    for (const event of events) {
      expect(event.records).toBeUndefined();
      const rows = event.predictions.map((p) => Number(p.customerId!.slice(2)));
      expectSameSketch(
        event.sketch!,
        referenceSketch(
          manifest,
          rows.map((i) => records[i]!),
          event.predictions,
        ),
      );
      expect(bytesOf(event)).toBeLessThan(MESSAGE_BUDGET_BYTES);
    }
    const total = emptySketch(manifest.reference!);
    for (const event of events) mergeSketch(total, event.sketch!);
    expectSameSketch(total, referenceSketch(manifest, records, predictions));
  });

  it("with capture, carries each chunk's raw records and keeps every message well under 128 KB", () => {
    const { manifest, records, predictions, groups } = scoredRequest(12);
    const events = eventsOf(predictions, groups, records);
    expect(events.length).toBeGreaterThan(3); // raw records make chunks smaller than 400
    let seen = 0;
    for (const event of events) {
      expect(bytesOf(event)).toBeLessThanOrEqual(MESSAGE_BUDGET_BYTES);
      expect(event.records).toHaveLength(event.predictions.length);
      expect(event.records!.map((r) => r["customerId"])).toEqual(event.predictions.map((p) => p.customerId));
      expect(event.sketch!.records).toBe(event.predictions.length);
      seen += event.predictions.length;
    }
    expect(seen).toBe(1000);
    const total = emptySketch(manifest.reference!);
    for (const event of events) mergeSketch(total, event.sketch!);
    expectSameSketch(total, referenceSketch(manifest, records, predictions));
  });

  it("sends a record too large for any message without it, and still sketches it", () => {
    const { records, predictions, groups } = scoredRequest();
    records[4] = { ...records[4], blob: "x".repeat(150_000) };
    const events = eventsOf(predictions, groups, records);
    const alone = events.find((e) => e.predictions.some((p) => p.customerId === "c-4"))!;
    expect(alone.predictions).toHaveLength(1);
    expect(alone.records).toBeUndefined();
    expect(alone.sketch!.records).toBe(1);
    for (const event of events) expect(bytesOf(event)).toBeLessThanOrEqual(MESSAGE_BUDGET_BYTES);
    expect(events.filter((e) => e !== alone).every((e) => e.records?.length === e.predictions.length)).toBe(
      true,
    );
  });

  it("share messages across requests of one tenant and variant, sketches still exact", () => {
    const { manifest, records, predictions, groups } = scoredRequest();
    // The same 1,000 rows arrive as 100 requests of 10 for tenant a and once whole for tenant b.
    const requests: ScoredRequest[] = [];
    for (let k = 0; k < 100; k++) {
      const slice = (g: ScoredGroup): ScoredGroup => {
        const positions = g.rows.flatMap((row, p) => (row >= k * 10 && row < k * 10 + 10 ? [p] : []));
        return {
          ...g,
          rows: positions.map((p) => g.rows[p]!),
          columns: g.columns.map((c) =>
            c instanceof Float32Array
              ? c.slice(positions[0], positions.at(-1)! + 1)
              : c.slice(positions[0], positions.at(-1)! + 1),
          ),
        };
      };
      requests.push({
        tenantId: "tnt_a",
        at: new Date().toISOString(),
        predictions,
        groups: groups.map(slice),
        records: undefined,
      });
    }
    requests.push({
      tenantId: "tnt_b",
      at: new Date().toISOString(),
      predictions,
      groups,
      records: undefined,
    });
    const events = predictionEvents(requests);
    const ofA = events.filter((e) => e.tenantId === "tnt_a");
    const ofB = events.filter((e) => e.tenantId === "tnt_b");
    // 666 production and 334 canary predictions: 3 messages for each tenant, not 200 for tenant a.
    expect(ofA.map((e) => [e.variant, e.predictions.length])).toEqual([
      ["production", 400],
      ["canary", 334],
      ["production", 266],
    ]);
    expect(ofB).toHaveLength(3);
    for (const event of ofA) {
      const rows = event.predictions.map((p) => Number(p.customerId!.slice(2)));
      expectSameSketch(
        event.sketch!,
        referenceSketch(
          manifest,
          rows.map((i) => records[i]!),
          event.predictions,
        ),
      );
    }
  });

  it("sum of probabilities per score bin stays within the bins' range", () => {
    const { predictions, groups } = scoredRequest();
    for (const event of eventsOf(predictions, groups, undefined)) {
      const { counts, sums } = event.sketch!.score;
      for (let b = 0; b < SCORE_SKETCH_BINS; b++) {
        expect(sums[b]!).toBeGreaterThanOrEqual((counts[b]! * b) / SCORE_SKETCH_BINS - 1e-9);
        expect(sums[b]!).toBeLessThanOrEqual((counts[b]! * (b + 1)) / SCORE_SKETCH_BINS + 1e-9);
      }
    }
  });
});

describe("rejected events", () => {
  it("counts errors per field, naming at most 100 fields and cutting long names", () => {
    const fieldErrors = new Map<string, number>([
      ["tenure", 7],
      ["__proto__", 2],
      ["x".repeat(5000), 1],
    ]);
    for (let k = 0; k < 150; k++) fieldErrors.set(`unknown_${k}`, 1);
    const event = rejectedEvent("tnt_a", "mv_a", 40, fieldErrors);
    expect(event.records).toBe(40);
    expect(Object.keys(event.fields)).toHaveLength(101);
    expect(event.fields["tenure"]).toBe(7);
    expect(Object.hasOwn(event.fields, "__proto__")).toBe(true);
    const sent = JSON.parse(JSON.stringify(event)) as { fields: object };
    expect(Object.getOwnPropertyDescriptor(sent.fields, "__proto__")?.value).toBe(2);
    expect(Object.keys(event.fields).every((k) => k.length <= 128 || k === "(other fields)")).toBe(true);
    expect(Object.values(event.fields).reduce((a, b) => a + b, 0)).toBe(7 + 2 + 1 + 150);
  });
});
