import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { revokeOwnToken } from "../personal-access-tokens.ts";

export const revokeOwnTokenRoute = createRoute({
  method: "delete",
  path: "/v1/users/me/tokens/{id}",
  summary: "Revoke one of your personal access tokens (at once; revoking twice is harmless)",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("tokens:self")] as const,
  request: {
    params: z.object({
      id: z
        .string()
        .max(64)
        .openapi({ param: { name: "id", in: "path" }, example: "pat_0123456789abcdefghij" }),
    }),
  },
  responses: {
    204: { description: "Revoked" },
    ...errorResponses(400, 401, 403, 404),
  },
});

export function registerOwnTokensDelete(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(revokeOwnTokenRoute, async (c) => {
    const principal = c.get("principal");
    await revokeOwnToken(
      c.get("deps").db,
      auditContextOf(c),
      { tenantId: principal.tenantId, userId: principal.id },
      c.req.valid("param").id,
    );
    return c.body(null, 204);
  });
}
