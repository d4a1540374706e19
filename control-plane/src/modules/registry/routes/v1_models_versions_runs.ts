import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { experimentRunListSchema } from "#shared/experiments.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { listRunsOfVersion } from "../experiment-runs.ts";

export const listRunsRoute = createRoute({
  method: "get",
  path: "/v1/models/{name}/versions/{version}/runs",
  summary: "The experiment runs (candidates and their CV metrics) that led to a version",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("models:read")] as const,
  request: {
    params: z.object({
      name: z
        .string()
        .max(64)
        .openapi({ param: { name: "name", in: "path" }, example: "churn" }),
      version: z.coerce
        .number()
        .int()
        .positive()
        .openapi({ param: { name: "version", in: "path" }, example: 3 }),
    }),
  },
  responses: {
    200: {
      description: "Runs, in the order reported",
      content: { "application/json": { schema: experimentRunListSchema } },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

export function registerModelVersionRuns(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(listRunsRoute, async (c) => {
    const { name, version } = c.req.valid("param");
    const runs = await listRunsOfVersion(c.get("deps").db, c.get("principal").tenantId, name, version);
    return c.json(experimentRunListSchema.parse({ runs }), 200);
  });
}
