import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { alertRulesResponseSchema, alertRulesSchema } from "#shared/alerts.ts";
import { jsonBody } from "#shared/content-type.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { putAlertRules } from "../rules.ts";

export const putAlertRulesRoute = createRoute({
  method: "put",
  path: "/v1/alerts/rules",
  summary: "Set the alert thresholds: drift score, estimated-AUC drop, data-quality rate (null = off)",
  description:
    "Omitted fields take their defaults. Rules are evaluated by the scheduler on every tick; an alert fires " +
    "once when its condition starts to hold and resolves when it clears.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("monitoring:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: { body: { required: true, content: { "application/json": { schema: alertRulesSchema } } } },
  responses: {
    200: {
      description: "Alert rules",
      content: { "application/json": { schema: alertRulesResponseSchema } },
    },
    ...errorResponses(400, 401, 403, 413, 415),
  },
});

export function registerAlertRulesPut(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(putAlertRulesRoute, async (c) => {
    const rules = await putAlertRules(
      c.get("deps").db,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("json"),
    );
    return c.json(alertRulesResponseSchema.parse(rules), 200);
  });
}
