import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ChurnError, type ErrorCode } from "./errors.ts";

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: "INVALID_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
};

export type ErrorLogger = (event: Record<string, unknown>) => void;

/** Normalises anything thrown into a ChurnError; unknown errors are logged and become a bare 500. */
export function toChurnError(err: unknown, requestId: string, logError: ErrorLogger): ChurnError {
  if (err instanceof ChurnError) return err;
  if (err instanceof HTTPException && STATUS_CODES[err.status]) {
    return new ChurnError(STATUS_CODES[err.status]!, err.message || "Request rejected");
  }
  if (err instanceof SyntaxError) return new ChurnError("INVALID_REQUEST", "Body is not valid JSON");
  logError({
    msg: "unhandled error",
    requestId,
    error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    stack: err instanceof Error ? err.stack : undefined,
  });
  return new ChurnError("INTERNAL", "Internal error; quote the request id when reporting it");
}

/** The single place errors become responses, shared by every service: one envelope, the right status. */
export function renderError(c: Context, err: unknown, requestId: string, logError: ErrorLogger): Response {
  const error = toChurnError(err, requestId, logError);
  for (const [k, v] of Object.entries(error.headers ?? {})) c.header(k, v);
  c.header("x-request-id", requestId);
  return c.json(error.toEnvelope(requestId), error.status as ContentfulStatusCode);
}
