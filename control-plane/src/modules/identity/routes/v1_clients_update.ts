import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { apiClientSchema, updateClientRequestSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { clientIdParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { publishTenantLimits } from "../../deployments/rate-limits.ts";
import { updateApiClient } from "../api-clients.ts";

export const updateClientRoute = createRoute({
  method: "patch",
  path: "/v1/clients/{id}",
  summary: "Change a client's name, scopes, rate limit or monthly prediction quota",
  description:
    "Narrowed scopes apply at the control plane at once; tokens already issued keep their scopes at the edge " +
    "until they expire. A rate-limit or quota change is published to the edge.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("clients:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    params: clientIdParams,
    body: { required: true, content: { "application/json": { schema: updateClientRequestSchema } } },
  },
  responses: {
    200: {
      description: "The client as changed",
      content: { "application/json": { schema: apiClientSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 503),
  },
});

export function registerClientsUpdate(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(updateClientRoute, async (c) => {
    const deps = c.get("deps");
    const tenantId = c.get("principal").tenantId;
    const { client, limitsChanged } = await updateApiClient(
      deps.db,
      auditContextOf(c),
      tenantId,
      c.req.valid("param").id,
      c.req.valid("json"),
    );
    if (limitsChanged) await publishTenantLimits(deps.db, deps.edge, tenantId);
    return c.json(apiClientSchema.parse(client), 200);
  });
}
