import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { retrainingPolicyResponseSchema } from "#shared/retraining.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { getRetrainingPolicyWithTime } from "../policy.ts";

export const getRetrainingPolicyRoute = createRoute({
  method: "get",
  path: "/v1/retraining/policy",
  summary: "The tenant's retraining policy (manual, without a data source, until set)",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("monitoring:read")] as const,
  responses: {
    200: {
      description: "Retraining policy",
      content: { "application/json": { schema: retrainingPolicyResponseSchema } },
    },
    ...errorResponses(401, 403),
  },
});

export function registerRetrainingPolicyGet(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(getRetrainingPolicyRoute, async (c) => {
    const { policy, updatedAt } = await getRetrainingPolicyWithTime(
      c.get("deps").db,
      c.get("principal").tenantId,
    );
    return c.json(retrainingPolicyResponseSchema.parse({ ...policy, updatedAt }), 200);
  });
}
