import { describe, expect, it } from "vitest";
import type { DriftReference, FeatureSpec } from "#shared/manifest.ts";
import { mergeSketch, SCORE_SKETCH_BINS } from "#shared/monitoring.ts";
import {
  alignedBins,
  computeDrift,
  computeQuality,
} from "../../control-plane/src/modules/monitoring/drift.ts";
import {
  estimatedAuc,
  estimatedPrecisionAt,
  expectedCalibrationError,
  realizedAuc,
  realizedPrecisionAt,
} from "../../control-plane/src/modules/monitoring/performance.ts";
import { sketchRecords } from "../../control-plane/src/modules/monitoring/sketch-records.ts";
import {
  coarsen,
  distances,
  importanceWeights,
  jsDistance,
  ksBinned,
  PSI_EPSILON,
  psi,
} from "../../control-plane/src/modules/monitoring/statistics.ts";

const DRIFT = { minSamples: 100, psiWarn: 0.1, psiAlert: 0.25, windowHours: 24 };

const reference: DriftReference = {
  rows: 1000,
  features: {
    tenure: {
      type: "numeric",
      edges: [10, 20, 30],
      counts: [250, 250, 250, 200],
      missing: 50,
      min: 0,
      max: 72,
    },
    plan: { type: "categorical", counts: { basic: 600, pro: 400 }, missing: 0 },
  },
  score: {
    edges: Array.from({ length: 19 }, (_, k) => (k + 1) / 20),
    counts: Array.from({ length: 20 }, () => 50),
  },
};
const features: FeatureSpec[] = [
  { name: "tenure", type: "numeric", required: false },
  { name: "plan", type: "categorical", required: false, categories: ["basic", "pro"] },
];
const manifest = {
  features,
  reference,
  importance: [
    { feature: "tenure", gain: 3, splits: 1 },
    { feature: "plan", gain: 1, splits: 1 },
  ],
};

/** A deterministic generator (mulberry32), so the statistical checks never flake. */
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

/** Records drawn like the reference (shift = 0) or with tenure pushed to its top bin and plan to "pro". */
function records(n: number, seed: number, shifted = false): Record<string, unknown>[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const u = r();
    const tenure = shifted
      ? 40 + r() * 20
      : u < 0.05
        ? null
        : u < 0.3
          ? 5
          : u < 0.55
            ? 15
            : u < 0.8
              ? 25
              : 50;
    return { tenure, plan: shifted ? "pro" : r() < 0.6 ? "basic" : "pro" };
  });
}

const contacts = (n: number) => Array.from({ length: n }, () => false);
const probabilities = (n: number) => Array.from({ length: n }, (_, i) => ((i % 20) + 0.5) / 20);

describe("distribution distances", () => {
  it("PSI is zero for the same distribution at any scale and grows with the shift", () => {
    expect(psi([10, 20, 30], [100, 200, 300])).toBeCloseTo(0, 12);
    const small = psi([50, 50], [55, 45])!;
    const large = psi([50, 50], [90, 10])!;
    expect(small).toBeGreaterThan(0);
    expect(large).toBeGreaterThan(small);
    // Σ (a − e) ln(a / e) with the documented epsilon, by hand.
    const e = [0.5 + PSI_EPSILON, 0.5 + PSI_EPSILON];
    const a = [0.9 + PSI_EPSILON, 0.1 + PSI_EPSILON];
    expect(large).toBeCloseTo(
      (a[0]! - e[0]!) * Math.log(a[0]! / e[0]!) + (a[1]! - e[1]!) * Math.log(a[1]! / e[1]!),
      12,
    );
  });

  it("PSI stays finite when a bin is empty on one side, and is null for an empty side", () => {
    const value = psi([100, 0], [50, 50]);
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeGreaterThan(1);
    expect(psi([0, 0], [1, 2])).toBeNull();
  });

  it("JS distance (base 2) is 0 for equal and 1 for disjoint distributions", () => {
    expect(jsDistance([1, 2, 3], [2, 4, 6])).toBeCloseTo(0, 12);
    expect(jsDistance([1, 0], [0, 1])).toBeCloseTo(1, 12);
    const mid = jsDistance([3, 1], [1, 3])!;
    expect(mid).toBeGreaterThan(0);
    expect(mid).toBeLessThan(1);
  });

  it("KS on binned CDFs is the largest cumulative gap", () => {
    expect(ksBinned([1, 1, 1, 1], [1, 1, 1, 1])).toBe(0);
    expect(ksBinned([1, 0, 0, 1], [0, 0, 1, 1])).toBeCloseTo(0.5, 12);
    expect(ksBinned([1, 0], [0, 1])).toBeCloseTo(1, 12);
  });

  it("coarsens the 100 sketch score bins exactly onto the reference's 20", () => {
    const fine = Array.from({ length: SCORE_SKETCH_BINS }, (_, k) => k);
    const coarse = coarsen(fine, reference.score.edges);
    expect(coarse).toHaveLength(20);
    expect(coarse[0]).toBe(0 + 1 + 2 + 3 + 4);
    expect(coarse[19]).toBe(95 + 96 + 97 + 98 + 99);
    expect(coarse.reduce((a, b) => a + b, 0)).toBe(fine.reduce((a, b) => a + b, 0));
  });

  it("the one-pass distances equal PSI, JS distance and KS computed apart", () => {
    const r = rng(5);
    for (let trial = 0; trial < 50; trial++) {
      const n = 2 + Math.floor(r() * 20);
      const e = Array.from({ length: n }, () => (r() < 0.2 ? 0 : Math.floor(r() * 100)));
      const a = Array.from({ length: n }, () => (r() < 0.2 ? 0 : Math.floor(r() * 100)));
      e[0]! += 1;
      a[n - 1]! += 1;
      const ordered = Math.floor(r() * n);
      const d = distances(e, a, ordered);
      expect(d.psi).toBeCloseTo(psi(e, a)!, 12);
      expect(d.jsDistance).toBeCloseTo(jsDistance(e, a)!, 12);
      const ks = ksBinned(e.slice(0, ordered), a.slice(0, ordered));
      if (ordered === 0 || ks === null) expect(d.ks).toBeNull();
      else expect(d.ks).toBeCloseTo(ks, 12);
    }
  });

  it("drift per feature matches the distances of its aligned bins", () => {
    const sketch = sketchRecords(manifest, records(800, 7, true), probabilities(800), contacts(800));
    const drift = computeDrift(manifest, sketch, DRIFT);
    for (const f of drift.features) {
      const bins = alignedBins(reference.features[f.feature]!, sketch.features[f.feature])!;
      expect(f.psi).toBeCloseTo(psi(bins.expected, bins.actual)!, 12);
      expect(f.jsDistance).toBeCloseTo(jsDistance(bins.expected, bins.actual)!, 12);
    }
  });

  it("normalises importance gains into weights, equal when no importance is known", () => {
    const w = importanceWeights(
      ["a", "b", "c"],
      [
        { feature: "a", gain: 3 },
        { feature: "b", gain: 1 },
      ],
    );
    expect(w.get("a")).toBeCloseTo(0.75);
    expect(w.get("b")).toBeCloseTo(0.25);
    expect(w.get("c")).toBe(0);
    const equal = importanceWeights(["a", "b"], undefined);
    expect(equal.get("a")).toBeCloseTo(0.5);
    expect(equal.get("b")).toBeCloseTo(0.5);
  });
});

describe("drift and quality of a sketch", () => {
  it("is quiet below minSamples and ok on data like the reference", () => {
    const few = sketchRecords(manifest, records(50, 1), probabilities(50), contacts(50));
    const quiet = computeDrift(manifest, few, DRIFT);
    expect(quiet.status).toBe("quiet");
    expect(quiet.score).toBeNull();
    expect(quiet.features.every((f) => f.status === "quiet" && f.psi === null)).toBe(true);

    const many = sketchRecords(manifest, records(4000, 2), probabilities(4000), contacts(4000));
    const ok = computeDrift(manifest, many, DRIFT);
    expect(ok.status).toBe("ok");
    expect(ok.score!).toBeLessThan(0.05);
    expect(ok.prediction.psi!).toBeLessThan(0.01);
    expect(ok.features.find((f) => f.feature === "tenure")!.weight).toBeCloseTo(0.75);
  });

  it("alerts on shifted data, weighting features by importance", () => {
    const sketch = sketchRecords(manifest, records(2000, 3, true), probabilities(2000), contacts(2000));
    const drift = computeDrift(manifest, sketch, DRIFT);
    expect(drift.status).toBe("alert");
    const tenure = drift.features.find((f) => f.feature === "tenure")!;
    const plan = drift.features.find((f) => f.feature === "plan")!;
    expect(tenure.status).toBe("alert");
    expect(tenure.ks!).toBeGreaterThan(0.7);
    expect(plan.ks).toBeNull(); // categories have no order
    expect(drift.score!).toBeCloseTo(0.75 * tenure.psi! + 0.25 * plan.psi!, 10);
  });

  it("sketches merge: drift of two halves merged equals drift of the whole", () => {
    const all = records(1000, 4);
    const p = probabilities(1000);
    const whole = sketchRecords(manifest, all, p, contacts(1000));
    const merged = mergeSketch(
      sketchRecords(manifest, all.slice(0, 400), p.slice(0, 400), contacts(400)),
      sketchRecords(manifest, all.slice(400), p.slice(400), contacts(600)),
    );
    expect(merged.features).toEqual(whole.features);
    expect(merged.score.counts).toEqual(whole.score.counts);
    for (const [k, sum] of whole.score.sums.entries()) expect(merged.score.sums[k]).toBeCloseTo(sum, 9);
    expect(computeDrift(manifest, merged, DRIFT).score).toBeCloseTo(
      computeDrift(manifest, whole, DRIFT).score!,
      12,
    );
  });

  it("files categories the reference never saw as unseen", () => {
    const bins = alignedBins(reference.features.plan!, {
      type: "categorical",
      counts: { basic: 5, enterprise: 2 },
      unseen: 1,
      missing: 1,
    })!;
    expect(bins.expected).toEqual([600, 400, 0, 0]);
    expect(bins.actual).toEqual([5, 0, 3, 1]);
  });

  it("measures missing-rate jumps, out-of-range and unseen values, and schema violations", () => {
    const rows = [
      { tenure: null, plan: "basic" },
      { tenure: null, plan: "enterprise" },
      { tenure: 100, plan: "pro" },
      { tenure: 5, plan: "pro" },
    ];
    const sketch = sketchRecords(manifest, rows, [0.1, 0.2, 0.3, 0.4], contacts(4));
    const q = computeQuality(reference, sketch, 1);
    expect(q.missingRateJump).toBeCloseTo(0.5 - 0.05);
    expect(q.missingRateJumpFeature).toBe("tenure");
    expect(q.outOfRangeRate).toBeCloseTo(1 / 2);
    expect(q.unseenCategoryRate).toBeCloseTo(1 / 4);
    expect(q.schemaViolationRate).toBeCloseTo(1 / 5);
    expect(computeQuality(reference, null, 0).schemaViolationRate).toBeNull();
  });
});

describe("performance", () => {
  it("CBPE estimates the AUC of calibrated scores, and realized AUC matches Mann–Whitney", () => {
    const r = rng(9);
    const counts = new Array<number>(SCORE_SKETCH_BINS).fill(0);
    const sums = new Array<number>(SCORE_SKETCH_BINS).fill(0);
    const labeled: { probability: number; label: boolean }[] = [];
    for (let i = 0; i < 20_000; i++) {
      const p = r() ** 2;
      const k = Math.min(SCORE_SKETCH_BINS - 1, Math.floor(p * SCORE_SKETCH_BINS));
      counts[k]!++;
      sums[k]! += p;
      labeled.push({ probability: p, label: r() < p });
    }
    const estimated = estimatedAuc({ counts, sums })!;
    const realized = realizedAuc(labeled)!;
    expect(Math.abs(estimated - realized)).toBeLessThan(0.015);
    expect(
      Math.abs(estimatedPrecisionAt({ counts, sums }, 0.5)! - realizedPrecisionAt(labeled, 0.5)!),
    ).toBeLessThan(0.02);
    expect(expectedCalibrationError(labeled)!).toBeLessThan(0.02);
  });

  it("realized AUC counts ties as half and needs both classes", () => {
    expect(
      realizedAuc([
        { probability: 0.9, label: true },
        { probability: 0.1, label: false },
      ]),
    ).toBe(1);
    expect(
      realizedAuc([
        { probability: 0.5, label: true },
        { probability: 0.5, label: false },
      ]),
    ).toBe(0.5);
    expect(realizedAuc([{ probability: 0.5, label: true }])).toBeNull();
    expect(estimatedAuc({ counts: [0, 0], sums: [0, 0] })).toBeNull();
  });

  it("a miscalibrated model shows its calibration error", () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({ probability: 0.9, label: i < 300 }));
    expect(expectedCalibrationError(rows)).toBeCloseTo(0.6, 10);
  });
});
