import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { ssoSettingsRequestSchema, ssoSettingsSchema } from "#shared/sso.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { publicOrigin } from "../public-origin.ts";
import { putSsoSettings } from "../settings.ts";

export const putSsoSettingsRoute = createRoute({
  method: "put",
  path: "/v1/settings/sso",
  summary: "Set the tenant's single sign-on provider (OpenID Connect) and which role each group grants",
  description:
    "Replaces the settings. The client secret is required the first time and whenever the issuer or client " +
    "id changes; it is stored and never returned. Mapping a group to a role (or a default role) needs the " +
    "permissions that role holds, so only owners map to owner; default roles are never owner. Register " +
    "`redirectUri` from the response at the provider, and share `signInUrl` with the tenant's people. A tenant " +
    "signs in through one protocol: switching OpenID Connect on while SAML is on is a 409.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("settings:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: ssoSettingsRequestSchema } } },
  },
  responses: {
    200: {
      description: "The settings now in force",
      content: { "application/json": { schema: ssoSettingsSchema } },
    },
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

export function registerSettingsSsoPut(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(putSsoSettingsRoute, async (c) => {
    const deps = c.get("deps");
    const settings = await putSsoSettings(
      deps.db,
      auditContextOf(c),
      c.get("principal"),
      c.req.valid("json"),
      {
        origin: publicOrigin(c),
        allowPrivateNetworks: deps.config.SSO_ALLOW_PRIVATE_NETWORKS,
      },
    );
    return c.json(ssoSettingsSchema.parse(settings), 200);
  });
}
