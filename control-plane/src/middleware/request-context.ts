import type { MiddlewareHandler } from "hono";
import { newId } from "../../../shared/src/ids.ts";
import type { Deps, HonoEnv } from "../env.ts";

const SAFE_REQUEST_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** Assigns the request id, exposes deps, and writes one JSON wide event per request. */
export function requestContext(deps: Deps): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const inbound = c.req.header("x-request-id");
    const requestId = inbound && SAFE_REQUEST_ID.test(inbound) ? inbound : newId("request");
    c.set("requestId", requestId);
    c.set("deps", deps);
    const started = performance.now();
    await next();
    c.header("x-request-id", requestId);
    const principal = c.get("principal");
    deps.log.info({
      msg: "request",
      requestId,
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      tenantId: principal?.tenantId,
      actor: principal ? `${principal.kind}:${principal.id}` : undefined,
    });
  };
}
