import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { kvKeys, type PredictionQuotas, usageRecordSchema } from "#shared/kv.ts";
import { monthBounds, monthOf } from "#shared/time.ts";
import { applyReport, emptyLedger, grantLease, MAX_LEASE } from "../../edge/src/quota/ledger.ts";
import { customer, errorOf, newTenant } from "./harness.ts";

type Tenant = Awaited<ReturnType<typeof newTenant>>;

const subjectOf = (token: string) =>
  (JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { sub: string }).sub;

/** Publishes quotas with the platform's default rate limits, as the control plane does. */
async function publishQuotas(tenant: Tenant, quotas: PredictionQuotas) {
  await env.EDGE_KV.put(
    kvKeys.limits(tenant.tenantId),
    JSON.stringify({ tenant: { ratePerSecond: 1000, burst: 2000 }, clients: {}, quotas }),
  );
}

const records = (n: number) => ({
  records: Array.from({ length: n }, (_, i) => customer({ customerId: `c${i}` })),
});

async function statusOf(res: Response): Promise<number> {
  await res.arrayBuffer();
  return res.status;
}

describe("monthly prediction quotas: the ledger", () => {
  it("leases a share of what is left, at least what is needed, and never past the tighter quota", () => {
    const ledger = emptyLedger("2026-07");
    const quotas = { tenantQuota: 1600, clientQuota: null };
    expect(grantLease(ledger, "a", 1, 1, quotas)).toEqual({ granted: 100, refusedBy: null, remaining: 1500 });
    // A batch larger than the share gets exactly its records.
    expect(grantLease(ledger, "a", 500, 500, quotas).granted).toBe(500);
    applyReport(ledger, "a", 550, 600); // scored 550 of the 600 leased; 50 handed back
    expect(ledger).toMatchObject({ used: 550, leased: 0, clients: { a: { used: 550, leased: 0 } } });
    // Near the end a lease is only what the request needs: the last records go to whoever asks first.
    const tight = { tenantQuota: 1600, clientQuota: 560 };
    expect(grantLease(ledger, "a", 1, 1, tight)).toEqual({ granted: 1, refusedBy: null, remaining: 9 });
    expect(grantLease(ledger, "a", 10, 10, tight)).toEqual({ granted: 0, refusedBy: "client", remaining: 9 });
    expect(grantLease(ledger, "b", 1050, 1050, quotas)).toEqual({
      granted: 0,
      refusedBy: "tenant",
      remaining: 1049,
    });
    // Requests waiting together get what they want when there is room, at least what the first needs if not.
    const waiting = emptyLedger("2026-07");
    expect(grantLease(waiting, "a", 1, 30, { tenantQuota: 40, clientQuota: null }).granted).toBe(30);
    expect(grantLease(waiting, "a", 1, 30, { tenantQuota: 40, clientQuota: null }).granted).toBe(10);
    // Without a quota the lease is a full chunk; leases never add up past the quota.
    expect(
      grantLease(emptyLedger("2026-07"), "a", 1, 1, { tenantQuota: null, clientQuota: null }).granted,
    ).toBe(MAX_LEASE);
    let granted = 0;
    const small = emptyLedger("2026-07");
    for (let i = 0; i < 100; i++)
      granted += grantLease(small, `c${i % 7}`, 1, 3, { tenantQuota: 37, clientQuota: null }).granted;
    expect(granted).toBe(37);
  });
});

describe("monthly prediction quotas at the edge", () => {
  it("a used-up tenant quota answers 429 QUOTA_EXCEEDED naming it, its size and the reset, with Retry-After", async () => {
    const tenant = await newTenant();
    await publishQuotas(tenant, { tenant: 5, clients: {} });
    const token = await tenant.token();
    expect(await statusOf(await tenant.predict(records(2), { token }))).toBe(200);
    expect(await statusOf(await tenant.predict(records(2), { token }))).toBe(200);
    const short = await tenant.predict(records(2), { token });
    expect(short.status).toBe(429);
    expect((await errorOf(short)).message).toContain("has 1 predictions left, fewer than the 2 records sent");
    expect(await statusOf(await tenant.predict(records(1), { token }))).toBe(200);

    const refused = await tenant.predict(records(1), { token: await tenant.token() });
    expect(refused.status).toBe(429);
    const error = await errorOf(refused);
    expect(error.code).toBe("QUOTA_EXCEEDED");
    const { endsAt } = monthBounds(monthOf(Date.now()));
    expect(error.message).toBe(
      `The tenant's monthly prediction quota of 5 is used up for ${monthOf(Date.now())}; it resets at ${new Date(endsAt).toISOString()}`,
    );
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(Math.abs(retryAfter - (endsAt - Date.now()) / 1000)).toBeLessThan(60);
  });

  it("concurrent requests from many clients never score past the tenant's quota, and use all of it", async () => {
    const tenant = await newTenant();
    await publishQuotas(tenant, { tenant: 40, clients: {} });
    // Each client's meter leases on its own, as separate isolates would.
    const tokens = await Promise.all(Array.from({ length: 6 }, () => tenant.token()));
    const burst = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        tenant.predict(records(1), { token: tokens[i % 6]! }).then(statusOf),
      ),
    );
    let scored = burst.filter((s) => s === 200).length;
    expect(scored).toBeLessThanOrEqual(40);
    expect(burst.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    // Records other meters leased and did not use come back with their reports, within seconds.
    await vi.waitFor(
      async () => {
        while ((await statusOf(await tenant.predict(records(1), { token: tokens[0]! }))) === 200) scored++;
        expect(scored).toBe(40);
      },
      { timeout: 15_000, interval: 500 },
    );
    expect(await statusOf(await tenant.predict(records(1), { token: tokens[5]! }))).toBe(429);
  });

  it("a client's quota lower than the tenant's refuses that client only", async () => {
    const tenant = await newTenant();
    const limited = await tenant.token();
    await publishQuotas(tenant, { tenant: 100, clients: { [subjectOf(limited)]: 3 } });
    expect(await statusOf(await tenant.predict(records(3), { token: limited }))).toBe(200);
    const refused = await tenant.predict(records(1), { token: limited });
    expect(refused.status).toBe(429);
    const error = await errorOf(refused);
    expect(error.code).toBe("QUOTA_EXCEEDED");
    expect(error.message).toMatch(/^This client's monthly prediction quota of 3 is used up/);
    expect(await statusOf(await tenant.predict(records(10), { token: await tenant.token() }))).toBe(200);
  });

  it("a batch counts every record; refused and invalid requests count nothing", async () => {
    const tenant = await newTenant();
    await publishQuotas(tenant, { tenant: 60, clients: {} });
    const token = await tenant.token();
    // Records the model refuses are not scored, so they do not count.
    expect(await statusOf(await tenant.predict({ records: [customer({ tenure: "long" })] }, { token }))).toBe(
      400,
    );
    expect(await statusOf(await tenant.predict(records(50), { token }))).toBe(200);
    expect(await statusOf(await tenant.predict(records(11), { token }))).toBe(429);
    expect(await statusOf(await tenant.predict(records(10), { token }))).toBe(200);
    expect(await statusOf(await tenant.predict(records(1), { token }))).toBe(429);
  });

  it("the next calendar month (UTC) starts from zero", async () => {
    const tenant = await newTenant();
    await publishQuotas(tenant, { tenant: 2, clients: {} });
    // Last month's final minute, then this month's first second: the clock only goes to times already past.
    // The edge test files share one isolate (isolate: false), whose caches outlive this test: filled on a
    // clock set to next month, they would be stamped weeks ahead and look fresh for the rest of the run
    // (the revocation list, for one, would never be re-read).
    const now = Date.now();
    const thisMonth = monthBounds(monthOf(now));
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      // Tokens are minted on the moved clock, so they are valid there.
      vi.setSystemTime(thisMonth.startsAt - 60_000);
      expect(await statusOf(await tenant.predict(records(2)))).toBe(200);
      expect(await statusOf(await tenant.predict(records(1)))).toBe(429);
      vi.setSystemTime(Math.min(thisMonth.startsAt + 1_000, now));
      expect(await statusOf(await tenant.predict(records(2)))).toBe(200);
      const refused = await tenant.predict(records(1));
      expect(refused.status).toBe(429);
      expect((await errorOf(refused)).message).toContain(`for ${monthOf(Date.now())};`);
    } finally {
      vi.useRealTimers();
    }
  });

  it("writes the month's usage to KV within seconds, tenant-wide and per client, with or without a quota", async () => {
    const tenant = await newTenant();
    const [a, b] = [await tenant.token(), await tenant.token()];
    await publishQuotas(tenant, { tenant: 1000, clients: { [subjectOf(a)]: 500 } });
    expect(await statusOf(await tenant.predict(records(7), { token: a }))).toBe(200);
    expect(await statusOf(await tenant.predict(records(3), { token: a }))).toBe(200);
    expect(await statusOf(await tenant.predict(records(5), { token: b }))).toBe(200);
    const unlimited = await newTenant();
    expect(await statusOf(await unlimited.predict(records(4)))).toBe(200);

    const month = monthOf(Date.now());
    const usage = async (t: Tenant) => {
      const text = await env.EDGE_KV.get(kvKeys.usage(t.tenantId, month));
      return text === null ? null : usageRecordSchema.parse(JSON.parse(text));
    };
    await vi.waitFor(
      async () => {
        expect(await usage(tenant)).toMatchObject({
          month,
          used: 15,
          clients: { [subjectOf(a)]: 10, [subjectOf(b)]: 5 },
        });
        expect((await usage(unlimited))?.used).toBe(4);
      },
      { timeout: 20_000, interval: 250 },
    );
  });
});
