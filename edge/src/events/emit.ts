import type { EdgeEvent, PredictionEvent } from "../../../shared/src/events.ts";
import { newId } from "../../../shared/src/ids.ts";
import type { PredictResponse } from "../../../shared/src/predict.ts";
import { EventBuffer } from "./buffer.ts";

/** Keeps each queue message well under the 128 KB limit. */
const PREDICTIONS_PER_MESSAGE = 400;

/** Builds the prediction events for one response, one per variant and chunk. */
export function predictionEvents(
  tenantId: string,
  response: PredictResponse,
  versionIdOf: (variant: "production" | "canary") => string,
): PredictionEvent[] {
  const at = new Date().toISOString();
  const byVariant = new Map<string, PredictionEvent>();
  const events: PredictionEvent[] = [];
  for (const p of response.predictions) {
    const key = `${p.variant}:${p.version}`;
    let event = byVariant.get(key);
    if (!event || event.predictions.length >= PREDICTIONS_PER_MESSAGE) {
      event = {
        type: "prediction",
        eventId: newId("event"),
        tenantId,
        at,
        versionId: versionIdOf(p.variant),
        version: p.version,
        variant: p.variant,
        predictions: [],
      };
      byVariant.set(key, event);
      events.push(event);
    }
    event.predictions.push({
      predictionId: p.predictionId,
      ...(p.customerId !== undefined ? { customerId: p.customerId } : {}),
      probability: p.probability,
      contact: p.contact,
    });
  }
  return events;
}

const buffer = new EventBuffer();

/** Hands events to the isolate's batching buffer; the promise settles when their batch has been sent. */
export function emitQuietly(queue: Queue<EdgeEvent>, events: EdgeEvent[]): Promise<void> {
  return buffer.add(queue, events);
}
