import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { alertListSchema } from "#shared/alerts.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { listAlerts } from "../evaluate.ts";

export const listAlertsRoute = createRoute({
  method: "get",
  path: "/v1/alerts",
  summary: "The tenant's alerts, newest first",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("monitoring:read")] as const,
  request: {
    query: z.object({
      state: z.enum(["firing", "resolved"]).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
  },
  responses: {
    200: { description: "Alerts", content: { "application/json": { schema: alertListSchema } } },
    ...errorResponses(400, 401, 403),
  },
});

export function registerAlertsList(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(listAlertsRoute, async (c) => {
    const { state, limit } = c.req.valid("query");
    const tenantId = c.get("principal").tenantId;
    const alerts = await listAlerts(c.get("deps").db, tenantId, state, limit);
    return c.json(alertListSchema.parse({ alerts }), 200);
  });
}
