import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { monitoringSettingsSchema } from "#shared/monitoring.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { updateMonitoringSettings } from "../settings.ts";

export const putMonitoringSettingsRoute = createRoute({
  method: "put",
  path: "/v1/settings/monitoring",
  summary:
    "Replace the tenant's monitoring settings (drift thresholds, quality, raw records, business values)",
  description:
    "Omitted fields take their defaults. Raw-record capture is published to the edge at once; stored raw " +
    "records are deleted after `rawRecords.retentionDays`.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("monitoring:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: monitoringSettingsSchema } } },
  },
  responses: {
    200: {
      description: "The settings now in force",
      content: { "application/json": { schema: monitoringSettingsSchema } },
    },
    ...errorResponses(400, 401, 403, 413, 415, 503),
  },
});

export function registerSettingsMonitoringPut(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(putMonitoringSettingsRoute, async (c) => {
    const deps = c.get("deps");
    const settings = await updateMonitoringSettings(
      deps.db,
      deps.edge,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("json"),
    );
    return c.json(monitoringSettingsSchema.parse(settings), 200);
  });
}
