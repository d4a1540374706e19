import type { PredictionEvent } from "#shared/events.ts";
import { newId } from "#shared/ids.ts";
import type { Prediction } from "#shared/predict.ts";
import { jsonStringBytes, utf8Bytes } from "../monitoring/json-size.ts";
import type { EncodedColumns, SketchAccumulator, Sketcher } from "../monitoring/sketch.ts";

/** At most this many predictions per message, however small. */
export const PREDICTIONS_PER_MESSAGE = 400;
/** Queue messages are limited to 128 KB; each event is cut to stay below this estimate of its JSON size. */
export const MESSAGE_BUDGET_BYTES = 96_000;
/** The event's own fields (type, ids, time, version, variant) as JSON, generously; the tenant id is added. */
const EVENT_ENVELOPE_BYTES = 320;
/** One prediction as JSON without its customer id: ids, a probability with 17 digits, the decision. */
const PREDICTION_BYTES = 112;
/** `,"customerId":` around the customer id's own JSON string. */
const CUSTOMER_ID_KEY_BYTES = 15;

/** One variant's share of a scored request: which rows it scored and their columns as its model saw them. */
export interface ScoredGroup {
  variant: "production" | "canary";
  versionId: string;
  version: number;
  /** The request's row index of each encoded position, ascending. */
  rows: readonly number[];
  /** The encoded columns of these rows, by position. */
  columns: EncodedColumns;
  sketcher: Sketcher | undefined;
}

/** A scored request waiting for its events: kept as scored, turned into events when its batch is sent. */
export interface ScoredRequest {
  tenantId: string;
  at: string;
  predictions: readonly Prediction[];
  groups: readonly ScoredGroup[];
  /** The raw records, only when the tenant captures them. */
  records: readonly Record<string, unknown>[] | undefined;
}

interface OpenChunk {
  event: PredictionEvent;
  sketcher: Sketcher | undefined;
  sketch: SketchAccumulator | undefined;
  bytes: number;
  /** The rows of one request's group added since the last sketch update. */
  run: { group: ScoredGroup; start: number; from: number } | undefined;
}

/**
 * Builds the prediction events of scored requests. Requests of one tenant, version and variant share events
 * (a busy tenant sends one message per ~50 ms, not one per request), cut at 400 predictions and at an
 * estimated JSON size of MESSAGE_BUDGET_BYTES. Each event's sketch counts exactly its own predictions'
 * records, so sketches sum exactly over events. With capture, each event carries its raw records aligned
 * with its predictions; a record too large for a message by itself is scored and sketched but travels
 * alone, without `records`.
 */
export function predictionEvents(requests: readonly ScoredRequest[]): PredictionEvent[] {
  const events: PredictionEvent[] = [];
  const open = new Map<string, OpenChunk>();
  const close = (key: string, chunk: OpenChunk) => {
    finish(chunk);
    open.delete(key);
  };
  for (const request of requests) {
    const { tenantId, predictions, records } = request;
    const envelope = EVENT_ENVELOPE_BYTES + jsonStringBytes(tenantId);
    for (const group of request.groups) {
      const key = `${tenantId}\n${group.versionId}\n${group.variant}\n${records ? "records" : ""}`;
      for (let position = 0; position < group.rows.length; position++) {
        const prediction = predictions[group.rows[position]!]!;
        const record = records?.[group.rows[position]!];
        const recordBytes = record ? utf8Bytes(JSON.stringify(record)) + 1 : 0;
        const cost = rowBytes(prediction) + recordBytes;
        let chunk = open.get(key);
        if (chunk && !fits(chunk, cost)) {
          close(key, chunk);
          chunk = undefined;
        }
        if (!chunk) {
          chunk = openChunk(request, group, envelope, record !== undefined);
          if (!fits(chunk, cost)) {
            // Alone and still too large with its record: send it without, and say so (never what it holds).
            console.error(
              JSON.stringify({ msg: "raw record too large to capture", tenantId, bytes: recordBytes }),
            );
            const single = openChunk(request, group, envelope, false);
            addRow(single, group, position, prediction, undefined, cost - recordBytes);
            finish(single);
            events.push(single.event);
            continue;
          }
          open.set(key, chunk);
          events.push(chunk.event);
        }
        addRow(chunk, group, position, prediction, record, cost);
      }
      // The next request's rows live in other columns: sketch this request's run now.
      const chunk = open.get(key);
      if (chunk) settleRun(chunk);
    }
  }
  for (const [key, chunk] of open) close(key, chunk);
  return events;
}

function rowBytes(prediction: Prediction): number {
  const { customerId } = prediction;
  return (
    PREDICTION_BYTES + (customerId === undefined ? 0 : CUSTOMER_ID_KEY_BYTES + jsonStringBytes(customerId))
  );
}

function fits(chunk: OpenChunk, cost: number): boolean {
  const n = chunk.event.predictions.length;
  if (n >= PREDICTIONS_PER_MESSAGE) return false;
  return chunk.bytes + cost + (chunk.sketcher?.sizeBound(n + 1) ?? 0) <= MESSAGE_BUDGET_BYTES;
}

function openChunk(
  request: ScoredRequest,
  group: ScoredGroup,
  envelope: number,
  withRecords: boolean,
): OpenChunk {
  return {
    event: {
      type: "prediction",
      eventId: newId("event"),
      tenantId: request.tenantId,
      at: request.at,
      versionId: group.versionId,
      version: group.version,
      variant: group.variant,
      predictions: [],
      ...(withRecords ? { records: [] } : {}),
    },
    sketcher: group.sketcher,
    sketch: group.sketcher?.accumulator(),
    bytes: envelope,
    run: undefined,
  };
}

function addRow(
  chunk: OpenChunk,
  group: ScoredGroup,
  position: number,
  prediction: Prediction,
  record: Record<string, unknown> | undefined,
  cost: number,
): void {
  const { event } = chunk;
  if (chunk.run && chunk.run.group !== group) settleRun(chunk);
  chunk.run ??= { group, start: position, from: event.predictions.length };
  event.predictions.push({
    predictionId: prediction.predictionId,
    ...(prediction.customerId !== undefined ? { customerId: prediction.customerId } : {}),
    probability: prediction.probability,
    contact: prediction.contact,
  });
  if (record && event.records) event.records.push(record);
  chunk.bytes += cost;
}

/** Adds the current run of rows (consecutive positions of one group) to the chunk's sketch. */
function settleRun(chunk: OpenChunk): void {
  const { run, sketch, event } = chunk;
  chunk.run = undefined;
  if (!run || !sketch) return;
  sketch.add(run.group.columns, run.start, event.predictions.slice(run.from));
}

/** The chunk is full or the batch is done: its sketch goes on the event. */
function finish(chunk: OpenChunk): void {
  settleRun(chunk);
  if (chunk.sketch) chunk.event.sketch = chunk.sketch.toSketch();
}
