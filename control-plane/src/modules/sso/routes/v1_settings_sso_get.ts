import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { ssoSettingsSchema } from "#shared/sso.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { publicOrigin } from "../public-origin.ts";
import { getSsoSettings } from "../settings.ts";

export const getSsoSettingsRoute = createRoute({
  method: "get",
  path: "/v1/settings/sso",
  summary: "The tenant's single sign-on provider and role mappings (the client secret only as set)",
  description:
    "Readable by whoever may review access (owners, admins, auditors): the mappings decide who gets which role.",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("users:read")] as const,
  responses: {
    200: { description: "Settings", content: { "application/json": { schema: ssoSettingsSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

export function registerSettingsSsoGet(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(getSsoSettingsRoute, async (c) => {
    const settings = await getSsoSettings(c.get("deps").db, c.get("principal").tenantId, publicOrigin(c));
    return c.json(ssoSettingsSchema.parse(settings), 200);
  });
}
