import type { MiddlewareHandler } from "hono";
import { newId } from "#shared/ids.ts";
import type { HonoEnv } from "../env.ts";

const SAFE_REQUEST_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** Request id, then one JSON wide event per request with status, duration, tenant and model version. */
export function requestContext(): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const inbound = c.req.header("x-request-id") ?? c.req.header("cf-ray");
    const requestId = inbound && SAFE_REQUEST_ID.test(inbound) ? inbound : newId("request");
    c.set("requestId", requestId);
    const event: Record<string, unknown> = {};
    c.set("event", event);
    const started = performance.now();
    // Set before the response exists: after it, each header makes Hono copy the finished Response.
    c.header("x-request-id", requestId);
    await next();
    console.log(
      JSON.stringify({
        msg: "request",
        requestId,
        method: c.req.method,
        route: c.req.routePath,
        status: c.res.status,
        durationMs: performance.now() - started,
        tenantId: c.get("principal")?.tenantId,
        // Which API client made the call: what a leaked-secret investigation needs (an id, never the token).
        clientId: c.get("principal")?.clientId,
        ...event,
      }),
    );
  };
}
