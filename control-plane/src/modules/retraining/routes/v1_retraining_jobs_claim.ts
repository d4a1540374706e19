import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { claimRequestSchema, retrainingClaimSchema } from "#shared/retraining.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { claimJob } from "../jobs.ts";

export const claimRetrainingJobRoute = createRoute({
  method: "post",
  path: "/v1/retraining/jobs/claim",
  summary: "Lease the oldest claimable job (queued, or running under an expired lease); 204 when none",
  description:
    "The lease lasts the policy's `leaseSeconds`; keep it with heartbeats. Every claim counts as an attempt " +
    "and issues a new `leaseToken`, so a worker whose lease was taken over is refused when it reports.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("retraining:run"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: { body: { required: true, content: { "application/json": { schema: claimRequestSchema } } } },
  responses: {
    200: { description: "Leased", content: { "application/json": { schema: retrainingClaimSchema } } },
    204: { description: "Nothing to do" },
    ...errorResponses(400, 401, 403, 413, 415),
  },
});

export function registerRetrainingJobsClaim(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(claimRetrainingJobRoute, async (c) => {
    const claim = await claimJob(
      c.get("deps").db,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("json").worker,
    );
    if (!claim) return c.body(null, 204);
    return c.json(retrainingClaimSchema.parse(claim), 200);
  });
}
