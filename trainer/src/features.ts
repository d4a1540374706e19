import type { Column, Dataset } from "./dataset.ts";

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
