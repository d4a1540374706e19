import type { Context } from "hono";
import type { HonoEnv } from "../../platform/env.ts";

/**
 * The origin people and the identity provider reach the control plane at: PUBLIC_URL's when set (behind a
 * TLS-terminating proxy the request itself arrives over plain http), else the request's own.
 */
export function publicOrigin(c: Context): string {
  const publicUrl = (c as Context<HonoEnv>).get("deps").config.PUBLIC_URL;
  return new URL(publicUrl ?? c.req.url).origin;
}
