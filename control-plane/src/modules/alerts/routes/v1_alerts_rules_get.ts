import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { alertRulesResponseSchema } from "#shared/alerts.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { getAlertRules } from "../rules.ts";

export const getAlertRulesRoute = createRoute({
  method: "get",
  path: "/v1/alerts/rules",
  summary: "The tenant's alert thresholds (the defaults until set)",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("monitoring:read")] as const,
  responses: {
    200: {
      description: "Alert rules",
      content: { "application/json": { schema: alertRulesResponseSchema } },
    },
    ...errorResponses(401, 403),
  },
});

export function registerAlertRulesGet(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(getAlertRulesRoute, async (c) => {
    const rules = await getAlertRules(c.get("deps").db, c.get("principal").tenantId);
    return c.json(alertRulesResponseSchema.parse(rules), 200);
  });
}
