import type { DriftReference, Manifest, ReferenceHistogram } from "#shared/manifest.ts";
import type { FeatureSketch, MonitoringSettings, Sketch } from "#shared/monitoring.ts";
import {
  coarsen,
  type Distances,
  distances,
  importanceWeights,
  jsDistance,
  ksBinned,
  psi,
} from "./statistics.ts";

export type DriftStatus = "quiet" | "ok" | "warn" | "alert";

export interface FeatureDriftResult {
  feature: string;
  type: "numeric" | "categorical";
  samples: number;
  psi: number | null;
  jsDistance: number | null;
  ks: number | null;
  weight: number;
  status: DriftStatus;
}

export interface DriftResult {
  score: number | null;
  status: DriftStatus;
  features: FeatureDriftResult[];
  prediction: { psi: number | null; jsDistance: number | null; ks: number | null };
}

type DriftSettings = MonitoringSettings["drift"];

export function statusOf(value: number | null, settings: DriftSettings): DriftStatus {
  if (value === null) return "quiet";
  if (value >= settings.psiAlert) return "alert";
  if (value >= settings.psiWarn) return "warn";
  return "ok";
}

/**
 * A feature's reference and window counts on the same bins. Numeric: the reference's bins, then missing.
 * Categorical: the reference's categories (sorted), then one bin for every unseen value, then missing.
 * `ordered` is how many leading bins are ordered values (the part KS reads).
 */
export function alignedBins(
  ref: ReferenceHistogram,
  window: FeatureSketch | undefined,
): { expected: number[]; actual: number[]; ordered: number } | null {
  if (ref.type === "numeric") {
    const counts = window?.type === "numeric" ? window.counts : null;
    if (window && !counts) return null;
    if (counts && counts.length !== ref.counts.length) return null;
    return {
      expected: [...ref.counts, ref.missing],
      actual: [...(counts ?? new Array<number>(ref.counts.length).fill(0)), window?.missing ?? 0],
      ordered: ref.counts.length,
    };
  }
  if (window && window.type !== "categorical") return null;
  const categories = Object.keys(ref.counts).sort();
  const known = new Set(categories);
  let unseen = window?.unseen ?? 0;
  // A category the reference never saw is unseen, however the sketch filed it.
  for (const [value, n] of Object.entries(window?.counts ?? {})) if (!known.has(value)) unseen += n;
  return {
    expected: [...categories.map((c) => ref.counts[c]!), 0, ref.missing],
    actual: [...categories.map((c) => window?.counts[c] ?? 0), unseen, window?.missing ?? 0],
    ordered: 0,
  };
}

/**
 * Drift of one window's sketch against the model's training reference. Quiet (null scores) below
 * `minSamples` records. The tenant score is Σ weight × PSI over features, weights from the manifest's
 * importance gains (normalised), equal when the manifest has none.
 */
export function computeDrift(
  manifest: Pick<Manifest, "importance"> & { reference: DriftReference },
  sketch: Sketch | null,
  settings: DriftSettings,
  weights: Map<string, number> = importanceWeights(
    Object.keys(manifest.reference.features),
    manifest.importance,
  ),
): DriftResult {
  const reference = manifest.reference;
  const records = sketch?.records ?? 0;
  const quiet = records < settings.minSamples;
  const features: FeatureDriftResult[] = [];
  let score = 0;
  for (const plan of plansOf(reference)) {
    const weight = weights.get(plan.name) ?? 0;
    const d = quiet ? null : featureDistances(plan, sketch?.features[plan.name]);
    features.push({
      feature: plan.name,
      type: plan.type,
      samples: records,
      psi: d?.psi ?? null,
      jsDistance: d?.jsDistance ?? null,
      ks: d?.ks ?? null,
      weight,
      status: statusOf(d?.psi ?? null, settings),
    });
    if (d?.psi != null) score += weight * d.psi;
  }
  const driftScore = quiet ? null : score;
  return {
    score: driftScore,
    status: statusOf(driftScore, settings),
    features,
    prediction: quiet || !sketch ? { psi: null, jsDistance: null, ks: null } : scoreDrift(reference, sketch),
  };
}

/** A reference feature laid out once: its expected bins and, for categories, their order. */
interface FeaturePlan {
  name: string;
  type: "numeric" | "categorical";
  expected: Float64Array;
  categories: string[];
  known: Set<string>;
  /** Scratch space for the window's counts, reused across calls (computeDrift is synchronous). */
  actual: Float64Array;
}

const plans = new WeakMap<DriftReference, FeaturePlan[]>();

function plansOf(reference: DriftReference): FeaturePlan[] {
  let list = plans.get(reference);
  if (list) return list;
  list = Object.entries(reference.features).map(([name, ref]): FeaturePlan => {
    const categories = ref.type === "categorical" ? Object.keys(ref.counts).sort() : [];
    const expected =
      ref.type === "numeric"
        ? Float64Array.from([...ref.counts, ref.missing])
        : Float64Array.from([...categories.map((c) => ref.counts[c]!), 0, ref.missing]);
    return {
      name,
      type: ref.type,
      expected,
      categories,
      known: new Set(categories),
      actual: new Float64Array(expected.length),
    };
  });
  plans.set(reference, list);
  return list;
}

/** The same bins as alignedBins, filled into the plan's scratch array, and their distances. */
function featureDistances(plan: FeaturePlan, window: FeatureSketch | undefined): Distances | null {
  const actual = plan.actual;
  actual.fill(0);
  if (plan.type === "numeric") {
    if (window && (window.type !== "numeric" || window.counts.length !== actual.length - 1)) return null;
    if (window?.type === "numeric")
      for (let i = 0; i < window.counts.length; i++) actual[i] = window.counts[i]!;
    actual[actual.length - 1] = window?.missing ?? 0;
    return distances(plan.expected, actual, actual.length - 1);
  }
  if (window && window.type !== "categorical") return null;
  const n = plan.categories.length;
  let unseen = window?.unseen ?? 0;
  if (window?.type === "categorical") {
    for (let i = 0; i < n; i++) actual[i] = window.counts[plan.categories[i]!] ?? 0;
    for (const [value, count] of Object.entries(window.counts)) if (!plan.known.has(value)) unseen += count;
  }
  actual[n] = unseen;
  actual[n + 1] = window?.missing ?? 0;
  return distances(plan.expected, actual, 0);
}

/** The sketch's 100 score bins summed onto the reference's 20, compared with the training scores. */
export function scoreDrift(
  reference: DriftReference,
  sketch: Sketch,
): { psi: number | null; jsDistance: number | null; ks: number | null } {
  const actual = coarsen(sketch.score.counts, reference.score.edges);
  const expected = reference.score.counts;
  if (actual.length !== expected.length) return { psi: null, jsDistance: null, ks: null };
  return {
    psi: psi(expected, actual),
    jsDistance: jsDistance(expected, actual),
    ks: ksBinned(expected, actual),
  };
}

export interface QualityResult {
  missingRateJump: number | null;
  missingRateJumpFeature: string | null;
  outOfRangeRate: number | null;
  unseenCategoryRate: number | null;
  schemaViolationRate: number | null;
}

/**
 * Data quality of a window. Missing-rate jump: the largest rise of a feature's missing share over its
 * training share (0 when none rose). Out-of-range: numeric values outside the training [min, max] over
 * numeric values present. Unseen: categorical values the reference never saw over categorical values
 * present. Schema violation: rejected / (rejected + scored) records.
 */
export function computeQuality(
  reference: DriftReference | undefined,
  sketch: Sketch | null,
  rejected: number,
): QualityResult {
  const scored = sketch?.records ?? 0;
  const sent = scored + rejected;
  const result: QualityResult = {
    missingRateJump: null,
    missingRateJumpFeature: null,
    outOfRangeRate: null,
    unseenCategoryRate: null,
    schemaViolationRate: sent > 0 ? rejected / sent : null,
  };
  if (!reference || !sketch || scored === 0) return result;
  let jump = 0;
  let jumpFeature: string | null = null;
  let numericPresent = 0;
  let outOfRange = 0;
  let categoricalPresent = 0;
  let unseen = 0;
  for (const [name, ref] of Object.entries(reference.features)) {
    const window = sketch.features[name];
    if (!window) continue;
    const refTotal = sumOf(ref.type === "numeric" ? ref.counts : Object.values(ref.counts)) + ref.missing;
    const refRate = refTotal > 0 ? ref.missing / refTotal : 0;
    const rise = window.missing / scored - refRate;
    if (rise > jump) {
      jump = rise;
      jumpFeature = name;
    }
    const present = scored - window.missing;
    if (window.type === "numeric") {
      numericPresent += present;
      outOfRange += window.outOfRange;
    } else {
      categoricalPresent += present;
      const known = ref.type === "categorical" ? ref.counts : {};
      unseen += window.unseen;
      for (const [value, n] of Object.entries(window.counts)) if (!Object.hasOwn(known, value)) unseen += n;
    }
  }
  result.missingRateJump = jump;
  result.missingRateJumpFeature = jumpFeature;
  result.outOfRangeRate = numericPresent > 0 ? outOfRange / numericPresent : null;
  result.unseenCategoryRate = categoricalPresent > 0 ? unseen / categoricalPresent : null;
  return result;
}

function sumOf(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
