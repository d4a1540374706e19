import type { MiddlewareHandler } from "hono";
import type { HonoEnv } from "../env.ts";
import { enforceRateLimits, tenantLimits } from "../rate-limit/limiter.ts";

/**
 * Per-tenant and per-client token buckets (after authentication: both ids come from the token). Leaves the
 * limits it read in `limits`, where routes find the monthly quotas published with them.
 */
export function rateLimit(): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const { tenantId, clientId } = c.get("principal");
    const limits = await tenantLimits(c.env.EDGE_KV, tenantId, (p) => c.executionCtx.waitUntil(p));
    c.set("limits", limits);
    const allowance = await enforceRateLimits(limits, c.env.RATE_LIMITER, tenantId, clientId);
    // Set before the response exists: after it, each header makes Hono copy the finished Response.
    c.header("ratelimit-limit", String(allowance.limit.burst));
    c.header("ratelimit-remaining", String(allowance.remaining));
    c.header("ratelimit-reset", String(Math.ceil(allowance.limit.burst / allowance.limit.ratePerSecond)));
    await next();
  };
}
