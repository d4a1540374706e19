import type { EdgeEvent } from "../../../shared/src/events.ts";

/** Queues take at most 100 messages per sendBatch. */
const MAX_BATCH = 100;
/** How long events wait for company before they are sent. */
const LINGER_MS = 50;

/**
 * Collects events from many requests in the isolate and sends them in batches: one sendBatch per ~50 ms
 * under load instead of one per request. Each request's waitUntil holds the promise of the flush that
 * carries its events, so the isolate stays alive until they are sent. A failed send is logged, never
 * surfaced to a client that already has its answer.
 */
export class EventBuffer {
  #pending: EdgeEvent[] = [];
  #flush: Promise<void> | undefined;
  #resolveFlush: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #queue: Queue<EdgeEvent> | undefined;

  add(queue: Queue<EdgeEvent>, events: EdgeEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    // Pending events belong to the queue they were added for: a different binding sends them first.
    if (this.#queue !== queue && this.#pending.length > 0) void this.#send();
    this.#queue = queue;
    this.#pending.push(...events);
    if (!this.#flush) {
      this.#flush = new Promise<void>((resolve) => {
        this.#resolveFlush = resolve;
      });
      this.#timer = setTimeout(() => void this.#send(), LINGER_MS);
    }
    const flush = this.#flush;
    if (this.#pending.length >= MAX_BATCH) void this.#send();
    return flush;
  }

  async #send(): Promise<void> {
    clearTimeout(this.#timer);
    const batch = this.#pending;
    const resolve = this.#resolveFlush;
    const queue = this.#queue;
    this.#pending = [];
    this.#flush = undefined;
    this.#resolveFlush = undefined;
    try {
      for (let i = 0; i < batch.length; i += MAX_BATCH) {
        await queue!.sendBatch(
          batch.slice(i, i + MAX_BATCH).map((body) => ({ body, contentType: "json" as const })),
        );
      }
    } catch (err) {
      console.error(
        JSON.stringify({
          msg: "event send failed",
          events: batch.length,
          error: err instanceof Error ? err.message : String(err),
        }),
      );
    } finally {
      resolve?.();
    }
  }
}
