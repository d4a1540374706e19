import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { predictSettingsSchema } from "#shared/registry.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { setPredictSettings } from "../predict-settings.ts";

export const putPredictSettingsRoute = createRoute({
  method: "put",
  path: "/v1/settings/predict",
  summary: "Set how the edge treats the tenant's records: refuse unknown fields (default) or ignore them",
  description:
    "Published to the edge with the deployment pointer at once (a tenant with nothing deployed yet gets it " +
    "with its first deployment); the edge applies it within seconds.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("settings:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: predictSettingsSchema } } },
  },
  responses: {
    200: {
      description: "The settings now in force",
      content: { "application/json": { schema: predictSettingsSchema } },
    },
    ...errorResponses(400, 401, 403, 413, 415, 503),
  },
});

export function registerSettingsPredictPut(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(putPredictSettingsRoute, async (c) => {
    const deps = c.get("deps");
    const settings = await setPredictSettings(
      deps.db,
      deps.edge,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("json"),
    );
    return c.json(predictSettingsSchema.parse(settings), 200);
  });
}
