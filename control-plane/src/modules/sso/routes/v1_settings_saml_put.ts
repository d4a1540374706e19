import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { samlSettingsRequestSchema, samlSettingsSchema } from "#shared/saml.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { publicOrigin } from "../public-origin.ts";
import { putSamlSettings } from "../saml/settings.ts";

export const putSamlSettingsRoute = createRoute({
  method: "put",
  path: "/v1/settings/saml",
  summary: "Set the tenant's SAML 2.0 identity provider and which role each group grants",
  description:
    "Replaces the settings. Each certificate must be one PEM X.509 certificate with an RSA key of at least " +
    "2048 bits (400 naming `idpCertificates.N` otherwise); list two during a key rollover. Mapping a group " +
    "to a role (or a default role) needs the permissions that role holds, so only owners map to owner; " +
    "default roles are never owner. Give the provider `spEntityId` and `acsUrl` from the response (or " +
    "`metadataUrl`), and share `signInUrl` with the tenant's people. A tenant signs in through one " +
    "protocol: switching SAML on while OpenID Connect is on is a 409.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("settings:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: samlSettingsRequestSchema } } },
  },
  responses: {
    200: {
      description: "The settings now in force",
      content: { "application/json": { schema: samlSettingsSchema } },
    },
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

export function registerSettingsSamlPut(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(putSamlSettingsRoute, async (c) => {
    const deps = c.get("deps");
    const settings = await putSamlSettings(
      deps.db,
      auditContextOf(c),
      c.get("principal"),
      c.req.valid("json"),
      { origin: publicOrigin(c), allowPrivateNetworks: deps.config.SSO_ALLOW_PRIVATE_NETWORKS },
    );
    return c.json(samlSettingsSchema.parse(settings), 200);
  });
}
