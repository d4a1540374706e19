import type { Manifest } from "#shared/manifest.ts";
import {
  type MonitoringSettings,
  type MonitoringSnapshot,
  type MonitoringTimeseries,
  type MonitoringTimeseriesPoint,
  mergeSketch,
  type Sketch,
} from "#shared/monitoring.ts";
import { DAY_MS, HOUR_MS, toIso } from "#shared/time.ts";
import { BoundedLru } from "../../platform/cache/bounded-lru.ts";
import type { DbOrTx } from "../../platform/db/client.ts";
import { computeDrift, computeQuality, type DriftResult, type QualityResult } from "./drift.ts";
import { hourOf, LABEL_WINDOW_DAYS, type VariantTotalsByVariant, variantTotals } from "./ingest.ts";
import {
  estimatedAuc,
  estimatedPrecisionAt,
  expectedCalibrationError,
  type Labeled,
  realizedAuc,
  realizedPrecisionAt,
} from "./performance.ts";
import {
  hourCounts,
  hourSketchRows,
  labeledPredictions,
  manifestText,
  productionVersionRow,
} from "./queries/hours.ts";
import { getMonitoringSettings } from "./settings.ts";
import { importanceWeights } from "./statistics.ts";

/** Manifests are immutable per version id, so a parsed one can be kept for the life of the process. */
const manifests = new BoundedLru<Manifest>({ maxEntries: 1000 });

export interface LiveVersion {
  versionId: string;
  version: number;
  manifest: Manifest;
}

/** The tenant's production version from its deployment, or null before the first deployment. */
export async function liveVersion(db: DbOrTx, tenantId: string): Promise<LiveVersion | null> {
  const row = await productionVersionRow(db, tenantId);
  if (!row) return null;
  return { ...row, manifest: await manifestOf(db, tenantId, row.versionId) };
}

async function manifestOf(db: DbOrTx, tenantId: string, versionId: string): Promise<Manifest> {
  const cached = manifests.get(versionId);
  if (cached) return cached;
  // Stored manifests were validated at publish; the registry reads them back the same way.
  const manifest = JSON.parse((await manifestText(db, tenantId, versionId))!) as Manifest;
  manifests.set(versionId, manifest);
  return manifest;
}

/** A window's hours summed: the merged sketch, traffic, business sums and rejected records. */
export interface WindowTotals {
  records: number;
  contacts: number;
  rejected: number;
  sketch: Sketch | null;
  variants: VariantTotalsByVariant;
}

export function emptyTotals(): WindowTotals {
  return { records: 0, contacts: 0, rejected: 0, sketch: null, variants: {} };
}

export interface HourRow {
  hour: number;
  records: number;
  contacts: number;
  rejectedRecords: number;
  /** Parsed and shared with the cache: read it, never change it. */
  sketch: Readonly<Sketch> | null;
  variants: string;
}

/** A copy that merges may change, made without a JSON round trip. */
function copySketch(s: Readonly<Sketch>): Sketch {
  const features: Sketch["features"] = {};
  for (const [name, f] of Object.entries(s.features)) {
    features[name] =
      f.type === "numeric"
        ? { type: "numeric", counts: f.counts.slice(), missing: f.missing, outOfRange: f.outOfRange }
        : { type: "categorical", counts: { ...f.counts }, unseen: f.unseen, missing: f.missing };
  }
  return {
    records: s.records,
    contacts: s.contacts,
    features,
    score: { counts: s.score.counts.slice(), sums: s.score.sums.slice() },
  };
}

/** Adds one stored hour into `into`; a sketch of another layout is left out (it cannot be compared). */
export function addHour(into: WindowTotals, row: HourRow): WindowTotals {
  into.records += row.records;
  into.contacts += row.contacts;
  into.rejected += row.rejectedRecords;
  if (row.sketch) {
    if (!into.sketch) into.sketch = copySketch(row.sketch);
    else {
      try {
        mergeSketch(into.sketch, row.sketch as Sketch);
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
      }
    }
  }
  const variants = JSON.parse(row.variants) as VariantTotalsByVariant;
  for (const variant of ["production", "canary"] as const) {
    const f = variants[variant];
    if (!f) continue;
    const t = variantTotals(into.variants, variant);
    t.records += f.records;
    t.contacts += f.contacts;
    t.probabilitySum += f.probabilitySum;
    t.contactedProbabilitySum += f.contactedProbabilitySum;
  }
  return into;
}

/**
 * Parsed hourly sketches. An hour's sketch changes only by merging records into it, so its record count
 * is part of the key: a later delivery into the same hour makes a new entry, never a stale hit.
 */
const hourSketches = new BoundedLru<Readonly<Sketch>>({ maxEntries: 20_000 });
const sketchKey = (tenantId: string, versionId: string, hour: number, records: number) =>
  `${tenantId}\u0000${versionId}\u0000${hour}\u0000${records}`;

/** Rows per `hour IN (…)` query. */
const HOURS_PER_QUERY = 500;

/**
 * The stored hours of one version in [fromHour, toHour). Counts are read every time; sketches only for
 * hours not already parsed (see hourSketches), which is what keeps a 30-day series fast.
 */
export async function readHours(
  db: DbOrTx,
  tenantId: string,
  versionId: string,
  fromHour: number,
  toHour: number,
): Promise<HourRow[]> {
  const rows = await hourCounts(db, tenantId, versionId, fromHour, toHour);
  const sketches = new Map<number, Readonly<Sketch> | null>();
  const recordsAt = new Map(rows.map((r) => [r.hour, r.records]));
  const missing: number[] = [];
  for (const r of rows) {
    const cached = hourSketches.get(sketchKey(tenantId, versionId, r.hour, r.records));
    if (cached) sketches.set(r.hour, cached);
    else missing.push(r.hour);
  }
  for (let i = 0; i < missing.length; i += HOURS_PER_QUERY) {
    const loaded = await hourSketchRows(db, tenantId, versionId, missing.slice(i, i + HOURS_PER_QUERY));
    for (const l of loaded) {
      const sketch = l.sketch ? (JSON.parse(l.sketch) as Sketch) : null;
      sketches.set(l.hour, sketch);
      // Only a sketch whose count matches the first read is cached: the two reads may straddle a delivery.
      if (sketch && recordsAt.get(l.hour) === l.records) {
        hourSketches.set(sketchKey(tenantId, versionId, l.hour, l.records), sketch);
      }
    }
  }
  return rows.map((r) => ({ ...r, sketch: sketches.get(r.hour) ?? null }));
}

/** Labeled predictions of one version made in [from, to), with when they were made. */
export async function readLabeled(
  db: DbOrTx,
  tenantId: string,
  versionId: string,
  from: number,
  to: number,
): Promise<(Labeled & { predictedAt: number })[]> {
  const rows = await labeledPredictions(db, tenantId, versionId, from, to);
  return rows.map((r) => ({ probability: r.probability, label: r.label!, predictedAt: r.predictedAt }));
}

/** Business parameters: the tenant's settings, else the live manifest's decision values, else none. */
export function businessParameters(
  settings: MonitoringSettings,
  manifest: Manifest | null,
): { valuePerCustomer: number; offerCost: number; offerAcceptance: number } | null {
  if (settings.business) return settings.business;
  const d = manifest?.decision;
  return d
    ? { valuePerCustomer: d.valuePerCustomer, offerCost: d.offerCost, offerAcceptance: d.offerAcceptance }
    : null;
}

/**
 * Business figures of a window. flagged = contacted records; revenue at risk = Σ p × valuePerCustomer over
 * scored records; expected saved revenue = Σ over contacted records of (p × offerAcceptance ×
 * valuePerCustomer − offerCost). Zero money without business parameters.
 */
export function businessOf(
  totals: WindowTotals,
  params: ReturnType<typeof businessParameters>,
): MonitoringSnapshot["business"] {
  let probabilitySum = 0;
  let contactedProbabilitySum = 0;
  for (const t of Object.values(totals.variants)) {
    probabilitySum += t.probabilitySum;
    contactedProbabilitySum += t.contactedProbabilitySum;
  }
  if (!params) return { flagged: totals.contacts, revenueAtRisk: 0, expectedSavedRevenue: 0 };
  return {
    flagged: totals.contacts,
    revenueAtRisk: probabilitySum * params.valuePerCustomer,
    expectedSavedRevenue:
      contactedProbabilitySum * params.offerAcceptance * params.valuePerCustomer -
      totals.contacts * params.offerCost,
  };
}

/** The holdout AUC the trainer recorded (`roc_auc`; `auc` in manifests written by other tools). */
export function trainingAucOf(manifest: Manifest | null): number | null {
  const holdout = manifest?.metrics.holdout;
  return holdout?.roc_auc ?? holdout?.auc ?? null;
}

const QUIET_DRIFT: DriftResult = {
  score: null,
  status: "quiet",
  features: [],
  prediction: { psi: null, jsDistance: null, ks: null },
};

export interface SnapshotOptions {
  /** Epoch ms the window ends at. */
  now: number;
  /** Hours in the window (the current, partial hour included); default: the tenant's drift.windowHours. */
  windowHours?: number;
}

/**
 * What monitoring knows about the tenant's live production version over the window ending `now`: drift
 * against the training reference, data quality, estimated and realized performance, business figures.
 * Realized performance reads the version's labeled predictions made within the label window, since
 * outcomes arrive weeks after predictions.
 */
export async function computeSnapshot(
  db: DbOrTx,
  tenantId: string,
  options: SnapshotOptions,
): Promise<MonitoringSnapshot> {
  const settings = await getMonitoringSettings(db, tenantId);
  const hours = options.windowHours ?? settings.drift.windowHours;
  const toHour = hourOf(options.now) + HOUR_MS;
  const fromHour = toHour - hours * HOUR_MS;
  const live = await liveVersion(db, tenantId);
  const totals = emptyTotals();
  let labeled: Labeled[] = [];
  if (live) {
    for (const row of await readHours(db, tenantId, live.versionId, fromHour, toHour)) addHour(totals, row);
    labeled = await readLabeled(
      db,
      tenantId,
      live.versionId,
      options.now - LABEL_WINDOW_DAYS * DAY_MS,
      options.now + 1,
    );
  }
  const manifest = live?.manifest ?? null;
  const reference = manifest?.reference;
  const drift: DriftResult = reference
    ? computeDrift({ reference, importance: manifest.importance }, totals.sketch, settings.drift)
    : QUIET_DRIFT;
  const quality: QualityResult = computeQuality(reference, totals.sketch, totals.rejected);
  const threshold = manifest?.threshold ?? 0.5;
  const score = totals.sketch?.score;
  return {
    tenantId,
    versionId: live?.versionId ?? null,
    version: live?.version ?? null,
    window: { from: toIso(fromHour), to: toIso(options.now) },
    records: totals.records,
    drift,
    quality,
    performance: {
      estimated: {
        auc: score ? estimatedAuc(score) : null,
        precisionAtThreshold: score ? estimatedPrecisionAt(score, threshold) : null,
      },
      realized: {
        labeled: labeled.length,
        auc: realizedAuc(labeled),
        precisionAtThreshold: realizedPrecisionAt(labeled, threshold),
        calibrationError: expectedCalibrationError(labeled),
      },
      trainingAuc: trainingAucOf(manifest),
    },
    business: businessOf(totals, businessParameters(settings, manifest)),
  };
}

export interface TimeseriesOptions {
  now: number;
  /** Days back from now (the current day's or hour's bucket included). */
  days: number;
  bucket: "hour" | "day";
}

/**
 * Hourly or daily points over the last `days` for the live production version: traffic, flagged, drift
 * score and per-feature PSI (each bucket against the training reference, quiet below minSamples),
 * estimated and realized AUC. Buckets are UTC hours or days; empty buckets are present with zero traffic.
 */
export async function computeTimeseries(
  db: DbOrTx,
  tenantId: string,
  options: TimeseriesOptions,
): Promise<MonitoringTimeseries> {
  const width = options.bucket === "hour" ? HOUR_MS : DAY_MS;
  const to = Math.floor(options.now / width) * width + width;
  const count = options.bucket === "hour" ? options.days * 24 : options.days;
  const from = to - count * width;
  const settings = await getMonitoringSettings(db, tenantId);
  const live = await liveVersion(db, tenantId);
  const buckets = Array.from({ length: count }, emptyTotals);
  const labeledByBucket = Array.from({ length: count }, (): Labeled[] => []);
  if (live) {
    for (const row of await readHours(db, tenantId, live.versionId, from, to)) {
      addHour(buckets[Math.floor((row.hour - from) / width)]!, row);
    }
    for (const row of await readLabeled(db, tenantId, live.versionId, from, to)) {
      labeledByBucket[Math.floor((row.predictedAt - from) / width)]!.push(row);
    }
  }
  const manifest = live?.manifest ?? null;
  const reference = manifest?.reference;
  const weights = reference ? importanceWeights(Object.keys(reference.features), manifest.importance) : null;
  const points = buckets.map((totals, i): MonitoringTimeseriesPoint => {
    const drift =
      reference && weights
        ? computeDrift({ reference, importance: manifest.importance }, totals.sketch, settings.drift, weights)
        : QUIET_DRIFT;
    const labeled = labeledByBucket[i]!;
    return {
      at: toIso(from + i * width),
      records: totals.records,
      flagged: totals.contacts,
      rejected: totals.rejected,
      driftScore: drift.score,
      driftStatus: drift.status,
      featurePsi: Object.fromEntries(drift.features.map((f) => [f.feature, f.psi])),
      estimatedAuc: totals.sketch ? estimatedAuc(totals.sketch.score) : null,
      realizedAuc: realizedAuc(labeled),
      labeled: labeled.length,
    };
  });
  return {
    tenantId,
    versionId: live?.versionId ?? null,
    version: live?.version ?? null,
    bucket: options.bucket,
    from: toIso(from),
    to: toIso(Math.min(to, options.now)),
    points,
  };
}
