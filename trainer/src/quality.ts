import type { Column, Dataset } from "./dataset.ts";
import { rocAuc } from "./metrics.ts";
import { createRandom, shuffleInPlace } from "./random.ts";

/** A column whose most frequent value (missing counted as a value) covers at least this share is near-constant. */
export const NEAR_CONSTANT_SHARE = 0.99;
/** Single-feature ROC-AUC above this suggests the column encodes the target (leakage). */
export const LEAKAGE_AUC = 0.95;
/** A minority class below this share is reported as imbalance. */
export const IMBALANCE_SHARE = 0.1;
/** Columns missing on more than this share of rows are reported. */
export const HIGH_MISSING_RATE = 0.5;

export interface ColumnQuality {
  name: string;
  type: "numeric" | "categorical";
  missingRate: number;
  /** Distinct non-missing values. */
  distinct: number;
  /** Share of rows holding the most frequent value (missing counts as a value). */
  topShare: number;
  constant: boolean;
  nearConstant: boolean;
  /**
   * ROC-AUC of the column alone on the training rows, oriented so that > 0.5 (numeric: its value or its
   * negation; categorical: out-of-fold target rate of its value; missing as a value of its own).
   */
  singleFeatureAuc: number;
  possibleLeakage: boolean;
}

export interface DataQualityReport {
  rows: number;
  /** Feature columns kept, plus target and dropped ones. */
  columns: number;
  target: { column: string; positive: string; positives: number; positiveRate: number; imbalanced: boolean };
  /** Rows repeating an earlier row exactly (features and target). */
  duplicateRows: number;
  /** Rows whose features repeat an earlier row's. */
  duplicateFeatureRows: number;
  /** Of those, rows whose target differs from an earlier twin's: irreducible noise. */
  conflictingDuplicates: number;
  features: ColumnQuality[];
  dropped: { column: string; reason: string }[];
  warnings: string[];
}

/**
 * The data-quality report made before training: per column missing rate, cardinality, (near-)constant
 * values and single-feature AUC (on the training rows only, so the holdout stays unseen); duplicate rows;
 * target balance; the columns dropped while loading (ID-like, high-cardinality, blank, requested).
 */
export function dataQuality(dataset: Dataset, trainRows: readonly number[], seed: number): DataQualityReport {
  const n = dataset.rowCount;
  const y = dataset.target.y;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i]!;
  const positiveRate = positives / n;
  const imbalanced = Math.min(positiveRate, 1 - positiveRate) < IMBALANCE_SHARE;
  const warnings: string[] = [];

  const yTrain = Uint8Array.from(trainRows, (r) => y[r]!);
  const features = dataset.features.map((column) => columnQuality(column, n, trainRows, yTrain, seed));
  for (const f of features) {
    if (f.constant) warnings.push(`Column "${f.name}" is constant: it cannot help the model`);
    else if (f.nearConstant) {
      warnings.push(`Column "${f.name}" is near-constant: one value covers ${pct(f.topShare)} of rows`);
    }
    if (f.missingRate > HIGH_MISSING_RATE)
      warnings.push(`Column "${f.name}" is missing in ${pct(f.missingRate)} of rows`);
    if (f.possibleLeakage) {
      warnings.push(
        `Column "${f.name}" alone predicts the target with ROC-AUC ${f.singleFeatureAuc.toFixed(3)}: possible leakage (is it known before the customer churns?)`,
      );
    }
  }
  if (imbalanced) {
    warnings.push(
      `Target is imbalanced: ${pct(positiveRate)} of rows are "${dataset.target.positive}"; ranking metrics (PR-AUC, lift) matter more than accuracy`,
    );
  }

  const duplicates = duplicateRows(dataset);
  if (duplicates.features > 0) {
    warnings.push(
      `${duplicates.features} row(s) repeat an earlier row's features (${duplicates.conflicting} of them with a different target)`,
    );
  }
  return {
    rows: n,
    columns: dataset.features.length + dataset.dropped.length + 1,
    target: {
      column: dataset.target.column,
      positive: dataset.target.positive,
      positives,
      positiveRate,
      imbalanced,
    },
    duplicateRows: duplicates.exact,
    duplicateFeatureRows: duplicates.features,
    conflictingDuplicates: duplicates.conflicting,
    features,
    dropped: dataset.dropped,
    warnings,
  };
}

function columnQuality(
  column: Column,
  rows: number,
  trainRows: readonly number[],
  yTrain: Uint8Array,
  seed: number,
): ColumnQuality {
  const counts = new Map<string | number, number>();
  for (const v of column.values) {
    const key = column.kind === "numeric" && Number.isNaN(v as number) ? "" : v;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const missing = column.missing;
  const distinct = counts.size - (missing > 0 ? 1 : 0);
  let top = 0;
  for (const c of counts.values()) top = Math.max(top, c);
  const auc =
    column.kind === "numeric"
      ? numericAuc(column.values, trainRows, yTrain)
      : categoricalAuc(column.values, trainRows, yTrain, seed);
  return {
    name: column.name,
    type: column.kind,
    missingRate: missing / rows,
    distinct,
    topShare: top / rows,
    constant: distinct <= 1 && missing === 0,
    nearConstant: top / rows >= NEAR_CONSTANT_SHARE,
    singleFeatureAuc: auc,
    possibleLeakage: auc > LEAKAGE_AUC,
  };
}

/** Missing values sit below every present one, so "missing" can be predictive on its own too. */
function numericAuc(values: Float64Array, rows: readonly number[], y: Uint8Array): number {
  const x = rows.map((r) => (Number.isNaN(values[r]!) ? Number.NEGATIVE_INFINITY : values[r]!));
  return oriented(rocAuc(y, x));
}

/**
 * Target-rate encoding from the other folds (5 folds, smoothed towards the overall rate by 10 rows), so
 * an ID-like column with one row per value cannot score well by memorising its own labels.
 */
function categoricalAuc(values: string[], rows: readonly number[], y: Uint8Array, seed: number): number {
  const k = 5;
  const order = shuffleInPlace(
    Array.from({ length: rows.length }, (_, i) => i),
    createRandom(seed ^ 0xa11ce),
  );
  const fold = new Uint8Array(rows.length);
  order.forEach((position, i) => {
    fold[position] = i % k;
  });
  let positives = 0;
  for (const v of y) positives += v;
  const prior = positives / Math.max(y.length, 1);
  const encoded = new Float64Array(rows.length);
  for (let f = 0; f < k; f++) {
    const stats = new Map<string, { n: number; p: number }>();
    rows.forEach((r, i) => {
      if (fold[i] === f) return;
      const s = stats.get(values[r]!) ?? { n: 0, p: 0 };
      s.n++;
      s.p += y[i]!;
      stats.set(values[r]!, s);
    });
    rows.forEach((r, i) => {
      if (fold[i] !== f) return;
      const s = stats.get(values[r]!) ?? { n: 0, p: 0 };
      encoded[i] = (s.p + 10 * prior) / (s.n + 10);
    });
  }
  return oriented(rocAuc(y, encoded));
}

function oriented(auc: number): number {
  return Number.isNaN(auc) ? 0.5 : Math.max(auc, 1 - auc);
}

function duplicateRows(dataset: Dataset): { exact: number; features: number; conflicting: number } {
  const firstTarget = new Map<string, number>();
  const seenExact = new Set<string>();
  let exact = 0;
  let features = 0;
  let conflicting = 0;
  for (let r = 0; r < dataset.rowCount; r++) {
    const key = dataset.features.map((c) => String(c.values[r])).join("\u0001");
    const target = dataset.target.y[r]!;
    const previous = firstTarget.get(key);
    if (previous === undefined) {
      firstTarget.set(key, target);
    } else {
      features++;
      if (previous !== target) conflicting++;
    }
    const exactKey = `${key}\u0002${target}`;
    if (seenExact.has(exactKey)) exact++;
    else seenExact.add(exactKey);
  }
  return { exact, features, conflicting };
}

function pct(share: number): string {
  return `${(100 * share).toFixed(share < 0.01 ? 2 : 1)}%`;
}
