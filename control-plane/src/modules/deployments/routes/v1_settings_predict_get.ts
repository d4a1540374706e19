import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { predictSettingsSchema } from "#shared/registry.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { getPredictSettings } from "../predict-settings.ts";

export const getPredictSettingsRoute = createRoute({
  method: "get",
  path: "/v1/settings/predict",
  summary: "How the edge treats the tenant's records (whether unknown fields are allowed)",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("deployments:read")] as const,
  responses: {
    200: { description: "Settings", content: { "application/json": { schema: predictSettingsSchema } } },
    ...errorResponses(401, 403),
  },
});

export function registerSettingsPredictGet(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(getPredictSettingsRoute, async (c) => {
    const settings = await getPredictSettings(c.get("deps").db, c.get("principal").tenantId);
    return c.json(predictSettingsSchema.parse(settings), 200);
  });
}
