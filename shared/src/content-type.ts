import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ChurnError } from "./errors.ts";

/** Refuses a body whose media type the route does not accept, before any parsing. */
export function requireContentType(...accepted: string[]): MiddlewareHandler {
  return (c, next) => {
    const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase() ?? "";
    if (!accepted.includes(type)) {
      throw new ChurnError(
        "UNSUPPORTED_MEDIA_TYPE",
        `Content-Type must be ${accepted.join(" or ")}${type ? `, not ${type}` : ""}`,
      );
    }
    return next();
  };
}

/**
 * Refuses a body over `maxBytes` with 413 PAYLOAD_TOO_LARGE, before it is read in full. A declared
 * Content-Length is judged from the header alone: touching `c.req.raw.body` makes the Node adapter build a
 * full web Request and stream for every request, a tenth of the token endpoint's throughput. GET and HEAD
 * bodies are never read (a web Request has none). Only a chunked body is counted as it streams in.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => {
    throw new ChurnError("PAYLOAD_TOO_LARGE", `Body exceeds ${maxBytes} bytes`);
  };
  const streamed = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const declared = c.req.header("content-length");
    if (declared !== undefined && c.req.header("transfer-encoding") === undefined) {
      return Number.parseInt(declared, 10) > maxBytes ? tooLarge() : next();
    }
    return streamed(c, next);
  };
}

/** The checks every JSON route makes before parsing: 415 unless JSON, 413 over the size limit. */
export function jsonBody(maxBytes: number): [MiddlewareHandler, MiddlewareHandler] {
  return [requireContentType("application/json"), limitBody(maxBytes)];
}
