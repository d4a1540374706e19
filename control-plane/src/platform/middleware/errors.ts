import type { Context } from "hono";
import { ChurnError } from "#shared/errors.ts";
import { renderError } from "#shared/http-errors.ts";
import { databaseUnavailable } from "../db/unavailable.ts";
import type { HonoEnv } from "../env.ts";

export function onError(err: unknown, c: Context<HonoEnv>): Response {
  const requestId = c.get("requestId") ?? "unknown";
  const log = (event: Record<string, unknown>) => c.get("deps")?.log.error(event);
  const unavailable = databaseUnavailable(err);
  if (unavailable) {
    log({ msg: "database unavailable", requestId, error: err instanceof Error ? err.message : String(err) });
    return renderError(c, unavailable, requestId, log);
  }
  return renderError(c, err, requestId, log);
}

export function notFound(c: Context<HonoEnv>): Response {
  return onError(new ChurnError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`), c);
}
