import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { userSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { disableUser } from "../offboarding.ts";

export const userIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "usr_0123456789abcdefghij" }),
});

export const disableUserRoute = createRoute({
  method: "post",
  path: "/v1/users/{id}/disable",
  summary: "Disable a user: every token and console session of theirs stops working at once",
  description:
    "Offboarding. The user's personal access tokens and console sessions are revoked and refused on the next " +
    "request; open invitations are withdrawn. Nobody may disable themselves, the last owner, or a user whose " +
    "role holds permissions they lack. Disabling twice is harmless.",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("users:write")] as const,
  request: { params: userIdParam },
  responses: {
    200: { description: "The user, disabled", content: { "application/json": { schema: userSchema } } },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

export function registerUsersDisable(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(disableUserRoute, async (c) => {
    const user = await disableUser(
      c.get("deps").db,
      auditContextOf(c),
      c.get("principal"),
      c.req.valid("param").id,
    );
    return c.json(userSchema.parse(user), 200);
  });
}
