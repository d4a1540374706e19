import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
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
  summary: "Invite a user with a role; returns their invitation code once",
  description:
    "Owners and admins add users, and only with a role whose permissions they hold themselves (an admin " +
    "cannot add an owner or an auditor). The creator receives an invitation code, never a credential: the " +
    "person redeems it at `POST /v1/invitations/redeem` for their first token. Send `Idempotency-Key` to " +
    "retry safely: a replay answers 409 naming the created user, since the code is never stored.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("users:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
    idempotent({
      oneTimeSecret: {
        resourceId: (body) => (body as { user: { id: string } }).user.id,
        hint: "send the user a fresh invitation with POST /v1/users/{id}/invitation",
      },
    }),
  ] as const,
  request: {
    headers: idempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: createUserRequestSchema } } },
  },
  responses: {
    201: {
      description: "Created; `invitation.code` is shown only here",
      content: { "application/json": { schema: createUserResponseSchema } },
    },
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

export function registerUsersCreate(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(createUserRoute, async (c) => {
    const body = c.req.valid("json");
    const created = await createUser(c.get("deps").db, auditContextOf(c), c.get("principal"), {
      email: body.email,
      name: body.name,
      role: body.role,
    });
    c.header("cache-control", "no-store");
    return c.json(createUserResponseSchema.parse(created), 201);
  });
}
