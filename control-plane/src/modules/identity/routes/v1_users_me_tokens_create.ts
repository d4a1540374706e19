import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { createPatRequestSchema, newPersonalAccessTokenSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { idempotencyHeaders, idempotent } from "../../../platform/middleware/idempotency.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { createOwnToken } from "../personal-access-tokens.ts";

export const createOwnTokenRoute = createRoute({
  method: "post",
  path: "/v1/users/me/tokens",
  summary: "Create a personal access token for yourself; the token is shown once",
  description: "Expires after `ttlDays` (at most 365). Only its sha256 is stored.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("tokens:self"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
    idempotent({
      oneTimeSecret: {
        resourceId: (body) => (body as { id: string }).id,
        hint: "revoke it and create another",
      },
    }),
  ] as const,
  request: {
    headers: idempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: createPatRequestSchema } } },
  },
  responses: {
    201: {
      description: "Created; `token` is shown only here",
      content: { "application/json": { schema: newPersonalAccessTokenSchema } },
    },
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

export function registerOwnTokensCreate(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(createOwnTokenRoute, async (c) => {
    const principal = c.get("principal");
    const created = await createOwnToken(
      c.get("deps").db,
      auditContextOf(c),
      { tenantId: principal.tenantId, userId: principal.id },
      c.req.valid("json"),
    );
    c.header("cache-control", "no-store");
    return c.json(newPersonalAccessTokenSchema.parse(created), 201);
  });
}
