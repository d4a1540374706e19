import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChurnError } from "#shared/errors.ts";
import { AuthThrottle } from "../../control-plane/src/modules/identity/auth-throttle.ts";
import {
  type ControlPlaneHarness,
  type ErrorBody,
  startControlPlane,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane();
});
afterAll(() => h?.close());

const exchange = (clientId: string, secret: string) =>
  h.request("/v1/oauth/token", {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString("base64")}`,
    },
    body: "grant_type=client_credentials",
  });

describe("AuthThrottle", () => {
  it("refuses an id after maxFailures in the window, until the window ends", () => {
    let now = 1_000_000;
    const throttle = new AuthThrottle({ maxFailures: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) {
      throttle.check("client_a");
      throttle.recordFailure("client_a");
    }
    now += 20_000;
    let refused: unknown;
    try {
      throttle.check("client_a");
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ChurnError);
    expect((refused as ChurnError).status).toBe(429);
    expect((refused as ChurnError).headers?.["retry-after"]).toBe("40");
    throttle.check("client_b"); // other ids are unaffected
    now += 40_000;
    throttle.check("client_a");
  });

  it("a success clears the count", () => {
    const throttle = new AuthThrottle({ maxFailures: 2 });
    throttle.recordFailure("c");
    throttle.recordSuccess("c");
    throttle.recordFailure("c");
    throttle.check("c");
  });

  it("caps verifications in flight", async () => {
    const throttle = new AuthThrottle({ maxConcurrentHashes: 2 });
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const running = [throttle.hashing(() => gate), throttle.hashing(() => gate)];
    await expect(throttle.hashing(async () => 1)).rejects.toMatchObject({ status: 429 });
    release();
    await Promise.all(running);
    await expect(throttle.hashing(async () => 1)).resolves.toBe(1);
  });
});

describe("POST /v1/oauth/token under a credential-guessing attack", () => {
  it("answers 429 with Retry-After after 10 wrong secrets, while a verified client keeps getting tokens", async () => {
    const tenant = await h.newTenant("Throttle");
    const victim = await tenant.addApiClient(["predict"]);
    // The client exchanged its secret before the attack: it is in the verified-secret cache.
    expect((await exchange(victim.clientId, victim.clientSecret)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await exchange(victim.clientId, `wrong-${i}`)).status).toBe(401);
    const refused = await exchange(victim.clientId, "wrong-again");
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await refused.json()) as ErrorBody;
    expect(body.error.code).toBe("RATE_LIMITED");
    expect(body.error.requestId).toBeTruthy();
    expect((await exchange(victim.clientId, victim.clientSecret)).status).toBe(200);
  });

  it("refuses a never-verified id's correct secret too while it is locked, and no attempt is a 5xx", async () => {
    const tenant = await h.newTenant("Throttle cold");
    const client = await tenant.addApiClient(["predict"]);
    // A burst beyond the hashing cap is partly refused at once (429), never queued into a 5xx.
    const burst = await Promise.all(
      Array.from({ length: 24 }, (_, i) => exchange(client.clientId, `guess-${i}`).then((r) => r.status)),
    );
    expect(burst.every((s) => s === 401 || s === 429)).toBe(true);
    expect(burst).toContain(429);
    let status = 401;
    for (let i = 0; i < 10 && status === 401; i++)
      status = (await exchange(client.clientId, `more-${i}`)).status;
    expect(status).toBe(429);
    expect((await exchange(client.clientId, client.clientSecret)).status).toBe(429);
  });
});
