import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { apiClientSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { clientIdParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { publishTenantLimits } from "../../deployments/rate-limits.ts";
import { revokeApiClient } from "../api-clients.ts";
import { publishRevokedClients } from "../revocations.ts";

export const revokeClientRoute = createRoute({
  method: "post",
  path: "/v1/clients/{id}/revoke",
  summary: "Revoke a client: its secret and every token it holds stop working",
  description:
    "At once at the control plane; at the edge through the published revocation list (within its cache " +
    "refresh, about 10 s). Revoking twice is harmless.",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("clients:write")] as const,
  request: { params: clientIdParams },
  responses: {
    200: { description: "The revoked client", content: { "application/json": { schema: apiClientSchema } } },
    ...errorResponses(401, 403, 404, 503),
  },
});

export function registerClientsRevoke(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(revokeClientRoute, async (c) => {
    const deps = c.get("deps");
    const tenantId = c.get("principal").tenantId;
    const { client, changed } = await revokeApiClient(
      deps.db,
      auditContextOf(c),
      tenantId,
      c.req.valid("param").id,
    );
    // Re-sent on a repeated call too: that is how a publish the edge store refused gets retried.
    await publishRevokedClients(deps.db, deps.edge);
    if (changed && (client.rateLimit || client.monthlyPredictionQuota !== null))
      await publishTenantLimits(deps.db, deps.edge, tenantId);
    return c.json(apiClientSchema.parse(client), 200);
  });
}
