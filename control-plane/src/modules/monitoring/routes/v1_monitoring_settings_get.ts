import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { monitoringSettingsSchema } from "#shared/monitoring.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { getMonitoringSettings } from "../settings.ts";

export const monitoringSettingsGetRoute = createRoute({
  method: "get",
  path: "/v1/monitoring/settings",
  summary: "The tenant's monitoring settings, defaults filled in",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("monitoring:read")] as const,
  responses: {
    200: { description: "Settings", content: { "application/json": { schema: monitoringSettingsSchema } } },
    ...errorResponses(401, 403),
  },
});

export function registerMonitoringSettingsGet(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(monitoringSettingsGetRoute, async (c) => {
    const settings = await getMonitoringSettings(c.get("deps").db, c.get("principal").tenantId);
    return c.json(monitoringSettingsSchema.parse(settings), 200);
  });
}
