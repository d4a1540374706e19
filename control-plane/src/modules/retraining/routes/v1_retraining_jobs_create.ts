import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { limitBody } from "#shared/content-type.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { retrainingJobSchema, retrainingRequestSchema } from "#shared/retraining.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { requestJob } from "../jobs.ts";

export const createRetrainingJobRoute = createRoute({
  method: "post",
  path: "/v1/retraining/jobs",
  summary: "Queue a retraining job now (409 while one is queued or running, or without a data source)",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("retraining:write"),
    limitBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    body: { required: false, content: { "application/json": { schema: retrainingRequestSchema } } },
  },
  responses: {
    201: { description: "Queued", content: { "application/json": { schema: retrainingJobSchema } } },
    ...errorResponses(400, 401, 403, 409, 413, 415),
  },
});

export function registerRetrainingJobsCreate(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(createRetrainingJobRoute, async (c) => {
    const { reason } = retrainingRequestSchema.parse(c.req.valid("json") ?? {});
    const job = await requestJob(c.get("deps").db, auditContextOf(c), c.get("principal").tenantId, reason);
    return c.json(retrainingJobSchema.parse(job), 201);
  });
}
