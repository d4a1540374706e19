import { ChurnError } from "#shared/errors.ts";
import {
  DEFAULT_TENANT_LIMITS,
  kvKeys,
  type RateLimit,
  type TenantLimits,
  tenantLimitsSchema,
} from "#shared/kv.ts";
import { KvSwrCache, parseJsonWith, type WaitUntil } from "../kv-cache.ts";
import type { LeaseResult, RateLimiter } from "./durable-object.ts";

const LIMITS_FRESH_MS = 10_000;
/** An isolate leases about this share of a second's allowance at a time (at least one request). */
const LEASE_SHARE = 0.05;

interface LocalLease {
  tokens: number;
  remaining: number;
  /** The limit the lease was taken under; a changed limit drops the lease. */
  limit: RateLimit;
}

const limitsCache = new KvSwrCache({
  freshMs: LIMITS_FRESH_MS,
  parse: parseJsonWith(tenantLimitsSchema),
  cacheAbsent: true,
});
const leases = new Map<string, LocalLease>();

export interface Allowance {
  limit: RateLimit;
  remaining: number;
}

/** One lease request in flight per key: concurrent requests share it instead of each leasing a batch. */
const pendingLeases = new Map<string, Promise<LeaseResult>>();

async function spend(
  namespace: DurableObjectNamespace<RateLimiter>,
  key: string,
  limit: RateLimit,
): Promise<Allowance & { retryAfterMs: number; allowed: boolean }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    let lease = leases.get(key);
    if (lease && (lease.limit.ratePerSecond !== limit.ratePerSecond || lease.limit.burst !== limit.burst)) {
      leases.delete(key);
      lease = undefined;
    }
    if (lease && lease.tokens >= 1) {
      lease.tokens -= 1;
      return {
        allowed: true,
        limit,
        remaining: Math.max(0, lease.remaining + lease.tokens),
        retryAfterMs: 0,
      };
    }
    let pending = pendingLeases.get(key);
    if (!pending) {
      const want = Math.max(1, Math.min(limit.burst, Math.ceil(limit.ratePerSecond * LEASE_SHARE)));
      const stub = namespace.get(namespace.idFromName(key));
      pending = (stub.lease(limit, want) as Promise<LeaseResult>).finally(() => pendingLeases.delete(key));
      pendingLeases.set(key, pending);
      const result = await pending;
      if (result.granted === 0)
        return { allowed: false, limit, remaining: 0, retryAfterMs: result.retryAfterMs };
      // Add to whatever is left rather than replace it, so no leased token is ever dropped.
      const current = leases.get(key);
      leases.set(key, {
        tokens: (current?.tokens ?? 0) + result.granted - 1,
        remaining: result.remaining,
        limit,
      });
      return { allowed: true, limit, remaining: result.remaining + result.granted - 1, retryAfterMs: 0 };
    }
    const shared = await pending;
    if (shared.granted === 0)
      return { allowed: false, limit, remaining: 0, retryAfterMs: shared.retryAfterMs };
    // The lease we waited for has landed in `leases`: try to take from it.
  }
  // Contended beyond a few rounds: ask for a single token of our own.
  const stub = namespace.get(namespace.idFromName(key));
  const result = (await stub.lease(limit, 1)) as LeaseResult;
  return result.granted > 0
    ? { allowed: true, limit, remaining: result.remaining, retryAfterMs: 0 }
    : { allowed: false, limit, remaining: 0, retryAfterMs: result.retryAfterMs };
}

/** The tenant's limits and quotas (from KV, set by the control plane; defaults when none are published). */
export async function tenantLimits(
  kv: KVNamespace,
  tenantId: string,
  waitUntil: WaitUntil,
): Promise<TenantLimits> {
  return (await limitsCache.get(kv, kvKeys.limits(tenantId), waitUntil)) ?? DEFAULT_TENANT_LIMITS;
}

/**
 * Applies the tenant's and the client's limits. Both must allow the request. Throws RATE_LIMITED with
 * Retry-After and RateLimit-* headers; returns the tighter allowance.
 */
export async function enforceRateLimits(
  limits: TenantLimits,
  namespace: DurableObjectNamespace<RateLimiter>,
  tenantId: string,
  clientId: string,
): Promise<Allowance> {
  const checks = [spend(namespace, `tenant:${tenantId}`, limits.tenant)];
  const clientLimit = limits.clients[clientId];
  if (clientLimit) checks.push(spend(namespace, `client:${clientId}`, clientLimit));
  const results = await Promise.all(checks);
  const denied = results.find((r) => !r.allowed);
  if (denied) {
    const retryAfter = Math.max(1, Math.ceil(denied.retryAfterMs / 1000));
    throw new ChurnError("RATE_LIMITED", `Rate limit of ${denied.limit.ratePerSecond} requests/s exceeded`, {
      headers: {
        "retry-after": String(retryAfter),
        "ratelimit-limit": String(denied.limit.burst),
        "ratelimit-remaining": "0",
        "ratelimit-reset": String(retryAfter),
      },
    });
  }
  return results.reduce((tight, r) => (r.remaining < tight.remaining ? r : tight));
}
