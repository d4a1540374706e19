import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-web";
import { ChurnError } from "#shared/errors.ts";
import { sha256Hex } from "#shared/hash.ts";
import { graphInputOf, type Manifest, manifestSchema, riskBand } from "#shared/manifest.ts";
import { quoteCsv } from "../data/csv-writer.ts";
import { headerIndex, usableHeader } from "../data/feature-names.ts";
import { openTable, type TableOptions } from "../data/table.ts";

export interface PredictOptions extends TableOptions {
  /** Directory holding model.onnx and manifest.json (what `churn train` wrote). */
  model: string;
  /** CSV with a header row holding every feature column (others are ignored). */
  data: string;
  /** Output CSV: id, probability, contact, risk_band. */
  out: string;
  /** Column copied to the output as the row's id (default: the first column). */
  idColumn?: string;
  /** Rows scored per onnxruntime call. */
  batchSize?: number;
  /** Called after every batch with the rows scored so far. */
  onProgress?: (rows: number, elapsedMs: number) => void;
}

export interface PredictResult {
  rows: number;
  contacts: number;
  seconds: number;
  rowsPerSecond: number;
  out: string;
}

export const DEFAULT_PREDICT_BATCH = 4096;

ort.env.wasm.numThreads = 1;

/**
 * Scores a CSV of any size with the exported graph: the file is streamed, rows are scored in batches with
 * onnxruntime-web (the runtime the edge uses) and written out as they go, so memory stays flat.
 */
export async function predict(options: PredictOptions): Promise<PredictResult> {
  const started = performance.now();
  const batchSize = options.batchSize ?? DEFAULT_PREDICT_BATCH;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new ChurnError("INVALID_REQUEST", `Batch size must be a positive integer, got ${batchSize}`);
  }
  const { manifest, bytes } = await loadModel(options.model);
  const session = await ort.InferenceSession.create(bytes);
  await mkdir(dirname(options.out), { recursive: true });
  const output = createWriteStream(options.out);
  const closed = once(output, "close");
  let rows = 0;
  let contacts = 0;
  try {
    let batch = newBatch(manifest, batchSize);

    const flush = async () => {
      if (batch.rows === 0) return;
      const probabilities = await score(session, manifest, batch);
      let text = "";
      for (let i = 0; i < batch.rows; i++) {
        const p = probabilities[i]!;
        const contact = p >= manifest.threshold;
        if (contact) contacts++;
        text += `${quoteCsv(batch.ids[i]!)},${p.toFixed(6)},${contact},${riskBand(p, manifest.riskBands)}\n`;
      }
      rows += batch.rows;
      if (!output.write(text)) await once(output, "drain");
      options.onProgress?.(rows, performance.now() - started);
      batch = newBatch(manifest, batchSize);
    };

    const table = await openTable(options.data, options);
    const layout = columnLayout(manifest, table.header, options.idColumn);
    output.write(`${quoteCsv(layout.idName)},probability,contact,risk_band\n`);
    const { reader } = table;
    for await (const record of table.records) {
      const i = batch.rows;
      batch.ids[i] = record.cells[layout.id]!;
      manifest.features.forEach((f, j) => {
        const cell = record.cells[layout.features[j]!]!.trim();
        const missing = reader.missingMarker(cell) !== undefined;
        const column = batch.columns[j]!;
        if (column instanceof Float32Array) {
          const value = missing ? Number.NaN : reader.number(cell);
          if (Number.isNaN(value) && !missing) {
            throw new ChurnError(
              "INVALID_REQUEST",
              `CSV line ${record.line}: column "${f.name}" must be a number, got ${JSON.stringify(cell)}`,
            );
          }
          column[i] = value;
        } else {
          column[i] = missing ? "" : cell;
        }
      });
      batch.rows++;
      if (batch.rows === batchSize) await flush();
    }
    await flush();
  } finally {
    output.end();
    await closed;
    await session.release();
  }
  const seconds = (performance.now() - started) / 1000;
  return { rows, contacts, seconds, rowsPerSecond: rows / Math.max(seconds, 1e-9), out: options.out };
}

async function loadModel(dir: string): Promise<{ manifest: Manifest; bytes: Uint8Array }> {
  const read = async (file: string) => {
    try {
      return await readFile(join(dir, file));
    } catch (cause) {
      throw new ChurnError("INVALID_REQUEST", `Cannot read ${join(dir, file)}: ${(cause as Error).message}`, {
        cause,
      });
    }
  };
  const [manifestBytes, bytes] = await Promise.all([read("manifest.json"), read("model.onnx")]);
  const parsed = manifestSchema.safeParse(JSON.parse(manifestBytes.toString("utf8")));
  if (!parsed.success) {
    throw new ChurnError(
      "INVALID_MODEL",
      `${join(dir, "manifest.json")} is not a valid manifest: ${parsed.error.message}`,
    );
  }
  if ((await sha256Hex(bytes)) !== parsed.data.onnx.sha256) {
    throw new ChurnError("INVALID_MODEL", `${join(dir, "model.onnx")} does not match the manifest's sha256`);
  }
  return { manifest: parsed.data, bytes };
}

/**
 * Where the id and every feature sit in the CSV, matching headers as training named them (exactly, else
 * after trimming whitespace); a missing feature column is an error naming it.
 */
function columnLayout(manifest: Manifest, header: string[], idColumn: string | undefined) {
  const { names } = usableHeader(header);
  const find = (name: string) => {
    const i = headerIndex(names, name);
    return i >= 0 ? i : undefined;
  };
  const missing = manifest.features.filter((f) => find(f.name) === undefined).map((f) => f.name);
  if (missing.length > 0) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `CSV lacks the model's feature column(s): ${missing.join(", ")}; its columns are ${names.join(", ")}`,
    );
  }
  const idName = idColumn ?? names[0]!;
  const id = find(idName);
  if (id === undefined) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Id column "${idName}" is not in the CSV; its columns are ${names.join(", ")}`,
    );
  }
  return { id, idName, features: manifest.features.map((f) => find(f.name)!) };
}

interface Batch {
  rows: number;
  ids: string[];
  columns: (Float32Array | string[])[];
}

function newBatch(manifest: Manifest, size: number): Batch {
  return {
    rows: 0,
    ids: new Array<string>(size),
    columns: manifest.features.map((f) =>
      f.type === "numeric" ? new Float32Array(size) : new Array<string>(size),
    ),
  };
}

async function score(session: ort.InferenceSession, manifest: Manifest, batch: Batch): Promise<Float32Array> {
  const n = batch.rows;
  const feeds: Record<string, ort.Tensor> = {};
  manifest.features.forEach((f, j) => {
    const column = batch.columns[j]!;
    feeds[graphInputOf(f)] =
      column instanceof Float32Array
        ? new ort.Tensor("float32", column.subarray(0, n), [n, 1])
        : new ort.Tensor("string", column.slice(0, n), [n, 1]);
  });
  const { name, column } = manifest.outputs.probability;
  const out = await session.run(feeds, [name]);
  const tensor = out[name]!;
  const data = tensor.data as Float32Array;
  if (column === undefined) return data;
  const width = tensor.dims[1] ?? 1;
  return Float32Array.from({ length: n }, (_, i) => data[i * width + column]!);
}
