import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { kvKeys } from "#shared/kv.ts";
import { TokenBucket } from "../../edge/src/rate-limit/token-bucket.ts";
import { customer, errorOf, newTenant } from "./harness.ts";

describe("rate limits", () => {
  it("token bucket refills at its rate up to its burst", () => {
    const limit = { ratePerSecond: 2, burst: 4 };
    const bucket = new TokenBucket(limit, 0);
    expect(bucket.take(limit, 10, 0)).toBe(4);
    expect(bucket.take(limit, 1, 0)).toBe(0);
    expect(bucket.waitMs(limit)).toBe(500);
    expect(bucket.take(limit, 10, 1000)).toBe(2);
    expect(bucket.take(limit, 10, 60_000)).toBe(4);
  });

  it("a tenant over its limit gets 429 with Retry-After and RateLimit headers", async () => {
    const tenant = await newTenant();
    await env.EDGE_KV.put(
      kvKeys.limits(tenant.tenantId),
      JSON.stringify({ tenant: { ratePerSecond: 0.1, burst: 3 }, clients: {} }),
    );
    const token = await tenant.token();
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 5; i++) {
      const res = await tenant.predict({ records: [customer()] }, { token });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited!.headers.get("ratelimit-limit")).toBe("3");
    expect(limited!.headers.get("ratelimit-remaining")).toBe("0");
    expect((await errorOf(limited!)).code).toBe("RATE_LIMITED");
  });

  it("a client limit applies to that client only", async () => {
    const tenant = await newTenant();
    const limitedToken = await tenant.token();
    const { sub } = JSON.parse(atob(limitedToken.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as {
      sub: string;
    };
    await env.EDGE_KV.put(
      kvKeys.limits(tenant.tenantId),
      JSON.stringify({
        tenant: { ratePerSecond: 100, burst: 100 },
        clients: { [sub]: { ratePerSecond: 0.1, burst: 1 } },
      }),
    );
    expect((await tenant.predict({ records: [customer()] }, { token: limitedToken })).status).toBe(200);
    expect((await tenant.predict({ records: [customer()] }, { token: limitedToken })).status).toBe(429);
    const other = await tenant.predict({ records: [customer()] }, { token: await tenant.token() });
    expect(other.status).toBe(200);
    expect(Number(other.headers.get("ratelimit-remaining"))).toBeGreaterThan(0);
  });
});
