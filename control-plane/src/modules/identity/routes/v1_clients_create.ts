import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { apiClientWithSecretSchema, createClientRequestSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { idempotencyHeaders, idempotent } from "../../../platform/middleware/idempotency.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { publishTenantLimits } from "../../deployments/rate-limits.ts";
import { createApiClient } from "../api-clients.ts";

export const createClientRoute = createRoute({
  method: "post",
  path: "/v1/clients",
  summary: "Create an API client (OAuth2 client credentials); the secret is shown once",
  description:
    "A `rateLimit` gives the client its own token bucket at the edge, on top of the tenant's, and a " +
    "`monthlyPredictionQuota` its own monthly prediction quota within the tenant's. Send " +
    "`Idempotency-Key` to retry safely: a replay answers 409 naming the created client.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("clients:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
    idempotent({
      oneTimeSecret: {
        resourceId: (body) => (body as { client: { id: string } }).client.id,
        hint: "rotate the client's secret to get a new one",
      },
    }),
  ] as const,
  request: {
    headers: idempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: createClientRequestSchema } } },
  },
  responses: {
    201: {
      description: "Created; `clientSecret` is shown only here",
      content: { "application/json": { schema: apiClientWithSecretSchema } },
    },
    ...errorResponses(400, 401, 403, 409, 413, 415, 503),
  },
});

export function registerClientsCreate(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(createClientRoute, async (c) => {
    const deps = c.get("deps");
    const tenantId = c.get("principal").tenantId;
    const body = c.req.valid("json");
    const created = await createApiClient(deps.db, auditContextOf(c), { tenantId, ...body });
    if (body.rateLimit || body.monthlyPredictionQuota !== undefined)
      await publishTenantLimits(deps.db, deps.edge, tenantId);
    c.header("cache-control", "no-store");
    return c.json(apiClientWithSecretSchema.parse(created), 201);
  });
}
