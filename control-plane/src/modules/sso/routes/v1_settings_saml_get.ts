import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { samlSettingsSchema } from "#shared/saml.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { publicOrigin } from "../public-origin.ts";
import { getSamlSettings } from "../saml/settings.ts";

export const getSamlSettingsRoute = createRoute({
  method: "get",
  path: "/v1/settings/saml",
  summary: "The tenant's SAML 2.0 identity provider, its certificates and role mappings",
  description:
    "Readable by whoever may review access (owners, admins, auditors): the mappings decide who gets which " +
    "role. Shows each certificate's subject, validity and SHA-256 fingerprint beside it, and the service " +
    "provider's entity id, assertion consumer service and metadata URL to give the provider.",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("users:read")] as const,
  responses: {
    200: { description: "Settings", content: { "application/json": { schema: samlSettingsSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

export function registerSettingsSamlGet(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(getSamlSettingsRoute, async (c) => {
    const settings = await getSamlSettings(c.get("deps").db, c.get("principal").tenantId, publicOrigin(c));
    return c.json(samlSettingsSchema.parse(settings), 200);
  });
}
