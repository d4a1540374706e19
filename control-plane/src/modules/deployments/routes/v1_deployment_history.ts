import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { deploymentHistoryPageSchema } from "#shared/deployment-history.ts";
import { ChurnError } from "#shared/errors.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { deploymentServingAt, listDeploymentHistory } from "../deployment-history.ts";

const query = z.object({
  at: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("Answer which revision was serving at this instant (one entry, or 404 if none yet)"),
  cursor: z.coerce.number().int().positive().optional().describe("nextCursor from the previous page"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const deploymentHistoryRoute = createRoute({
  method: "get",
  path: "/v1/deployment/history",
  summary: "The tenant's deployment revisions, newest first, or the one serving at a given time",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("deployments:read")] as const,
  request: { query },
  responses: {
    200: {
      description: "A page of revisions (with `at`: just the one serving then)",
      content: { "application/json": { schema: deploymentHistoryPageSchema } },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

export function registerDeploymentHistory(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(deploymentHistoryRoute, async (c) => {
    const q = c.req.valid("query");
    const db = c.get("deps").db;
    const tenantId = c.get("principal").tenantId;
    if (q.at !== undefined) {
      const entry = await deploymentServingAt(db, tenantId, Date.parse(q.at));
      if (!entry) throw new ChurnError("NOT_FOUND", `Nothing was deployed for this tenant at ${q.at}`);
      return c.json(deploymentHistoryPageSchema.parse({ entries: [entry], nextCursor: null }), 200);
    }
    const page = await listDeploymentHistory(db, tenantId, { cursor: q.cursor, limit: q.limit });
    return c.json(deploymentHistoryPageSchema.parse(page), 200);
  });
}
