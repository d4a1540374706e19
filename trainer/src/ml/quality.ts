import type { Column, DataReading, Dataset } from "../data/dataset.ts";
import { rocAuc } from "./metrics.ts";
import { createRandom, shuffleInPlace } from "./random.ts";
import { evenlySpread } from "./split.ts";

/** A column whose most frequent value (missing counted as a value) covers at least this share is near-constant. */
export const NEAR_CONSTANT_SHARE = 0.99;
/** Single-feature ROC-AUC above this suggests the column encodes the target (leakage). */
export const LEAKAGE_AUC = 0.95;
/** From this single-feature ROC-AUC, training stops unless told the column is fine (`--allow-leaky`). */
export const LEAKAGE_STOP_AUC = 0.99;
/** Training rows the single-feature AUCs are measured on, at most. */
export const AUC_ROWS = 200_000;
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
  /** How the file was read and what was done with it: separator, encoding, typing, dropped columns. */
  reading: DataReading;
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

  // Single-feature AUCs from at most AUC_ROWS training rows, evenly spread: to three decimals they are
  // the same, and a million rows x 60 columns would otherwise take longer than the reading.
  const aucRows = evenlySpread(trainRows, AUC_ROWS);
  const yTrain = Uint8Array.from(aucRows, (r) => y[r]!);
  const features = dataset.features.map((column) => columnQuality(column, n, aucRows, yTrain, seed));
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
    reading: dataset.reading,
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
  const { distinct, top } =
    column.kind === "numeric" ? numericCounts(column.values) : categoricalCounts(column.values);
  const missing = column.missing;
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
  // Per-value counts by fold, on codes: one pass over the rows, whatever the number of folds.
  const codes = new Map<string, number>();
  const code = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    const v = values[r]!;
    let c = codes.get(v);
    if (c === undefined) {
      c = codes.size;
      codes.set(v, c);
    }
    code[i] = c;
  });
  const n = new Float64Array(codes.size * k);
  const p = new Float64Array(codes.size * k);
  for (let i = 0; i < rows.length; i++) {
    n[code[i]! * k + fold[i]!]! += 1;
    p[code[i]! * k + fold[i]!]! += y[i]!;
  }
  const encoded = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    // The value's rows in the other folds: its totals less its own fold's.
    let nOut = 0;
    let pOut = 0;
    for (let f = 0; f < k; f++) {
      if (f === fold[i]) continue;
      nOut += n[code[i]! * k + f]!;
      pOut += p[code[i]! * k + f]!;
    }
    encoded[i] = (pOut + 10 * prior) / (nOut + 10);
  }
  return oriented(rocAuc(y, encoded));
}

/** Distinct present values and the most frequent value's count (missing counted as one value). */
function numericCounts(values: Float64Array): { distinct: number; top: number } {
  const sorted = Float64Array.from(values).sort();
  let distinct = 0;
  let top = 0;
  let missing = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    if (Number.isNaN(sorted[i]!)) {
      missing++;
      i++;
      continue;
    }
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    distinct++;
    top = Math.max(top, j - i);
    i = j;
  }
  return { distinct, top: Math.max(top, missing) };
}

function categoricalCounts(values: string[]): { distinct: number; top: number } {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let top = 0;
  for (const c of counts.values()) top = Math.max(top, c);
  return { distinct: counts.size - (counts.has("") ? 1 : 0), top };
}

function oriented(auc: number): number {
  return Number.isNaN(auc) ? 0.5 : Math.max(auc, 1 - auc);
}

/**
 * Rows repeating an earlier row, found by a 52-bit hash of each row's features rather than a string per
 * row, so a million wide rows cost a few megabytes. Two different rows share a hash with odds of about
 * rows² / 2^53 (1 in 9,000 for a million rows), which a report can bear.
 */
function duplicateRows(dataset: Dataset): { exact: number; features: number; conflicting: number } {
  const hashes = rowHashes(dataset);
  const firstTarget = new Map<number, number>();
  const seenExact = new Set<number>();
  let exact = 0;
  let features = 0;
  let conflicting = 0;
  for (let r = 0; r < dataset.rowCount; r++) {
    const key = hashes[r]!;
    const target = dataset.target.y[r]!;
    const previous = firstTarget.get(key);
    if (previous === undefined) {
      firstTarget.set(key, target);
    } else {
      features++;
      if (previous !== target) conflicting++;
    }
    // The target flips the lowest bit of the hash, which keeps it an exact integer below 2^53.
    const exactKey = key * 2 + target;
    if (seenExact.has(exactKey)) exact++;
    else seenExact.add(exactKey);
  }
  return { exact, features, conflicting };
}

/** Per row, two 32-bit FNV-1a style hashes of every feature value combined into one 52-bit integer. */
function rowHashes(dataset: Dataset): Float64Array {
  const n = dataset.rowCount;
  const hi = new Uint32Array(n).fill(0x811c9dc5);
  const lo = new Uint32Array(n).fill(0x01000193);
  const bits = new Float64Array(1);
  const words = new Uint32Array(bits.buffer);
  const mix = (r: number, word: number) => {
    hi[r] = Math.imul(hi[r]! ^ word, 0x01000193) >>> 0;
    lo[r] = Math.imul(lo[r]! ^ word, 0x5bd1e995) >>> 0;
  };
  for (const column of dataset.features) {
    if (column.kind === "numeric") {
      for (let r = 0; r < n; r++) {
        const v = column.values[r]!;
        bits[0] = Number.isNaN(v) ? Number.NaN : v;
        mix(r, words[0]!);
        mix(r, words[1]!);
      }
    } else {
      const codes = new Map<string, number>();
      for (let r = 0; r < n; r++) {
        const v = column.values[r]!;
        let code = codes.get(v);
        if (code === undefined) {
          code = codes.size + 1;
          codes.set(v, code);
        }
        mix(r, code);
      }
    }
    // A column boundary, so values cannot shift between columns and collide.
    for (let r = 0; r < n; r++) mix(r, 0x9e3779b9);
  }
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) out[r] = (hi[r]! & 0xfffff) * 2 ** 32 + lo[r]!;
  return out;
}

function pct(share: number): string {
  return `${(100 * share).toFixed(share < 0.01 ? 2 : 1)}%`;
}
