import type { MiddlewareHandler } from "hono";
import type { HonoEnv } from "../env.ts";
import { enforceRateLimits } from "../rate-limit/limiter.ts";

/** Per-tenant and per-client token buckets (after authentication: both ids come from the token). */
export function rateLimit(): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const { tenantId, clientId } = c.get("principal");
    const allowance = await enforceRateLimits(c.env.EDGE_KV, c.env.RATE_LIMITER, tenantId, clientId, (p) =>
      c.executionCtx.waitUntil(p),
    );
    await next();
    c.header("ratelimit-limit", String(allowance.limit.burst));
    c.header("ratelimit-remaining", String(allowance.remaining));
    c.header("ratelimit-reset", String(Math.ceil(allowance.limit.burst / allowance.limit.ratePerSecond)));
  };
}
