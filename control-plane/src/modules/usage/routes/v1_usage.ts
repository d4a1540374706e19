import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { monthOf } from "#shared/time.ts";
import { usageQuerySchema, usageResponseSchema } from "#shared/usage.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { usageOf } from "../usage.ts";

export const usageRoute = createRoute({
  method: "get",
  path: "/v1/usage",
  summary: "Scored records of a month against the monthly prediction quotas, tenant-wide and per client",
  description:
    "Counted by the edge's quota meter and written to the edge store every few seconds while the tenant " +
    "scores, so it trails live traffic by a few seconds. Limits are the quotas as set now.",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("monitoring:read")] as const,
  request: { query: usageQuerySchema },
  responses: {
    200: {
      description: "The month's usage",
      content: { "application/json": { schema: usageResponseSchema } },
    },
    ...errorResponses(400, 401, 403, 503),
  },
});

export function registerUsage(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(usageRoute, async (c) => {
    const deps = c.get("deps");
    const month = c.req.valid("query").month ?? monthOf(Date.now());
    const usage = await usageOf(deps.db, deps.edge, c.get("principal").tenantId, month);
    return c.json(usageResponseSchema.parse(usage), 200);
  });
}
