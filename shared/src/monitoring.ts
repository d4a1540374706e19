import { z } from "zod";
import type { DriftReference } from "./manifest.ts";

/**
 * Monitoring contracts shared by the edge (which sketches traffic), the control plane (which merges,
 * stores and evaluates sketches) and the console. A sketch is a mergeable aggregate: two sketches of the
 * same model version add element-wise, so the edge can sketch per request, the control plane can sum per
 * hour, and any window is a sum of hours.
 */

/** Equal-width score bins in a sketch; the reference's 20 score bins are unions of these. */
export const SCORE_SKETCH_BINS = 100;

const count = z.number().int().nonnegative();

export const numericSketchSchema = z.object({
  type: z.literal("numeric"),
  /** Counts on the reference's edges: edges.length + 1 bins, same convention as the reference. */
  counts: z.array(count),
  missing: count,
  /** Values outside the training range [min, max] (when the reference records it). */
  outOfRange: count,
});

export const categoricalSketchSchema = z.object({
  type: z.literal("categorical"),
  /** Counts of the categories the reference knows; any other value counts as unseen. */
  counts: z.record(z.string(), count),
  unseen: count,
  missing: count,
});

export const featureSketchSchema = z.discriminatedUnion("type", [
  numericSketchSchema,
  categoricalSketchSchema,
]);
export type FeatureSketch = z.infer<typeof featureSketchSchema>;

export const sketchSchema = z.object({
  /** Records scored. */
  records: count,
  /** Records with contact = true. */
  contacts: count,
  features: z.record(z.string(), featureSketchSchema),
  /** Calibrated probabilities on SCORE_SKETCH_BINS equal-width bins, with the sum of p per bin. */
  score: z.object({ counts: z.array(count), sums: z.array(z.number().nonnegative()) }),
});
export type Sketch = z.infer<typeof sketchSchema>;

/** An empty sketch laid out on a model's drift reference. */
export function emptySketch(reference: DriftReference): Sketch {
  const features: Record<string, FeatureSketch> = {};
  for (const [name, ref] of Object.entries(reference.features)) {
    features[name] =
      ref.type === "numeric"
        ? { type: "numeric", counts: new Array(ref.edges.length + 1).fill(0), missing: 0, outOfRange: 0 }
        : { type: "categorical", counts: {}, unseen: 0, missing: 0 };
  }
  return {
    records: 0,
    contacts: 0,
    features,
    score: { counts: new Array(SCORE_SKETCH_BINS).fill(0), sums: new Array(SCORE_SKETCH_BINS).fill(0) },
  };
}

/** Index of p's score bin: [0, 1/B), …, [(B-1)/B, 1]. */
export function scoreBin(p: number): number {
  const k = Math.floor(p * SCORE_SKETCH_BINS);
  return k < 0 ? 0 : k >= SCORE_SKETCH_BINS ? SCORE_SKETCH_BINS - 1 : k;
}

function addArrays(into: number[], from: readonly number[]): void {
  if (into.length !== from.length) throw new RangeError("sketches of different layouts cannot merge");
  for (let i = 0; i < into.length; i++) into[i]! += from[i]!;
}

/** Adds `from` into `into` (same model version, so the same layout). Returns `into`. */
export function mergeSketch(into: Sketch, from: Sketch): Sketch {
  into.records += from.records;
  into.contacts += from.contacts;
  addArrays(into.score.counts, from.score.counts);
  addArrays(into.score.sums, from.score.sums);
  for (const [name, f] of Object.entries(from.features)) {
    const target = into.features[name];
    if (!target) {
      into.features[name] = structuredClone(f);
      continue;
    }
    if (target.type !== f.type) throw new RangeError(`feature ${name} changed type between sketches`);
    target.missing += f.missing;
    if (target.type === "numeric" && f.type === "numeric") {
      addArrays(target.counts, f.counts);
      target.outOfRange += f.outOfRange;
    } else if (target.type === "categorical" && f.type === "categorical") {
      target.unseen += f.unseen;
      for (const [value, n] of Object.entries(f.counts))
        target.counts[value] = (target.counts[value] ?? 0) + n;
    }
  }
  return into;
}

/** Per-tenant monitoring configuration, set through the control plane. Every field has a default. */
export const monitoringSettingsSchema = z
  .object({
    drift: z
      .object({
        /** Below this many records in the window, drift is not reported (quiet, not zero). */
        minSamples: z.number().int().min(1).max(1_000_000).default(500),
        /** Per-feature PSI at which a feature is flagged. */
        psiWarn: z.number().positive().max(10).default(0.1),
        psiAlert: z.number().positive().max(10).default(0.25),
        /** Hours of traffic compared with the training reference. */
        windowHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 90)
          .default(24),
      })
      .prefault({}),
    quality: z
      .object({
        /** A feature's missing rate above its training rate by this much counts as a jump. */
        missingRateJump: z.number().min(0).max(1).default(0.1),
      })
      .prefault({}),
    /** Store raw scored records (off by default), deleted after `retentionDays`. */
    rawRecords: z
      .object({
        enabled: z.boolean().default(false),
        retentionDays: z.number().int().min(1).max(365).default(30),
      })
      .prefault({}),
    /** Business parameters for revenue at risk; the live model's manifest decision values when unset. */
    business: z
      .object({
        valuePerCustomer: z.number().nonnegative(),
        offerCost: z.number().nonnegative(),
        offerAcceptance: z.number().min(0).max(1),
      })
      .optional(),
  })
  .meta({ id: "MonitoringSettings" });
export type MonitoringSettings = z.infer<typeof monitoringSettingsSchema>;

const driftStatusSchema = z.enum(["quiet", "ok", "warn", "alert"]);

export const featureDriftSchema = z.object({
  feature: z.string(),
  type: z.enum(["numeric", "categorical"]),
  samples: z.number().int(),
  psi: z.number().nullable(),
  /** Jensen–Shannon distance (base 2, in [0, 1]). */
  jsDistance: z.number().nullable(),
  /** Kolmogorov–Smirnov statistic on the binned CDFs; numeric features only. */
  ks: z.number().nullable(),
  /** Normalised importance used to weight the tenant drift score. */
  weight: z.number(),
  status: driftStatusSchema,
});
export type FeatureDrift = z.infer<typeof featureDriftSchema>;

/** What the control plane computes for one tenant's live version over one window. */
export const monitoringSnapshotSchema = z
  .object({
    tenantId: z.string(),
    versionId: z.string().nullable(),
    version: z.number().int().nullable(),
    window: z.object({ from: z.string(), to: z.string() }),
    records: z.number().int(),
    drift: z.object({
      /** Importance-weighted PSI over features; null while quiet (fewer than minSamples records). */
      score: z.number().nullable(),
      status: driftStatusSchema,
      features: z.array(featureDriftSchema),
      prediction: z.object({
        psi: z.number().nullable(),
        jsDistance: z.number().nullable(),
        ks: z.number().nullable(),
      }),
    }),
    quality: z.object({
      /** Largest rise of a feature's missing rate over its training rate. */
      missingRateJump: z.number().nullable(),
      missingRateJumpFeature: z.string().nullable(),
      outOfRangeRate: z.number().nullable(),
      unseenCategoryRate: z.number().nullable(),
      /** Records rejected by the edge's schema checks over all records sent. */
      schemaViolationRate: z.number().nullable(),
    }),
    performance: z.object({
      /** Confidence-based estimate from calibrated probabilities: no labels needed. */
      estimated: z.object({ auc: z.number().nullable(), precisionAtThreshold: z.number().nullable() }),
      /** From predictions joined with feedback; null until labels arrive. */
      realized: z.object({
        labeled: z.number().int(),
        auc: z.number().nullable(),
        precisionAtThreshold: z.number().nullable(),
        calibrationError: z.number().nullable(),
      }),
      /** The model's holdout AUC from training, the baseline for an estimated-AUC drop. */
      trainingAuc: z.number().nullable(),
    }),
    business: z.object({
      flagged: z.number().int(),
      revenueAtRisk: z.number(),
      expectedSavedRevenue: z.number(),
    }),
  })
  .meta({ id: "MonitoringSnapshot" });
export type MonitoringSnapshot = z.infer<typeof monitoringSnapshotSchema>;

export const monitoringTimeseriesPointSchema = z.object({
  /** Start of the bucket. */
  at: z.string(),
  records: z.number().int(),
  flagged: z.number().int(),
  rejected: z.number().int(),
  /** Importance-weighted PSI; null while the bucket holds fewer than minSamples records. */
  driftScore: z.number().nullable(),
  driftStatus: driftStatusSchema,
  /** Per-feature PSI, null while quiet. */
  featurePsi: z.record(z.string(), z.number().nullable()),
  estimatedAuc: z.number().nullable(),
  realizedAuc: z.number().nullable(),
  /** Labeled predictions made in the bucket. */
  labeled: z.number().int(),
});
export type MonitoringTimeseriesPoint = z.infer<typeof monitoringTimeseriesPointSchema>;

/** Hourly or daily points for charts: the live production version's traffic, drift and performance. */
export const monitoringTimeseriesSchema = z
  .object({
    tenantId: z.string(),
    versionId: z.string().nullable(),
    version: z.number().int().nullable(),
    bucket: z.enum(["hour", "day"]),
    from: z.string(),
    to: z.string(),
    points: z.array(monitoringTimeseriesPointSchema),
  })
  .meta({ id: "MonitoringTimeseries" });
export type MonitoringTimeseries = z.infer<typeof monitoringTimeseriesSchema>;
