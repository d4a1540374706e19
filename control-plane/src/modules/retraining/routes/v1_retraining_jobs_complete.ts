import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { candidateSchema, completeRequestSchema } from "#shared/retraining.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { idParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { completeJob } from "../candidates.ts";

export const completeRetrainingJobRoute = createRoute({
  method: "post",
  path: "/v1/retraining/jobs/{id}/complete",
  summary: "Report the candidate and both models' holdout metrics; the gate decides canary or rejection",
  description:
    "The candidate must beat production on the common holdout by the policy's margin (AUC up, or log " +
    "loss down). A rejected candidate is recorded with its reason and production is unchanged; a passing " +
    "one becomes the canary in the same step. Requires the lease: a stale worker gets 409.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("retraining:run"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    params: idParams("job_0123456789abcdefghij"),
    body: { required: true, content: { "application/json": { schema: completeRequestSchema } } },
  },
  responses: {
    200: {
      description: "The candidate with the gate's verdict",
      content: { "application/json": { schema: candidateSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 503),
  },
});

export function registerRetrainingJobsComplete(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(completeRetrainingJobRoute, async (c) => {
    const deps = c.get("deps");
    const candidate = await completeJob(
      deps.db,
      deps.edge,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("param").id,
      c.req.valid("json"),
    );
    return c.json(candidateSchema.parse(candidate), 200);
  });
}
