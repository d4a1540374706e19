import { describe, expect, it } from "vitest";
import type { EdgeEvent } from "#shared/events.ts";
import { EventBuffer } from "../../edge/src/events/buffer.ts";

const bytesOf = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

/** A rejected event padded to about `bytes` of JSON by the names of its fields. */
function eventOf(bytes: number, i: number): EdgeEvent {
  return {
    type: "rejected",
    eventId: `evt_${i}`,
    tenantId: "tnt_buffer",
    at: new Date().toISOString(),
    versionId: "mv_x",
    records: 1,
    fields: { [`f_${"x".repeat(Math.max(0, bytes - 160))}`]: 1 },
  };
}

/** Records every sendBatch and refuses what the real queue would: over 100 messages or 256 KB, a message over 128 KB. */
function strictQueue() {
  const calls: EdgeEvent[][] = [];
  const queue = {
    sendBatch: async (messages: Iterable<{ body: EdgeEvent }>) => {
      const bodies = [...messages].map((m) => m.body);
      if (bodies.length > 100) throw new Error("too many messages");
      if (bodies.some((b) => bytesOf(b) > 128_000)) throw new Error("message too large");
      if (bodies.reduce((sum, b) => sum + bytesOf(b), 0) > 256_000) throw new Error("batch too large");
      calls.push(bodies);
    },
  } as unknown as Queue<EdgeEvent>;
  return { queue, calls };
}

describe("event buffer", () => {
  it("cuts sends to the queue's batch limits, so large events are not lost together", async () => {
    const { queue, calls } = strictQueue();
    const events = Array.from({ length: 12 }, (_, i) => eventOf(60_000, i));
    await new EventBuffer().add(queue, events);
    expect(calls.flat().map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
    expect(calls.length).toBeGreaterThanOrEqual(4);
  });

  it("drops only a message over the queue's limit, sending the rest", async () => {
    const { queue, calls } = strictQueue();
    const events = [eventOf(1_000, 1), eventOf(140_000, 2), eventOf(1_000, 3)];
    await new EventBuffer().add(queue, events);
    expect(calls.flat().map((e) => e.eventId)).toEqual(["evt_1", "evt_3"]);
  });

  it("sends pending events to the queue they were added for", async () => {
    const first = strictQueue();
    const second = strictQueue();
    const buffer = new EventBuffer();
    const one = buffer.add(first.queue, [eventOf(500, 1)]);
    const two = buffer.add(second.queue, [eventOf(500, 2)]);
    await Promise.all([one, two]);
    expect(first.calls.flat().map((e) => e.eventId)).toEqual(["evt_1"]);
    expect(second.calls.flat().map((e) => e.eventId)).toEqual(["evt_2"]);
  });
});
