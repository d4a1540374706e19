import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { ChurnError } from "#shared/errors.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { labeledRecordsSchema } from "#shared/retraining.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { idParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { getJobRow } from "../jobs.ts";
import { labeledRecords, MAX_LABELED_RECORDS } from "../records.ts";

export const retrainingJobRecordsRoute = createRoute({
  method: "get",
  path: "/v1/retraining/jobs/{id}/records",
  summary: "Labeled records for a running job: stored raw records joined with their feedback",
  description: `The most recent ${MAX_LABELED_RECORDS.toLocaleString("en-US")} at most; empty when the tenant does not store raw records.`,
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("retraining:run")] as const,
  request: { params: idParams("job_0123456789abcdefghij") },
  responses: {
    200: {
      description: "Labeled records",
      content: { "application/json": { schema: labeledRecordsSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

export function registerRetrainingJobRecords(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(retrainingJobRecordsRoute, async (c) => {
    const db = c.get("deps").db;
    const tenantId = c.get("principal").tenantId;
    const job = await getJobRow(db, tenantId, c.req.valid("param").id);
    if (job.state !== "running")
      throw new ChurnError("CONFLICT", `Job '${job.id}' is ${job.state}, not running`);
    return c.json(labeledRecordsSchema.parse(await labeledRecords(db, tenantId)), 200);
  });
}
