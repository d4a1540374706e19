import type { EdgeEvent } from "#shared/events.ts";
import type { WaitUntil } from "../kv-cache.ts";
import { utf8Bytes } from "../monitoring/json-size.ts";
import { predictionEvents, type ScoredRequest } from "./prediction-events.ts";

/** Queues take at most 100 messages per sendBatch, … */
const MAX_BATCH = 100;
/** … of at most 256 KB together (kept below it for the messages' own overhead), … */
const MAX_BATCH_BYTES = 200_000;
/** … each at most 128 KB. */
const MAX_MESSAGE_BYTES = 128_000;
/** How long events wait for company before they are sent. */
const LINGER_MS = 50;
/** Scored predictions held before a batch is sent early. */
const MAX_PENDING_PREDICTIONS = 4_000;

/**
 * Collects events from many requests in the isolate and sends them in batches: one sendBatch per ~50 ms
 * under load instead of one per request. Scored requests are kept as scored and become prediction events
 * (with their sketches) only when the batch is sent, so one tenant's requests share messages. Each
 * batch is held by one waitUntil: that of the request that opened it (its timer runs there), plus that of
 * any request that sends it early (the send's I/O runs in that request). Other requests add to it and are
 * done at their response, instead of each keeping its request alive for the batch's ~50 ms. A failed send is
 * logged, never surfaced to a client that already has its answer.
 */
export class EventBuffer {
  #pending: EdgeEvent[] = [];
  #scored: ScoredRequest[] = [];
  #scoredPredictions = 0;
  #flush: Promise<void> | undefined;
  #resolveFlush: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #queue: Queue<EdgeEvent> | undefined;

  /**
   * Adds events; the promise settles when their batch has been sent. With `waitUntil` the buffer holds the
   * batch itself when this call opens or sends it; without, the caller must hold the promise.
   */
  add(queue: Queue<EdgeEvent>, events: EdgeEvent[], waitUntil?: WaitUntil): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const flush = this.#join(queue, waitUntil);
    this.#pending.push(...events);
    if (this.#pending.length >= MAX_BATCH) this.#sendNow(waitUntil);
    return flush;
  }

  /** A scored request, whose prediction events are built when its batch is sent. */
  addScored(queue: Queue<EdgeEvent>, request: ScoredRequest, waitUntil?: WaitUntil): Promise<void> {
    if (request.predictions.length === 0) return Promise.resolve();
    const flush = this.#join(queue, waitUntil);
    this.#scored.push(request);
    this.#scoredPredictions += request.predictions.length;
    if (this.#scoredPredictions >= MAX_PENDING_PREDICTIONS) this.#sendNow(waitUntil);
    return flush;
  }

  /** The flush the next items will go out with; starts its timer if none is pending. */
  #join(queue: Queue<EdgeEvent>, waitUntil: WaitUntil | undefined): Promise<void> {
    // Pending items belong to the queue they were added for: a different binding sends them first.
    if (this.#queue !== queue && (this.#pending.length > 0 || this.#scored.length > 0))
      this.#sendNow(waitUntil);
    this.#queue = queue;
    if (!this.#flush) {
      this.#flush = new Promise<void>((resolve) => {
        this.#resolveFlush = resolve;
      });
      this.#timer = setTimeout(() => void this.#send(), LINGER_MS);
      waitUntil?.(this.#flush);
    }
    return this.#flush;
  }

  /** Sends the pending batch from the calling request, which then holds the send until it is done. */
  #sendNow(waitUntil: WaitUntil | undefined): void {
    const sent = this.#send();
    waitUntil?.(sent);
  }

  async #send(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const batch = this.#pending;
    const scored = this.#scored;
    const resolve = this.#resolveFlush;
    const queue = this.#queue;
    this.#pending = [];
    this.#scored = [];
    this.#scoredPredictions = 0;
    this.#flush = undefined;
    this.#resolveFlush = undefined;
    try {
      if (scored.length > 0) batch.push(...buildQuietly(scored));
      for (const part of splitForQueue(batch)) {
        try {
          await queue!.sendBatch(part.map((body) => ({ body, contentType: "json" as const })));
        } catch (err) {
          console.error(
            JSON.stringify({
              msg: "event send failed",
              events: part.length,
              error: err instanceof Error ? err.message : String(err),
            }),
          );
        }
      }
    } finally {
      resolve?.();
    }
  }
}

/** Prediction events of the scored requests; a failure to build them is logged, and loses only them. */
function buildQuietly(scored: readonly ScoredRequest[]): EdgeEvent[] {
  try {
    return predictionEvents(scored);
  } catch (err) {
    console.error(
      JSON.stringify({
        msg: "prediction events not built",
        requests: scored.length,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    return [];
  }
}

/**
 * Cuts events into sendBatch calls within the queue's limits: 100 messages and 256 KB per call, 128 KB per
 * message. A message over its limit is dropped and logged (by type and size) rather than failing the others.
 */
function splitForQueue(events: readonly EdgeEvent[]): EdgeEvent[][] {
  const parts: EdgeEvent[][] = [];
  let part: EdgeEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = utf8Bytes(JSON.stringify(event));
    if (size > MAX_MESSAGE_BYTES) {
      console.error(JSON.stringify({ msg: "event too large for the queue", type: event.type, bytes: size }));
      continue;
    }
    if (part.length === MAX_BATCH || bytes + size > MAX_BATCH_BYTES) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(event);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
