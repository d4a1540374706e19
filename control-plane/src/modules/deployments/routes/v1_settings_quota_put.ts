import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { tenantLimitsSchema } from "#shared/kv.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { tenantQuotaRequestSchema } from "#shared/usage.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { setTenantQuota } from "../rate-limits.ts";

const limitsSchema = tenantLimitsSchema.meta({ id: "TenantLimits" });

export const putQuotaRoute = createRoute({
  method: "put",
  path: "/v1/settings/quota",
  summary: "Set or remove the tenant's monthly prediction quota (scored records a UTC calendar month)",
  description:
    "The edge refuses predictions beyond it with 429 `QUOTA_EXCEEDED` until the next month. Published to the " +
    "edge with the rate limits; answers with everything now published there. A client's own quota is set " +
    "on the client (`monthlyPredictionQuota`).",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("settings:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: tenantQuotaRequestSchema } } },
  },
  responses: {
    200: { description: "Published limits", content: { "application/json": { schema: limitsSchema } } },
    ...errorResponses(400, 401, 403, 413, 415, 503),
  },
});

export function registerSettingsQuotaPut(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(putQuotaRoute, async (c) => {
    const deps = c.get("deps");
    const limits = await setTenantQuota(
      deps.db,
      deps.edge,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("json").monthlyPredictionQuota,
    );
    return c.json(limitsSchema.parse(limits), 200);
  });
}
