import type { EdgeEvent, PredictionEvent, RejectedEvent } from "../../../shared/src/events.ts";
import { newId } from "../../../shared/src/ids.ts";
import type { Prediction } from "../../../shared/src/predict.ts";
import type { WaitUntil } from "../kv-cache.ts";
import { jsonStringBytes, utf8Bytes } from "../monitoring/json-size.ts";
import { tenantEdgeSettings } from "../monitoring/settings.ts";
import type { EncodedColumns, Sketcher } from "../monitoring/sketch.ts";
import { EventBuffer } from "./buffer.ts";

/** At most this many predictions per message, however small. */
const PREDICTIONS_PER_MESSAGE = 400;
/** Queue messages are limited to 128 KB; each event is cut to stay below this estimate of its JSON size. */
export const MESSAGE_BUDGET_BYTES = 96_000;
/** The event's own fields (type, ids, time, version, variant) as JSON, generously; the tenant id is added. */
const EVENT_ENVELOPE_BYTES = 320;
/** One prediction as JSON without its customer id: ids, a probability with 17 digits, the decision. */
const PREDICTION_BYTES = 112;
/** `,"customerId":` around the customer id's own JSON string. */
const CUSTOMER_ID_KEY_BYTES = 15;
/** A rejected event names at most this many fields; the rest are counted together under OTHER_FIELDS. */
const MAX_REJECTED_FIELDS = 100;
const MAX_FIELD_NAME_LENGTH = 128;
export const OTHER_FIELDS = "(other fields)";

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

/**
 * Builds the prediction events of one response: per variant, chunks of at most 400 predictions and of an
 * estimated JSON size within MESSAGE_BUDGET_BYTES. Each chunk carries the sketch of exactly its own rows, so
 * sketches summed over chunks equal the request's; with `records` (capture enabled) each chunk carries its
 * raw records, aligned with its predictions. A record too large to fit a message by itself is scored and
 * sketched but not captured: it travels alone, without `records`.
 */
export function predictionEvents(
  tenantId: string,
  predictions: readonly Prediction[],
  groups: readonly ScoredGroup[],
  records: readonly Record<string, unknown>[] | undefined,
): PredictionEvent[] {
  const at = new Date().toISOString();
  const events: PredictionEvent[] = [];
  for (const group of groups) {
    const { rows, sketcher } = group;
    const envelope = EVENT_ENVELOPE_BYTES + jsonStringBytes(tenantId);
    const sketchBound = (n: number) => sketcher?.sizeBound(n) ?? 0;
    const rowCost = (position: number) => {
      const customerId = predictions[rows[position]!]!.customerId;
      return (
        PREDICTION_BYTES +
        (customerId === undefined ? 0 : CUSTOMER_ID_KEY_BYTES + jsonStringBytes(customerId))
      );
    };
    let start = 0;
    while (start < rows.length) {
      let end = start;
      let bytes = envelope;
      let withRecords = records !== undefined;
      while (end < rows.length && end - start < PREDICTIONS_PER_MESSAGE) {
        const recordBytes = records ? utf8Bytes(JSON.stringify(records[rows[end]!])) + 1 : 0;
        const cost = rowCost(end) + recordBytes;
        if (bytes + cost + sketchBound(end - start + 1) <= MESSAGE_BUDGET_BYTES) {
          bytes += cost;
          end++;
        } else if (end === start) {
          // Alone and still too large with its record: send it without, and say so (never what it holds).
          console.error(
            JSON.stringify({ msg: "raw record too large to capture", tenantId, bytes: recordBytes }),
          );
          withRecords = false;
          end++;
          break;
        } else break;
      }
      events.push(
        chunkEvent(tenantId, at, group, predictions, start, end, withRecords ? records : undefined),
      );
      start = end;
    }
  }
  return events;
}

function chunkEvent(
  tenantId: string,
  at: string,
  group: ScoredGroup,
  predictions: readonly Prediction[],
  start: number,
  end: number,
  records: readonly Record<string, unknown>[] | undefined,
): PredictionEvent {
  const rows = group.rows.slice(start, end);
  const scored = rows.map((row) => {
    const p = predictions[row]!;
    return {
      predictionId: p.predictionId,
      ...(p.customerId !== undefined ? { customerId: p.customerId } : {}),
      probability: p.probability,
      contact: p.contact,
    };
  });
  return {
    type: "prediction",
    eventId: newId("event"),
    tenantId,
    at,
    versionId: group.versionId,
    version: group.version,
    variant: group.variant,
    predictions: scored,
    ...(group.sketcher ? { sketch: group.sketcher.sketch(group.columns, start, scored) } : {}),
    ...(records ? { records: rows.map((row) => records[row]!) } : {}),
  };
}

/**
 * The event for a request refused because its records fail the live model's schema: how many records and
 * how many errors per field. Field names come from the client, so at most MAX_REJECTED_FIELDS are named
 * (the most frequent) and long ones are cut.
 */
export function rejectedEvent(
  tenantId: string,
  versionId: string,
  records: number,
  fieldErrors: ReadonlyMap<string, number>,
): RejectedEvent {
  const byName = new Map<string, number>();
  for (const [field, n] of fieldErrors) {
    const name = field.length > MAX_FIELD_NAME_LENGTH ? field.slice(0, MAX_FIELD_NAME_LENGTH) : field;
    byName.set(name, (byName.get(name) ?? 0) + n);
  }
  const ranked = [...byName].sort((a, b) => b[1] - a[1]);
  const fields: Record<string, number> = {};
  for (const [name, n] of ranked.slice(0, MAX_REJECTED_FIELDS)) addOwn(fields, name, n);
  const rest = ranked.slice(MAX_REJECTED_FIELDS).reduce((sum, [, n]) => sum + n, 0);
  if (rest > 0) addOwn(fields, OTHER_FIELDS, rest);
  return {
    type: "rejected",
    eventId: newId("event"),
    tenantId,
    at: new Date().toISOString(),
    versionId,
    records,
    fields,
  };
}

/** Adds to an own property, even for names such as "__proto__" that plain assignment would not create. */
function addOwn(into: Record<string, number>, key: string, n: number): void {
  const value = (Object.hasOwn(into, key) ? into[key]! : 0) + n;
  Object.defineProperty(into, key, { value, writable: true, enumerable: true, configurable: true });
}

const buffer = new EventBuffer();

/** Resolves on a later turn of the event loop, once the handler's response has gone to the runtime. */
const afterResponse = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * The prediction events of a scored request, built and sent after its response (call it inside
 * waitUntil): sketches and the edge-settings read cost the client nothing. Raw records are attached only
 * when the tenant's settings enable capture.
 */
export async function emitScored(
  kv: KVNamespace,
  queue: Queue<EdgeEvent>,
  scored: {
    tenantId: string;
    records: readonly Record<string, unknown>[];
    predictions: readonly Prediction[];
    groups: readonly ScoredGroup[];
  },
  waitUntil: WaitUntil,
): Promise<void> {
  await afterResponse();
  const { tenantId, records, predictions, groups } = scored;
  let events: PredictionEvent[];
  try {
    const { captureRecords } = await tenantEdgeSettings(kv, tenantId, waitUntil);
    events = predictionEvents(tenantId, predictions, groups, captureRecords ? records : undefined);
  } catch (err) {
    console.error(
      JSON.stringify({
        msg: "prediction events not built",
        tenantId,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    return;
  }
  await buffer.add(queue, events);
}

/** Hands events to the isolate's batching buffer; the promise settles when their batch has been sent. */
export function emitQuietly(queue: Queue<EdgeEvent>, events: EdgeEvent[]): Promise<void> {
  return buffer.add(queue, events);
}
