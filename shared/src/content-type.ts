import type { MiddlewareHandler } from "hono";
import { ChurnError } from "./errors.ts";

/** Refuses a body whose media type the route does not accept, before any parsing. */
export function requireContentType(...accepted: string[]): MiddlewareHandler {
  return async (c, next) => {
    const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase() ?? "";
    if (!accepted.includes(type)) {
      throw new ChurnError(
        "UNSUPPORTED_MEDIA_TYPE",
        `Content-Type must be ${accepted.join(" or ")}${type ? `, not ${type}` : ""}`,
      );
    }
    await next();
  };
}
