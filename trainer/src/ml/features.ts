import type { Column, Dataset } from "../data/dataset.ts";

/**
 * Raw model input keyed by feature name, exactly as the ONNX graph takes it:
 * numeric features as float32 (NaN = missing), categorical ones as strings ("" or unseen = none).
 */
export interface FeatureBatch {
  rows: number;
  values: Record<string, Float32Array | string[]>;
}

/** Selects `rows` of the dataset's feature columns as a batch. */
export function batchFromDataset(dataset: Dataset, rows: readonly number[]): FeatureBatch {
  const values: FeatureBatch["values"] = {};
  for (const column of dataset.features) values[column.name] = pickRows(column, rows);
  return { rows: rows.length, values };
}

function pickRows(column: Column, rows: readonly number[]): Float32Array | string[] {
  if (column.kind === "numeric") {
    const out = new Float32Array(rows.length);
    rows.forEach((r, i) => {
      out[i] = column.values[r]!;
    });
    return out;
  }
  return rows.map((r) => column.values[r]!);
}

export function numericInput(batch: FeatureBatch, name: string): Float32Array {
  const value = batch.values[name];
  if (!(value instanceof Float32Array)) throw new Error(`Batch has no numeric feature "${name}"`);
  return value;
}

export function categoricalInput(batch: FeatureBatch, name: string): string[] {
  const value = batch.values[name];
  if (!Array.isArray(value)) throw new Error(`Batch has no categorical feature "${name}"`);
  return value;
}

/**
 * Rows the TS predictors score at a time: a wide model encodes each row to hundreds of floats, so a whole
 * holdout of a million-row file at once would need gigabytes for nothing.
 */
export const SCORE_CHUNK_ROWS = 16_384;

/** Rows [start, end) of a batch, sharing its storage. */
export function sliceBatch(batch: FeatureBatch, start: number, end: number): FeatureBatch {
  const values: FeatureBatch["values"] = {};
  for (const [name, column] of Object.entries(batch.values)) {
    values[name] = column instanceof Float32Array ? column.subarray(start, end) : column.slice(start, end);
  }
  return { rows: end - start, values };
}

/**
 * Wraps a scorer giving `perRow` values per row so it runs SCORE_CHUNK_ROWS rows at a time; small batches
 * go straight through. Scores are per row, so chunking changes no value.
 */
export function chunked(
  score: (batch: FeatureBatch) => Float32Array,
  perRow = 1,
): (batch: FeatureBatch) => Float32Array {
  return (batch) => {
    if (batch.rows <= SCORE_CHUNK_ROWS) return score(batch);
    const out = new Float32Array(batch.rows * perRow);
    for (let start = 0; start < batch.rows; start += SCORE_CHUNK_ROWS) {
      const end = Math.min(batch.rows, start + SCORE_CHUNK_ROWS);
      out.set(score(sliceBatch(batch, start, end)), start * perRow);
    }
    return out;
  };
}
