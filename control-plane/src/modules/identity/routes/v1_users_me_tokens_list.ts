import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { personalAccessTokenListSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { listOwnTokens } from "../personal-access-tokens.ts";

export const listOwnTokensRoute = createRoute({
  method: "get",
  path: "/v1/users/me/tokens",
  summary: "Your personal access tokens, newest first, without the tokens themselves",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("tokens:self")] as const,
  responses: {
    200: {
      description: "Tokens",
      content: { "application/json": { schema: personalAccessTokenListSchema } },
    },
    ...errorResponses(401, 403),
  },
});

export function registerOwnTokensList(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(listOwnTokensRoute, async (c) => {
    const principal = c.get("principal");
    const tokens = await listOwnTokens(c.get("deps").db, {
      tenantId: principal.tenantId,
      userId: principal.id,
    });
    return c.json(personalAccessTokenListSchema.parse({ tokens }), 200);
  });
}
