import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { newId } from "#shared/ids.ts";
import type { Deps, HonoEnv } from "../env.ts";
import { type ControlPlaneMetrics, UNMATCHED_ROUTE } from "../observability/metrics.ts";

const SAFE_REQUEST_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** The route pattern that served the request; anything no route matched shares one label. */
function routeLabel(pattern: string): string {
  return pattern === "/*" || pattern === "*" ? UNMATCHED_ROUTE : pattern;
}

/** Assigns the request id, exposes deps, records request metrics and writes one JSON wide event per request. */
export function requestContext(deps: Deps, metrics: ControlPlaneMetrics): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const inbound = c.req.header("x-request-id");
    const requestId = inbound && SAFE_REQUEST_ID.test(inbound) ? inbound : newId("request");
    c.set("requestId", requestId);
    c.set("deps", deps);
    c.set("metrics", metrics);
    const started = performance.now();
    await next();
    c.header("x-request-id", requestId);
    const seconds = (performance.now() - started) / 1000;
    const route = routeLabel(routePath(c));
    metrics.observeRequest(c.req.method, route, c.res.status, seconds);
    const principal = c.get("principal");
    deps.log.info({
      msg: "request",
      requestId,
      method: c.req.method,
      route,
      status: c.res.status,
      durationMs: Math.round(seconds * 1e6) / 1000,
      tenantId: principal?.tenantId,
      actor: principal ? `${principal.kind}:${principal.id}` : undefined,
    });
  };
}
