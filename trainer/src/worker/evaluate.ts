import * as ort from "onnxruntime-web";
import { ChurnError } from "#shared/errors.ts";
import { graphInputOf, type Manifest } from "#shared/manifest.ts";
import type { HoldoutScores } from "#shared/retraining.ts";
import { parseNumber } from "../data/dataset.ts";
import { logLoss, rocAuc } from "../ml/metrics.ts";
import type { Table } from "./data.ts";

ort.env.wasm.numThreads = 1;

/**
 * Scores rows of a table with a model's graph in onnxruntime-web, the runtime the edge serves with (and the
 * one the trainer's parity check uses), so both models are judged as they would score in production.
 */
export async function scoreRows(
  bytes: Uint8Array,
  manifest: Manifest,
  table: Table,
  rows: readonly number[],
): Promise<Float32Array> {
  const index = new Map(table.header.map((h, i) => [h, i]));
  const n = rows.length;
  const feeds: Record<string, ort.Tensor> = {};
  for (const feature of manifest.features) {
    const column = index.get(feature.name);
    const cell = (r: number) => (column === undefined ? "" : (table.rows[r]![column] ?? ""));
    if (feature.type === "numeric") {
      const values = new Float32Array(n);
      rows.forEach((r, i) => {
        values[i] = parseNumber(cell(r));
      });
      feeds[graphInputOf(feature)] = new ort.Tensor("float32", values, [n, 1]);
    } else {
      feeds[graphInputOf(feature)] = new ort.Tensor(
        "string",
        rows.map((r) => cell(r).trim()),
        [n, 1],
      );
    }
  }
  const session = await ort.InferenceSession.create(bytes);
  try {
    const { name, column } = manifest.outputs.probability;
    const out = await session.run(feeds, [name]);
    const tensor = out[name];
    if (!tensor) throw new ChurnError("INVALID_MODEL", `The model has no output "${name}"`);
    const data = tensor.data as Float32Array;
    if (column === undefined) return data;
    const width = tensor.dims[1] ?? 1;
    return Float32Array.from({ length: n }, (_, i) => data[i * width + column]!);
  } finally {
    await session.release();
  }
}

export function holdoutScores(labels: readonly number[], probabilities: Float32Array): HoldoutScores {
  const auc = rocAuc(labels, probabilities);
  if (!Number.isFinite(auc))
    throw new ChurnError("INVALID_REQUEST", "The holdout needs both classes to compute AUC");
  return { auc, logLoss: logLoss(labels, probabilities) };
}
