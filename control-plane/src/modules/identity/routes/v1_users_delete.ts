import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { deleteUser } from "../offboarding.ts";
import { userIdParam } from "./v1_users_disable.ts";

export const deleteUserRoute = createRoute({
  method: "delete",
  path: "/v1/users/{id}",
  summary: "Delete a user: disabled as by /disable, with their email and name removed",
  description:
    "The row stays (as `deleted`) because the audit log names its id; the email can be invited again. The " +
    "same rules as disabling apply.",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("users:write")] as const,
  request: { params: userIdParam },
  responses: {
    204: { description: "Deleted" },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

export function registerUsersDelete(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(deleteUserRoute, async (c) => {
    await deleteUser(c.get("deps").db, auditContextOf(c), c.get("principal"), c.req.valid("param").id);
    return c.body(null, 204);
  });
}
