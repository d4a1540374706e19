import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { idParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { deleteWebhook, MANAGE_WEBHOOKS } from "../webhooks.ts";

export const deleteWebhookRoute = createRoute({
  method: "delete",
  path: "/v1/webhooks/{id}",
  summary: "Delete a webhook: nothing more is sent to it, pending deliveries are dropped",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission(MANAGE_WEBHOOKS)] as const,
  request: { params: idParams("whk_0123456789abcdefghij") },
  responses: {
    204: { description: "Deleted" },
    ...errorResponses(400, 401, 403, 404),
  },
});

export function registerWebhooksDelete(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(deleteWebhookRoute, async (c) => {
    await deleteWebhook(
      c.get("deps").db,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("param").id,
    );
    return c.body(null, 204);
  });
}
