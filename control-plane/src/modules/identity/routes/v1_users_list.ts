import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { userListSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { listUsers } from "../users.ts";

export const listUsersRoute = createRoute({
  method: "get",
  path: "/v1/users",
  summary: "The tenant's users and their roles",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("users:read")] as const,
  responses: {
    200: { description: "Users, oldest first", content: { "application/json": { schema: userListSchema } } },
    ...errorResponses(401, 403),
  },
});

export function registerUsersList(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(listUsersRoute, async (c) => {
    const users = await listUsers(c.get("deps").db, c.get("principal").tenantId);
    return c.json(userListSchema.parse({ users }), 200);
  });
}
