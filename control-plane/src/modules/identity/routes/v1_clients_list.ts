import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { apiClientListSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { listApiClients } from "../api-clients.ts";

export const listClientsRoute = createRoute({
  method: "get",
  path: "/v1/clients",
  summary: "The tenant's API clients (never their secrets), revoked ones included",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("clients:read")] as const,
  responses: {
    200: {
      description: "Clients, oldest first",
      content: { "application/json": { schema: apiClientListSchema } },
    },
    ...errorResponses(401, 403),
  },
});

export function registerClientsList(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(listClientsRoute, async (c) => {
    const clients = await listApiClients(c.get("deps").db, c.get("principal").tenantId);
    return c.json(apiClientListSchema.parse({ clients }), 200);
  });
}
