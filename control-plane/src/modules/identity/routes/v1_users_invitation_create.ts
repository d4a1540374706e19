import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { invitationSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { reinviteUser } from "../invitations.ts";
import { userIdParam } from "./v1_users_disable.ts";

export const createInvitationRoute = createRoute({
  method: "post",
  path: "/v1/users/{id}/invitation",
  summary: "A fresh invitation for a user who has not redeemed theirs; the earlier code stops working",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("users:write")] as const,
  request: { params: userIdParam },
  responses: {
    201: {
      description: "The invitation; `code` is shown only here",
      content: { "application/json": { schema: invitationSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

export function registerUsersInvitationCreate(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(createInvitationRoute, async (c) => {
    const invitation = await reinviteUser(
      c.get("deps").db,
      auditContextOf(c),
      c.get("principal"),
      c.req.valid("param").id,
    );
    c.header("cache-control", "no-store");
    return c.json(invitationSchema.parse(invitation), 201);
  });
}
