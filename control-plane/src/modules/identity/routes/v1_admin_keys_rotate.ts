import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { clientAddress } from "../../../platform/http/client-address.ts";
import type { AuditContext } from "../../audit/audit.ts";
import { requireOperator } from "../operator.ts";

const rotationSchema = z
  .object({
    kid: z.string().describe("The new signing key: every token from now on carries it"),
    publishedKids: z
      .array(z.string())
      .describe("Keys in the JWKS now: older ones stay until every token they signed has expired"),
  })
  .meta({ id: "KeyRotation" });

export function createRotateKeysRoute(operatorToken: string) {
  return createRoute({
    method: "post",
    path: "/v1/admin/keys/rotate",
    summary: "Rotate the token signing key (platform operator only)",
    description:
      "Publishes a new key to the JWKS (locally and at the edge) before it signs, then retires the old one. " +
      "Audited on the platform chain. Exists only when OPERATOR_TOKEN is configured.",
    security: [{ operatorAuth: [] }],
    middleware: [requireOperator(operatorToken)] as const,
    responses: {
      200: { description: "Rotated", content: { "application/json": { schema: rotationSchema } } },
      ...errorResponses(401),
    },
  });
}

function operatorAudit(c: Context<HonoEnv>): AuditContext {
  return {
    actor: { type: "system", id: "operator" },
    requestId: c.get("requestId"),
    ip: clientAddress(c),
    userAgent: c.req.header("user-agent")?.slice(0, 256) ?? null,
  };
}

/** Registered only with an operator token: without one the route answers the same 404 as any unknown path. */
export function registerAdminKeysRotate(app: OpenAPIHono<HonoEnv>, operatorToken: string | undefined): void {
  if (!operatorToken) return;
  app.openAPIRegistry.registerComponent("securitySchemes", "operatorAuth", {
    type: "http",
    scheme: "bearer",
    description: "The platform operator token (OPERATOR_TOKEN)",
  });
  app.openapi(createRotateKeysRoute(operatorToken), async (c) => {
    const keys = c.get("deps").keys;
    const kid = await keys.rotate(operatorAudit(c));
    c.header("cache-control", "no-store");
    return c.json(rotationSchema.parse({ kid, publishedKids: keys.jwks.keys.map((k) => k.kid) }), 200);
  });
}
