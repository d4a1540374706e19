import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { revokeUserTokensResponseSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { revokeAllUserTokens } from "../offboarding.ts";
import { userIdParam } from "./v1_users_disable.ts";

export const revokeUserTokensRoute = createRoute({
  method: "post",
  path: "/v1/users/{id}/tokens/revoke",
  summary: "Revoke every personal access token and console session of a user (owners and admins)",
  description:
    "For a lost laptop or a leaked token: everything the user holds stops working on the next request; the " +
    "user stays enabled and can sign in again with a new token. Not for yourself (revoke your own tokens " +
    "one by one) nor for a user whose role holds permissions you lack.",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("users:write")] as const,
  request: { params: userIdParam },
  responses: {
    200: {
      description: "How many were revoked",
      content: { "application/json": { schema: revokeUserTokensResponseSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

export function registerUsersTokensRevoke(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(revokeUserTokensRoute, async (c) => {
    const revoked = await revokeAllUserTokens(
      c.get("deps").db,
      auditContextOf(c),
      c.get("principal"),
      c.req.valid("param").id,
    );
    return c.json({ revoked }, 200);
  });
}
