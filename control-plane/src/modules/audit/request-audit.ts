import type { Context } from "hono";
import type { HonoEnv } from "../../platform/env.ts";
import { clientAddress } from "../../platform/http/client-address.ts";
import type { AuditContext } from "./audit.ts";

/** The audit context of the authenticated request: actor, request id, client address and agent. */
export function auditContextOf(c: Context<HonoEnv>): AuditContext {
  const principal = c.get("principal");
  return {
    actor: { type: principal.kind, id: principal.id },
    requestId: c.get("requestId"),
    ip: clientAddress(c),
    userAgent: c.req.header("user-agent")?.slice(0, 256) ?? null,
  };
}
