import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { limitBody } from "#shared/content-type.ts";
import { rollbackRequestSchema } from "#shared/deployment-history.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { deploymentSchema } from "#shared/registry.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { parseIfMatch } from "../../../platform/http/if-match.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { rollbackDeployment } from "../deployments.ts";

export const rollbackDeploymentRoute = createRoute({
  method: "post",
  path: "/v1/deployment/rollback",
  summary: "Put the previous production version back, as one atomic, audited revision",
  description:
    "Production becomes that of the latest earlier revision that served another version; the canary is " +
    "cleared and shadows stay. 404 when there is no such revision. `If-Match` refuses a concurrent change " +
    "with 409. The body is optional.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("deployments:write"),
    limitBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    body: { required: false, content: { "application/json": { schema: rollbackRequestSchema } } },
  },
  responses: {
    200: {
      description: "The deployment after the rollback",
      content: { "application/json": { schema: deploymentSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 503),
  },
});

export function registerDeploymentRollback(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(rollbackDeploymentRoute, async (c) => {
    const deps = c.get("deps");
    const { reason } = rollbackRequestSchema.parse(c.req.valid("json"));
    const deployment = await rollbackDeployment(
      deps.db,
      deps.edge,
      auditContextOf(c),
      c.get("principal").tenantId,
      reason,
      parseIfMatch(c.req.header("if-match")),
    );
    c.header("etag", `"${deployment.revision}"`);
    return c.json(deploymentSchema.parse(deployment), 200);
  });
}
