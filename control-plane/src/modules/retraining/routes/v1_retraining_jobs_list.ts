import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { retrainingJobListSchema } from "#shared/retraining.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { listJobs } from "../jobs.ts";

export const listRetrainingJobsRoute = createRoute({
  method: "get",
  path: "/v1/retraining/jobs",
  summary: "The tenant's retraining jobs, newest first",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("monitoring:read")] as const,
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }) },
  responses: {
    200: { description: "Jobs", content: { "application/json": { schema: retrainingJobListSchema } } },
    ...errorResponses(400, 401, 403),
  },
});

export function registerRetrainingJobsList(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(listRetrainingJobsRoute, async (c) => {
    const jobs = await listJobs(c.get("deps").db, c.get("principal").tenantId, c.req.valid("query").limit);
    return c.json(retrainingJobListSchema.parse({ jobs }), 200);
  });
}
