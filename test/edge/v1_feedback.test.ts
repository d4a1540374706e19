import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { EDGE, errorOf, newTenant } from "./harness.ts";
import { expectTokenAttacksRefused } from "./token-attacks.ts";

const send = (token: string | undefined, body: unknown, contentType = "application/json") =>
  SELF.fetch(`${EDGE}/v1/feedback`, {
    method: "POST",
    headers: { "content-type": contentType, ...(token ? { authorization: token } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("POST /v1/feedback", () => {
  it("accepts outcomes once they are queued", async () => {
    const tenant = await newTenant();
    const res = await send(`Bearer ${await tenant.token()}`, {
      feedback: [
        { customerId: "c-1", churned: true, observedAt: "2026-11-01T00:00:00Z" },
        { predictionId: "prd_abc", churned: false },
      ],
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; eventId: string };
    expect(body.accepted).toBe(2);
    expect(body.eventId).toMatch(/^evt_/);
  });

  it.each([
    ["no items", { feedback: [] }],
    ["neither customerId nor predictionId", { feedback: [{ churned: true }] }],
    ["churned not a boolean", { feedback: [{ customerId: "c", churned: "yes" }] }],
    ["bad timestamp", { feedback: [{ customerId: "c", churned: true, observedAt: "yesterday" }] }],
  ])("400 for %s", async (_label, body) => {
    const tenant = await newTenant();
    const res = await send(`Bearer ${await tenant.token()}`, body);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("INVALID_REQUEST");
  });

  it("415 for a non-JSON body", async () => {
    const tenant = await newTenant();
    expect((await send(`Bearer ${await tenant.token()}`, "a=b", "text/plain")).status).toBe(415);
  });

  it("needs the feedback:write scope", async () => {
    const tenant = await newTenant();
    const res = await send(`Bearer ${await tenant.token({ scope: "predict" })}`, {
      feedback: [{ customerId: "c", churned: true }],
    });
    expect(res.status).toBe(403);
  });

  it("refuses forged tokens", async () => {
    const tenant = await newTenant();
    await expectTokenAttacksRefused(
      (auth) => send(auth, { feedback: [{ customerId: "c", churned: true }] }),
      tenant,
    );
  });
});
