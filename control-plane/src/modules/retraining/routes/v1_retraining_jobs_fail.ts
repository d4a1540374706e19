import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { failRequestSchema, retrainingJobSchema } from "#shared/retraining.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { idParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { failJob } from "../jobs.ts";

export const failRetrainingJobRoute = createRoute({
  method: "post",
  path: "/v1/retraining/jobs/{id}/fail",
  summary: "Report that the job failed, with the reason (requires the lease)",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("retraining:run"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    params: idParams("job_0123456789abcdefghij"),
    body: { required: true, content: { "application/json": { schema: failRequestSchema } } },
  },
  responses: {
    200: { description: "The failed job", content: { "application/json": { schema: retrainingJobSchema } } },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

export function registerRetrainingJobsFail(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(failRetrainingJobRoute, async (c) => {
    const { leaseToken, reason } = c.req.valid("json");
    const job = await failJob(
      c.get("deps").db,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("param").id,
      leaseToken,
      reason,
    );
    return c.json(retrainingJobSchema.parse(job), 200);
  });
}
