import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { webhookListSchema } from "#shared/alerts.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { listWebhooks } from "../webhooks.ts";

export const listWebhooksRoute = createRoute({
  method: "get",
  path: "/v1/webhooks",
  summary: "The tenant's webhooks (never their secrets)",
  description:
    "URLs are credentials (receivers often take a token in the path or query), so only principals who may " +
    "manage webhooks (`monitoring:write`) see them in full; everyone else, API clients included, sees the " +
    "scheme and host only, as `https://hooks.example.com/…`.",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("monitoring:read")] as const,
  responses: {
    200: { description: "Webhooks", content: { "application/json": { schema: webhookListSchema } } },
    ...errorResponses(401, 403),
  },
});

export function registerWebhooksList(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(listWebhooksRoute, async (c) => {
    const webhooks = await listWebhooks(c.get("deps").db, c.get("principal"));
    return c.json(webhookListSchema.parse({ webhooks }), 200);
  });
}
