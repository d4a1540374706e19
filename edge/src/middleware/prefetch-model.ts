import type { MiddlewareHandler } from "hono";
import type { HonoEnv } from "../env.ts";
import { prefetchProduction } from "../models/serving.ts";

/**
 * After authentication (the tenant comes from the token), starts loading the tenant's live model so a cold
 * isolate overlaps that load with the middleware that follows; a warm isolate only checks that it holds it.
 */
export function prefetchModel(): MiddlewareHandler<HonoEnv> {
  // Not async: it only hands on, so it adds no promise of its own to every predict.
  return (c, next) => {
    prefetchProduction(c.env.EDGE_KV, c.get("principal").tenantId, (p) => c.executionCtx.waitUntil(p));
    return next();
  };
}
