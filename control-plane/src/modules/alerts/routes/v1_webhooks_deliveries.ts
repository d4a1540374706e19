import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { webhookDeliveryListSchema } from "#shared/alerts.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { idParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { listDeliveries } from "../webhooks.ts";

export const listWebhookDeliveriesRoute = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  summary: "A webhook's latest deliveries with their attempts, status and last error",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("monitoring:read")] as const,
  request: { params: idParams("whk_0123456789abcdefghij") },
  responses: {
    200: {
      description: "Deliveries",
      content: { "application/json": { schema: webhookDeliveryListSchema } },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

export function registerWebhookDeliveries(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(listWebhookDeliveriesRoute, async (c) => {
    const deliveries = await listDeliveries(
      c.get("deps").db,
      c.get("principal").tenantId,
      c.req.valid("param").id,
    );
    return c.json(webhookDeliveryListSchema.parse({ deliveries }), 200);
  });
}
