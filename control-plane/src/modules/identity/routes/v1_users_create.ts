import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { ChurnError } from "#shared/errors.ts";
import { createUserRequestSchema, createUserResponseSchema } from "#shared/identity.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { idempotencyHeaders, idempotent } from "../../../platform/middleware/idempotency.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { createUser } from "../users.ts";

export const createUserRoute = createRoute({
  method: "post",
  path: "/v1/users",
  summary: "Add a user with a role; returns their first personal access token once",
  description:
    "Owners and admins add users; only an owner may add another owner. Send `Idempotency-Key` to retry safely: " +
    "a replay answers 409 naming the created user, since the token is never stored.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("users:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
    idempotent({
      oneTimeSecret: {
        resourceId: (body) => (body as { user: { id: string } }).user.id,
        hint: "the user can create a new personal access token for themselves",
      },
    }),
  ] as const,
  request: {
    headers: idempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: createUserRequestSchema } } },
  },
  responses: {
    201: {
      description: "Created; `token.token` is shown only here",
      content: { "application/json": { schema: createUserResponseSchema } },
    },
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

export function registerUsersCreate(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(createUserRoute, async (c) => {
    const body = c.req.valid("json");
    const principal = c.get("principal");
    // Granting ownership is changing roles, which only owners may do.
    if (body.role === "owner" && principal.role !== "owner") {
      throw new ChurnError("FORBIDDEN", "Only an owner can add another owner");
    }
    const created = await createUser(c.get("deps").db, auditContextOf(c), {
      tenantId: principal.tenantId,
      email: body.email,
      name: body.name,
      role: body.role,
    });
    c.header("cache-control", "no-store");
    return c.json(createUserResponseSchema.parse(created), 201);
  });
}
