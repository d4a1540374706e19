import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { limitBody } from "#shared/content-type.ts";
import { apiClientWithSecretSchema, rotateClientRequestSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { clientIdParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { rotateClientSecret } from "../api-clients.ts";

export const rotateClientRoute = createRoute({
  method: "post",
  path: "/v1/clients/{id}/rotate",
  summary: "Replace the client's secret; the new one is shown once",
  description:
    "The previous secret keeps working for `overlapSeconds` (default 24 h, at most 7 days; 0 ends it now), " +
    "so running deployments can switch over. The body is optional.",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("clients:write"), limitBody(ADMIN_JSON_MAX_BYTES)] as const,
  request: {
    params: clientIdParams,
    body: { required: false, content: { "application/json": { schema: rotateClientRequestSchema } } },
  },
  responses: {
    200: {
      description: "Rotated; `clientSecret` is shown only here",
      content: { "application/json": { schema: apiClientWithSecretSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

export function registerClientsRotate(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(rotateClientRoute, async (c) => {
    // Without a body the validator passes `{}` through unparsed; parsing it applies the defaults.
    const { overlapSeconds } = rotateClientRequestSchema.parse(c.req.valid("json"));
    const rotated = await rotateClientSecret(
      c.get("deps").db,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("param").id,
      overlapSeconds,
    );
    c.header("cache-control", "no-store");
    return c.json(apiClientWithSecretSchema.parse(rotated), 200);
  });
}
