import { describe, expect, it } from "vitest";
import type { EdgeEvent } from "#shared/events.ts";
import { EventBuffer } from "../../edge/src/events/buffer.ts";

const event = (i: number): EdgeEvent => ({
  type: "rejected",
  eventId: `evt_${i}`,
  tenantId: "tnt_buffer",
  at: new Date().toISOString(),
  versionId: "mv_x",
  records: 1,
  fields: { tenure: 1 },
});

function recordingQueue() {
  const sends: string[][] = [];
  const queue = {
    sendBatch: async (messages: Iterable<{ body: EdgeEvent }>) => {
      sends.push([...messages].map((m) => m.body.eventId));
    },
  } as unknown as Queue<EdgeEvent>;
  return { queue, sends };
}

describe("event buffer: who keeps a batch alive", () => {
  it("holds each batch with one waitUntil, that of the call that opens it; later calls only join", async () => {
    const { queue, sends } = recordingQueue();
    const buffer = new EventBuffer();
    const held: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void held.push(p);
    const first = buffer.add(queue, [event(1)], waitUntil);
    const second = buffer.add(queue, [event(2)], waitUntil);
    expect(second).toBe(first);
    expect(held).toEqual([first]);
    await Promise.all(held);
    expect(sends).toEqual([["evt_1", "evt_2"]]);
  });

  it("makes a call that sends the batch early hold that send too, since its I/O runs in that call's request", async () => {
    const { queue, sends } = recordingQueue();
    const buffer = new EventBuffer();
    const held: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void held.push(p);
    buffer.add(queue, [event(0)], waitUntil);
    buffer.add(
      queue,
      Array.from({ length: 99 }, (_, i) => event(i + 1)),
      waitUntil,
    );
    expect(held).toHaveLength(2); // the opener's flush, and the full batch's send
    await Promise.all(held);
    expect(sends.flat()).toHaveLength(100);
  });
});
