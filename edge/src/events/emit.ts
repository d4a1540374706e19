import type { EdgeEvent, RejectedEvent } from "../../../shared/src/events.ts";
import { newId } from "../../../shared/src/ids.ts";
import type { Prediction } from "../../../shared/src/predict.ts";
import type { WaitUntil } from "../kv-cache.ts";
import { tenantEdgeSettings } from "../monitoring/settings.ts";
import { EventBuffer } from "./buffer.ts";
import type { ScoredGroup } from "./prediction-events.ts";

/** A rejected event names at most this many fields; the rest are counted together under OTHER_FIELDS. */
const MAX_REJECTED_FIELDS = 100;
const MAX_FIELD_NAME_LENGTH = 128;
export const OTHER_FIELDS = "(other fields)";

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
 * Queues a scored request's prediction events after its response (call it inside waitUntil): the
 * edge-settings read, the events and their sketches cost the client nothing, and the sketches are built
 * when the isolate's batch is sent, for all the requests it holds. Raw records are attached only when the
 * tenant's settings enable capture.
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
  const at = new Date().toISOString();
  await afterResponse();
  const { tenantId, records, predictions, groups } = scored;
  const { captureRecords } = await tenantEdgeSettings(kv, tenantId, waitUntil);
  await buffer.addScored(queue, {
    tenantId,
    at,
    predictions,
    groups,
    records: captureRecords ? records : undefined,
  });
}

/** Hands events to the isolate's batching buffer; the promise settles when their batch has been sent. */
export function emitQuietly(queue: Queue<EdgeEvent>, events: EdgeEvent[]): Promise<void> {
  return buffer.add(queue, events);
}
