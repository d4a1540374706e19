import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { rateLimitSchema, tenantLimitsSchema } from "#shared/kv.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { setTenantLimit } from "../rate-limits.ts";

const limitsSchema = tenantLimitsSchema.meta({ id: "TenantLimits" });

export const putLimitsRoute = createRoute({
  method: "put",
  path: "/v1/settings/limits",
  summary: "Set the tenant-wide rate limit the edge applies (a token bucket)",
  description: "Answers with every limit now published to the edge: the tenant's and each client's own.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("settings:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: rateLimitSchema.meta({ id: "RateLimit" }) } },
    },
  },
  responses: {
    200: { description: "Published limits", content: { "application/json": { schema: limitsSchema } } },
    ...errorResponses(400, 401, 403, 413, 415, 503),
  },
});

export function registerSettingsLimitsPut(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(putLimitsRoute, async (c) => {
    const deps = c.get("deps");
    const limits = await setTenantLimit(
      deps.db,
      deps.edge,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("json"),
    );
    return c.json(limitsSchema.parse(limits), 200);
  });
}
