import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { EdgeEvent } from "#shared/events.ts";
import { kvKeys } from "#shared/kv.ts";
import { createEdgeApp } from "../../edge/src/app.ts";
import type { Bindings } from "../../edge/src/env.ts";
import { EventBuffer } from "../../edge/src/events/buffer.ts";
import { customer, EDGE, errorOf, newTenant } from "./harness.ts";

/** The real bindings, with the events queue replaced by one that refuses every send. */
function withFailingQueue(): Bindings {
  const refuse = async () => {
    throw new Error("queue unavailable");
  };
  return {
    ...(env as unknown as Bindings),
    EVENTS: { send: refuse, sendBatch: refuse } as unknown as Queue<EdgeEvent>,
  };
}

async function call(bindings: Bindings, path: string, token: string, body: unknown) {
  const app = createEdgeApp();
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`${EDGE}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    bindings,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("faults", () => {
  it("a failing queue never costs a prediction its answer", async () => {
    const tenant = await newTenant();
    const res = await call(withFailingQueue(), "/v1/predict", await tenant.token(), {
      records: [customer()],
    });
    expect(res.status).toBe(200);
  });

  it("feedback the queue refuses is a 503 the client can retry, not a silent loss", async () => {
    const tenant = await newTenant();
    const res = await call(withFailingQueue(), "/v1/feedback", await tenant.token(), {
      feedback: [{ customerId: "c-1", churned: true }],
    });
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("UNAVAILABLE");
  });

  it("the event buffer reports a failed batch and lets the next one through", async () => {
    let calls = 0;
    const sent: number[] = [];
    const flaky = {
      sendBatch: async (batch: unknown[]) => {
        calls++;
        if (calls === 1) throw new Error("queue unavailable");
        sent.push(batch.length);
      },
    } as unknown as Queue<EdgeEvent>;
    const buffer = new EventBuffer();
    const event = (i: number): EdgeEvent => ({
      type: "feedback",
      eventId: `evt_${i}`,
      tenantId: "tnt_x",
      at: new Date().toISOString(),
      feedback: [],
    });
    await buffer.add(flaky, [event(1), event(2)]);
    await buffer.add(flaky, [event(3)]);
    expect(calls).toBe(2);
    expect(sent).toEqual([1]);
  });

  it("keeps verifying tokens with the cached keys when the JWKS in KV becomes unreadable", async () => {
    const tenant = await newTenant();
    const token = await tenant.token();
    expect((await tenant.predict({ records: [customer()] }, { token })).status).toBe(200);
    const saved = await env.EDGE_KV.get(kvKeys.jwks(), "text");
    await env.EDGE_KV.put(kvKeys.jwks(), "{ not json");
    try {
      // A fresh token (not in the verified-token cache) must still verify against the cached key set.
      const res = await tenant.predict({ records: [customer()] }, { token: await tenant.token() });
      expect(res.status).toBe(200);
    } finally {
      await env.EDGE_KV.put(kvKeys.jwks(), saved!);
    }
  });
});
