import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { deploymentSchema } from "#shared/registry.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { getDeployment } from "../deployments.ts";
import { edgeStatus } from "../edge-confirmation.ts";

export const getDeploymentRoute = createRoute({
  method: "get",
  path: "/v1/deployment",
  summary: "What serves the caller's tenant now; the ETag is the revision",
  description:
    "`edge.confirmed` turns true once an edge isolate has served this revision (it reports through KV a few seconds after its first prediction; the control plane rereads that report at most once a second).",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("deployments:read")] as const,
  responses: {
    200: { description: "Current deployment", content: { "application/json": { schema: deploymentSchema } } },
    ...errorResponses(401, 403, 404),
  },
});

export function registerDeploymentGet(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(getDeploymentRoute, async (c) => {
    const deps = c.get("deps");
    const deployment = await getDeployment(deps.db, c.get("principal").tenantId);
    const edge = await edgeStatus(
      deps.edge,
      deps.caches.edgeConfirmations,
      deployment.tenantId,
      deployment.revision,
    );
    c.header("etag", `"${deployment.revision}"`);
    return c.json(deploymentSchema.parse({ ...deployment, edge }), 200);
  });
}
