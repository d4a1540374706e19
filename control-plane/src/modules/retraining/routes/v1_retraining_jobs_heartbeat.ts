import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { heartbeatResponseSchema, leaseRequestSchema } from "#shared/retraining.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { idParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { heartbeatJob } from "../jobs.ts";

export const heartbeatRetrainingJobRoute = createRoute({
  method: "post",
  path: "/v1/retraining/jobs/{id}/heartbeat",
  summary: "Extend the lease; 409 when it is no longer held (expired or taken over): stop working",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("retraining:run"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    params: idParams("job_0123456789abcdefghij"),
    body: { required: true, content: { "application/json": { schema: leaseRequestSchema } } },
  },
  responses: {
    200: {
      description: "Lease extended",
      content: { "application/json": { schema: heartbeatResponseSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

export function registerRetrainingJobsHeartbeat(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(heartbeatRetrainingJobRoute, async (c) => {
    const lease = await heartbeatJob(
      c.get("deps").db,
      c.get("principal").tenantId,
      c.req.valid("param").id,
      c.req.valid("json").leaseToken,
    );
    return c.json(heartbeatResponseSchema.parse(lease), 200);
  });
}
