import type { Context } from "hono";
import { ChurnError } from "../../../shared/src/errors.ts";
import { renderError } from "../../../shared/src/http-errors.ts";
import type { HonoEnv } from "../env.ts";

export function onError(err: unknown, c: Context<HonoEnv>): Response {
  return renderError(c, err, c.get("requestId") ?? "unknown", (e) => c.get("deps")?.log.error(e));
}

export function notFound(c: Context<HonoEnv>): Response {
  return onError(new ChurnError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`), c);
}
