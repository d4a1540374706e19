import { env, SELF } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { kvKeys } from "#shared/kv.ts";
import type { PredictResponse } from "#shared/predict.ts";
import { customer, EDGE, errorOf, newTenant } from "./harness.ts";
import { expectTokenAttacksRefused } from "./token-attacks.ts";

describe("POST /v1/predict (security)", () => {
  it("refuses every forged, expired or misdirected token", async () => {
    const tenant = await newTenant();
    await expectTokenAttacksRefused(
      (authorization) =>
        SELF.fetch(`${EDGE}/v1/predict`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
          body: JSON.stringify({ records: [customer()] }),
        }),
      tenant,
    );
  });

  it("names the calling client in the request log, never the token", async () => {
    const tenant = await newTenant();
    const token = await tenant.token();
    const { sub } = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as {
      sub: string;
    };
    const logged: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
    try {
      expect((await tenant.predict({ records: [customer()] }, { token })).status).toBe(200);
    } finally {
      spy.mockRestore();
    }
    const request = logged
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      })
      .find((e) => e["msg"] === "request" && e["route"] === "/v1/predict");
    expect(request).toMatchObject({ tenantId: tenant.tenantId, clientId: sub, status: 200 });
    expect(logged.some((line) => line.includes(token))).toBe(false);
  });

  it("does not take a verified token's signature under other claims for that token", async () => {
    const victim = await newTenant();
    const other = await newTenant();
    const token = await victim.token();
    expect((await victim.predict({ records: [customer()] }, { token })).status).toBe(200);
    // The same header and signature around claims naming another tenant: a cache keyed by the signature
    // alone would answer as the victim's verified token, or worse as the other tenant.
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    const forgedPayload = btoa(JSON.stringify({ ...claims, tid: other.tenantId }))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    const forged = await victim.predict(
      { records: [customer()] },
      { token: `${header}.${forgedPayload}.${signature}` },
    );
    expect(forged.status).toBe(401);
    expect((await errorOf(forged)).code).toBe("UNAUTHORIZED");
    // The genuine token still answers from the cache.
    expect((await victim.predict({ records: [customer()] }, { token })).status).toBe(200);
  });

  it("refuses a revoked client's token, even one it verified before", async () => {
    const tenant = await newTenant();
    const token = await tenant.token();
    expect((await tenant.predict({ records: [customer()] }, { token })).status).toBe(200);
    const { sub } = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as {
      sub: string;
    };
    await env.EDGE_KV.put(
      kvKeys.revokedClients(),
      JSON.stringify({ clients: { [sub]: Math.floor(Date.now() / 1000) } }),
    );
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const start = Date.now();
      vi.setSystemTime(start + 15_000); // past the revocation list's freshness window
      await tenant.predict({ records: [customer()] }, { token }); // triggers the background re-read
      // The re-read finishes in waitUntil, whenever the runtime gets to it: wait for the refusal rather
      // than for a fixed time, which a busy machine can outlast. The faked clock stands still, so a re-read
      // begun before the put (the cached list may already have been stale, in a slow suite) would leave
      // the old list looking fresh for good: every 2 s the clock moves past the window again.
      let res = await tenant.predict({ records: [customer()] }, { token });
      for (let attempt = 1; attempt <= 600 && res.status !== 401; attempt++) {
        await new Promise((r) => setTimeout(r, 50));
        vi.setSystemTime(start + 15_000 + 11_000 * Math.floor(attempt / 40)); // stays within the token's life
        res = await tenant.predict({ records: [customer()] }, { token });
      }
      expect(res.status).toBe(401);
      expect((await errorOf(res)).message).toContain("revoked");
    } finally {
      vi.useRealTimers();
      await env.EDGE_KV.delete(kvKeys.revokedClients());
    }
  }, 60_000);

  it("refuses a token it verified before once that token has expired", async () => {
    const tenant = await newTenant();
    const token = await tenant.token({ expiresIn: "2m" });
    expect((await tenant.predict({ records: [customer()] }, { token })).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      // Past `exp` and the 30 s leeway: the verified-token cache must not outlive the token.
      vi.setSystemTime(Date.now() + 3 * 60_000);
      const res = await tenant.predict({ records: [customer()] }, { token });
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe("UNAUTHORIZED");
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses a token without the predict scope", async () => {
    const tenant = await newTenant();
    const res = await tenant.predict(
      { records: [customer()] },
      { token: await tenant.token({ scope: "feedback:write" }) },
    );
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("INSUFFICIENT_SCOPE");
  });

  it("serves each tenant only its own model; the tenant comes from the token alone", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const bodyA = (await (await a.predict({ records: [customer()] })).json()) as PredictResponse;
    const bodyB = (await (await b.predict({ records: [customer()] })).json()) as PredictResponse;
    expect(bodyA.model.versionId).toBe(a.production!.versionId);
    expect(bodyB.model.versionId).toBe(b.production!.versionId);
    // Naming another tenant in the body or a header changes nothing.
    const res = await SELF.fetch(`${EDGE}/v1/predict`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await b.token()}`,
        "content-type": "application/json",
        "x-tenant-id": a.tenantId,
      },
      body: JSON.stringify({ tenantId: a.tenantId, records: [customer()] }),
    });
    expect(((await res.json()) as PredictResponse).model.versionId).toBe(b.production!.versionId);
  });

  it("a tenant with no deployment gets 503 MODEL_UNAVAILABLE, never another tenant's model", async () => {
    await newTenant();
    const empty = await newTenant({ deploy: false });
    const res = await empty.predict({ records: [customer()] });
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("MODEL_UNAVAILABLE");
  });

  it("GET /v1/models/live refuses forged tokens too", async () => {
    const tenant = await newTenant();
    await expectTokenAttacksRefused(
      (authorization) =>
        SELF.fetch(`${EDGE}/v1/models/live`, { headers: authorization ? { authorization } : {} }),
      tenant,
    );
  });
});
