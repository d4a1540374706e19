import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChurnError } from "#shared/errors.ts";
import { AuthThrottle, pruneAuthFailures } from "../../control-plane/src/modules/identity/auth-throttle.ts";
import {
  type ControlPlaneHarness,
  type ErrorBody,
  startControlPlane,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
beforeAll(async () => {
  // One proxy in front: the client's address is the last X-Forwarded-For entry (tests have no peer).
  h = await startControlPlane({ TRUST_PROXY_HOPS: "1" });
});
afterAll(() => h?.close());

const exchange = (clientId: string, secret: string, from: string) =>
  h.request("/v1/oauth/token", {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString("base64")}`,
      "x-forwarded-for": from,
    },
    body: "grant_type=client_credentials",
  });

async function refusal(run: () => Promise<void>): Promise<ChurnError | undefined> {
  try {
    await run();
    return undefined;
  } catch (err) {
    return err as ChurnError;
  }
}

describe("AuthThrottle (counts in the database)", () => {
  it("refuses a source after maxFailures on one id until the window ends; other sources are unaffected", async () => {
    let now = 1_000_000;
    const throttle = new AuthThrottle({ maxFailures: 3, windowMs: 60_000, now: () => now });
    const id = `client_${crypto.randomUUID()}`;
    for (let i = 0; i < 3; i++) {
      await throttle.check(h.deps.db, id, "198.51.100.1");
      await throttle.recordFailure(h.deps.db, id, "198.51.100.1");
    }
    now += 20_000;
    const refused = await refusal(() => throttle.check(h.deps.db, id, "198.51.100.1"));
    expect(refused).toBeInstanceOf(ChurnError);
    expect(refused?.status).toBe(429);
    expect(refused?.headers?.["retry-after"]).toBe("40");
    await throttle.check(h.deps.db, id, "198.51.100.2"); // the real client elsewhere
    await throttle.check(h.deps.db, `client_${crypto.randomUUID()}`, "198.51.100.1"); // another id
    now += 40_000;
    await throttle.check(h.deps.db, id, "198.51.100.1");
  });

  it("a source spraying many ids is refused on every id once over the source-wide limit", async () => {
    const throttle = new AuthThrottle({ maxFailures: 3, maxSourceFailures: 5 });
    const source = `spray-${crypto.randomUUID()}`;
    for (let i = 0; i < 5; i++) await throttle.recordFailure(h.deps.db, `client_${i}`, source);
    const refused = await refusal(() => throttle.check(h.deps.db, "client_never_tried", source));
    expect(refused?.status).toBe(429);
  });

  it("a success clears that source's count for the id", async () => {
    const throttle = new AuthThrottle({ maxFailures: 2 });
    const id = `client_${crypto.randomUUID()}`;
    await throttle.recordFailure(h.deps.db, id, "s");
    await throttle.recordSuccess(h.deps.db, id, "s");
    await throttle.recordFailure(h.deps.db, id, "s");
    await throttle.check(h.deps.db, id, "s");
  });

  it("the scheduler's prune forgets windows that have ended and keeps open ones", async () => {
    const id = `client_${crypto.randomUUID()}`;
    const throttle = new AuthThrottle({ now: () => 5_000 });
    await throttle.recordFailure(h.deps.db, id, "old");
    await new AuthThrottle().recordFailure(h.deps.db, id, "fresh");
    await pruneAuthFailures(h.deps.db, Date.now());
    const left = await h.deps.db.all<{ source: string }>(
      sql`select source from auth_failures where client_id = ${id} order by source`,
    );
    expect(left.map((r) => r.source)).toEqual(["fresh"]);
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
  it("locks the guessing address out (429, Retry-After) while the real client, never verified before, gets its token", async () => {
    const tenant = await h.newTenant("Throttle");
    const victim = await tenant.addApiClient(["predict"]);
    for (let i = 0; i < 10; i++)
      expect((await exchange(victim.clientId, `wrong-${i}`, "203.0.113.66")).status).toBe(401);
    const refused = await exchange(victim.clientId, "wrong-again", "203.0.113.66");
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await refused.json()) as ErrorBody;
    expect(body.error.code).toBe("RATE_LIMITED");
    expect(body.error.requestId).toBeTruthy();
    // The victim's first exchange in this process (no verified-secret cache entry) comes from its own address.
    expect((await exchange(victim.clientId, victim.clientSecret, "198.51.100.20")).status).toBe(200);
    // The attacker's address stays refused: each address costs it ten tries per id.
    expect((await exchange(victim.clientId, "wrong-later", "203.0.113.66")).status).toBe(429);
  });

  it("a burst beyond the hashing cap is partly refused at once, never queued into a 5xx", async () => {
    const tenant = await h.newTenant("Throttle burst");
    const client = await tenant.addApiClient(["predict"]);
    const burst = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        exchange(client.clientId, `guess-${i}`, "203.0.113.77").then((r) => r.status),
      ),
    );
    expect(burst.every((s) => s === 401 || s === 429)).toBe(true);
    expect(burst).toContain(429);
    expect((await exchange(client.clientId, client.clientSecret, "198.51.100.21")).status).toBe(200);
  });
});

describe("the client address behind trusted proxies", () => {
  it("reads X-Forwarded-For only as far as the trusted hops reach, so a caller cannot pick its address", async () => {
    const tenant = await h.newTenant("Throttle proxy");
    const client = await tenant.addApiClient(["predict"]);
    const server = serve({ fetch: h.app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    const { port } = server.address() as AddressInfo;
    try {
      // One trusted hop: the peer (127.0.0.1) is the proxy and the header's last entry is the client.
      // An attacker prepending addresses of its own still lands on the entry the proxy wrote.
      const send = (secret: string, forwarded: string) =>
        fetch(`http://127.0.0.1:${port}/v1/oauth/token`, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            authorization: `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString("base64")}`,
            "x-forwarded-for": forwarded,
          },
          body: "grant_type=client_credentials",
        });
      for (let i = 0; i < 10; i++)
        expect((await send(`wrong-${i}`, `10.9.9.${i}, 203.0.113.99`)).status).toBe(401);
      expect((await send("wrong", "10.8.8.8, 203.0.113.99")).status).toBe(429);
      expect((await send(client.clientSecret, "203.0.113.100")).status).toBe(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
