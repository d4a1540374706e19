import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { updateUserRequestSchema, userSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { changeUserRole } from "../users.ts";

export const updateUserRoute = createRoute({
  method: "patch",
  path: "/v1/users/{id}",
  summary: "Change a user's role (owners only; the last owner cannot be demoted)",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("users:roles"), ...jsonBody(ADMIN_JSON_MAX_BYTES)] as const,
  request: {
    params: z.object({
      id: z
        .string()
        .max(64)
        .openapi({ param: { name: "id", in: "path" }, example: "usr_0123456789abcdefghij" }),
    }),
    body: { required: true, content: { "application/json": { schema: updateUserRequestSchema } } },
  },
  responses: {
    200: { description: "The user as changed", content: { "application/json": { schema: userSchema } } },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

export function registerUsersUpdate(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(updateUserRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { role } = c.req.valid("json");
    const user = await changeUserRole(c.get("deps").db, auditContextOf(c), c.get("principal"), id, role);
    return c.json(userSchema.parse(user), 200);
  });
}
