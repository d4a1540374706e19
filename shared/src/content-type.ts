import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
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

/** Refuses a body over `maxBytes` with 413 PAYLOAD_TOO_LARGE, before it is read in full. */
export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ChurnError("PAYLOAD_TOO_LARGE", `Body exceeds ${maxBytes} bytes`);
    },
  });
}

/** The checks every JSON route makes before parsing: 415 unless JSON, 413 over the size limit. */
export function jsonBody(maxBytes: number): [MiddlewareHandler, MiddlewareHandler] {
  return [requireContentType("application/json"), limitBody(maxBytes)];
}
