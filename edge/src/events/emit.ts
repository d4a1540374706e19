import type { EdgeEvent, RejectedEvent } from "#shared/events.ts";
import { newId } from "#shared/ids.ts";
import type { EdgeTenantSettings } from "#shared/kv.ts";
import type { Prediction } from "#shared/predict.ts";
import type { WaitUntil } from "../kv-cache.ts";
import { cachedTenantEdgeSettings, tenantEdgeSettings } from "../monitoring/settings.ts";
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

/**
 * Hands a scored request's prediction events to the isolate's buffer; the sketches are built when the batch
 * is sent, for all the requests it holds. Called before the response: with the tenant's edge settings in the
 * isolate it is a push onto the batch, and only the request that opens (or sends) a batch keeps a waitUntil
 * for it. Raw records are attached only when the tenant's settings enable capture; the settings' first read
 * in an isolate waits in waitUntil.
 */
export function emitScored(
  kv: KVNamespace,
  queue: Queue<EdgeEvent>,
  scored: {
    tenantId: string;
    records: readonly Record<string, unknown>[];
    predictions: readonly Prediction[];
    groups: readonly ScoredGroup[];
  },
  waitUntil: WaitUntil,
): void {
  const at = new Date().toISOString();
  const { tenantId, records, predictions, groups } = scored;
  const add = ({ captureRecords }: EdgeTenantSettings) =>
    buffer.addScored(
      queue,
      { tenantId, at, predictions, groups, records: captureRecords ? records : undefined },
      waitUntil,
    );
  const settings = cachedTenantEdgeSettings(kv, tenantId, waitUntil);
  if (settings) add(settings);
  else waitUntil(tenantEdgeSettings(kv, tenantId, waitUntil).then(add));
}

/** Hands events to the isolate's batching buffer; the promise settles when their batch has been sent. */
export function emitQuietly(queue: Queue<EdgeEvent>, events: EdgeEvent[]): Promise<void> {
  return buffer.add(queue, events);
}
