import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { deploymentRequestSchema, deploymentSchema } from "#shared/registry.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { parseIfMatch } from "../../../platform/http/if-match.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { updateDeployment } from "../deployments.ts";

export const putDeploymentRoute = createRoute({
  method: "put",
  path: "/v1/deployment",
  summary: "Set the production, canary and shadow versions in one atomic change",
  description: "Send `If-Match` with the revision you read to refuse a concurrent change with 409.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("deployments:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: { body: { required: true, content: { "application/json": { schema: deploymentRequestSchema } } } },
  responses: {
    200: { description: "New deployment", content: { "application/json": { schema: deploymentSchema } } },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 503),
  },
});

export function registerDeploymentPut(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(putDeploymentRoute, async (c) => {
    const deps = c.get("deps");
    const body = c.req.valid("json");
    const deployment = await updateDeployment(
      deps.db,
      deps.edge,
      auditContextOf(c),
      c.get("principal").tenantId,
      body,
      parseIfMatch(c.req.header("if-match")),
    );
    c.header("etag", `"${deployment.revision}"`);
    return c.json(deploymentSchema.parse(deployment), 200);
  });
}
