import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { ChurnError } from "#shared/errors.ts";
import { sha256Hex } from "#shared/hash.ts";
import { type Manifest, manifestSchema, riskBand } from "#shared/manifest.ts";
import { liftOneHotEncoders } from "#shared/onnx/lift-one-hot.ts";
import { quoteCsv } from "../data/csv-writer.ts";
import { headerIndex, usableHeader } from "../data/feature-names.ts";
import { openTable, type TableOptions } from "../data/table.ts";
import { feedEncoder } from "./scoring/feeds.ts";
import { openScorer } from "./scoring/scorer.ts";

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
  /** Score on a second thread while this one reads (default: when the machine has more than one core). */
  scoringThread?: boolean;
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

/**
 * Rows read ahead of the scores written (at least two batches): the reading thread keeps going while
 * onnxruntime starts, and memory stays bounded whatever the file's size.
 */
const ROWS_IN_FLIGHT = 6 * DEFAULT_PREDICT_BATCH;

/**
 * Scores a CSV of any size with the exported graph: the file is streamed, rows are scored in batches with
 * onnxruntime-web (the runtime the edge uses) and written out as they go, so memory stays flat. The graph
 * runs with its one-hot encoders lifted out when they can be (see lift-one-hot.ts): the same arithmetic on
 * the same values, without handing every text cell across the WASM boundary.
 */
export async function predict(options: PredictOptions): Promise<PredictResult> {
  const started = performance.now();
  const batchSize = options.batchSize ?? DEFAULT_PREDICT_BATCH;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new ChurnError("INVALID_REQUEST", `Batch size must be a positive integer, got ${batchSize}`);
  }
  // Opened first: its thread starts onnxruntime while this one checks the model and reads the file.
  const scorer = openScorer({ thread: options.scoringThread ?? availableParallelism() > 1 });
  // Opened with the first scores, so a model onnxruntime refuses leaves no file behind, as before.
  let output: { stream: WriteStream; closed: Promise<unknown> } | undefined;
  let rows = 0;
  let contacts = 0;
  try {
    const { manifest, bytes } = await loadModel(options.model);
    const lifted = liftOneHotEncoders(bytes);
    await scorer.load(lifted?.bytes ?? bytes, manifest.outputs.probability);
    await mkdir(dirname(options.out), { recursive: true });
    const table = await openTable(options.data, options);
    const layout = columnLayout(manifest, table.header, options.idColumn);
    const encoder = feedEncoder(manifest.features, layout.features, table.reader, lifted?.oneHots ?? []);
    const opened = () => {
      if (!output) {
        const stream = createWriteStream(options.out);
        output = { stream, closed: once(stream, "close") };
        stream.write(`${quoteCsv(layout.idName)},probability,contact,risk_band\n`);
      }
      return output.stream;
    };

    const maxInFlight = Math.max(2, Math.ceil(ROWS_IN_FLIGHT / batchSize));
    const inFlight: { ids: string[]; probabilities: Promise<Float32Array> }[] = [];
    const writeOldest = async () => {
      const { ids, probabilities } = inFlight.shift()!;
      const scored = scoreLines(ids, await probabilities, manifest);
      contacts += scored.contacts;
      rows += ids.length;
      const stream = opened();
      if (!stream.write(scored.text)) await once(stream, "drain");
      options.onProgress?.(rows, performance.now() - started);
    };
    let ids: string[] = [];
    const send = async () => {
      const probabilities = scorer.score(encoder.finish());
      // Awaited in order by writeOldest; until then a failure must not count as unhandled.
      probabilities.catch(() => undefined);
      inFlight.push({ ids, probabilities });
      ids = [];
      encoder.start(batchSize);
      while (inFlight.length >= maxInFlight) await writeOldest();
    };

    encoder.start(batchSize);
    for await (const chunk of table.chunks) {
      for (const record of chunk) {
        ids.push(record.cells[layout.id]!);
        encoder.add(record.cells, record.line);
        if (ids.length === batchSize) await send();
      }
    }
    if (ids.length > 0) await send();
    while (inFlight.length > 0) await writeOldest();
    opened();
  } finally {
    if (output) {
      output.stream.end();
      await output.closed;
    }
    await scorer.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { rows, contacts, seconds, rowsPerSecond: rows / Math.max(seconds, 1e-9), out: options.out };
}

/** Output rows for a scored batch: id, probability to 6 decimals, contact at the threshold, risk band. */
export function scoreLines(
  ids: readonly string[],
  probabilities: Float32Array,
  manifest: Pick<Manifest, "threshold" | "riskBands">,
): { text: string; contacts: number } {
  let text = "";
  let contacts = 0;
  for (let i = 0; i < ids.length; i++) {
    const p = probabilities[i]!;
    const contact = p >= manifest.threshold;
    if (contact) contacts++;
    text += `${quoteCsv(ids[i]!)},${p.toFixed(6)},${contact},${riskBand(p, manifest.riskBands)}\n`;
  }
  return { text, contacts };
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
