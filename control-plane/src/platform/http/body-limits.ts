import type { MiddlewareHandler } from "hono";
import { limitBody } from "#shared/content-type.ts";

/**
 * The largest JSON body an administrative route (users, tokens, clients, settings, deployments) accepts.
 * Their bodies are a few hundred bytes; the cap keeps a client from making the server buffer megabytes.
 */
export const ADMIN_JSON_MAX_BYTES = 64 * 1024;

/** A route allowed a larger body than the default: matched by method and path. */
export interface LargerBody {
  method: string;
  path: RegExp;
  maxBytes: number;
}

/**
 * Every request's body is capped before anything reads it, authenticated or not: 413 over the route's
 * ceiling, by Content-Length at once or while a chunked body streams in. Routes keep their own tighter
 * limits; this is the floor no route can forget, the token endpoint and console sign-in included.
 */
export function bodyCeiling(larger: LargerBody[], defaultMaxBytes = ADMIN_JSON_MAX_BYTES): MiddlewareHandler {
  const fallback = limitBody(defaultMaxBytes);
  const limits = larger.map((route) => ({ ...route, limit: limitBody(route.maxBytes) }));
  return (c, next) => {
    const route = limits.find((r) => r.method === c.req.method && r.path.test(c.req.path));
    return (route?.limit ?? fallback)(c, next);
  };
}
